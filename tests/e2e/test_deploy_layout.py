"""The production layout of `deploy/`, started here as plain processes on loopback.

The commands of its systemd units run as they would there (this checkout's `.venv` standing in for
/opt/smsbridge/.venv, the test's settings for /etc/smsbridge/*.env): a Prefect server, the flows
deployed from `prefect.yaml` by `deploy/deploy-flows.sh` to a process work pool, a `prefect worker`
that runs them, two web processes (`smsbridge webhook --no-workers`) behind a stand-in for the
TLS proxy, and one `smsbridge worker`. A campaign goes through all of it: the portal's handler
POSTs → the web processes → the worker → SMS.ru; SMS.ru's callbacks are off, so the statuses come
back only through `poll-statuses`, run by the Prefect worker, and reach the portal through the
worker's pusher.

Prefect's own database is SQLite here (a fresh PostgreSQL one took 22-25 s to start on this
machine, against 9-10 s); production puts it on PostgreSQL (deploy/prefect-server.env.example).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select
from support import wait_for
from support.databases import postgres_only
from support.fault_processes import (
    INTAKE_ONLY,
    WORKER,
    SmsbridgeProcess,
    contract,
    environment,
    round_robin,
)
from support.histories import told_otherwise

from deployments.serve import deployments
from models import Message
from models.types import utcnow
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.server import BackgroundServer, bound_socket, free_port
from sandbox.smsru import SmsRuEmulator
from sandbox.smsru.state import FINAL_CODES
from smsbridge.config import Settings

# About a minute on a quiet machine; allowed more when other work shares its two cores.
# The layout is production's: several processes on one PostgreSQL (deploy/README.md; on SQLite,
# one `smsbridge webhook` is the layout).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(360),
    postgres_only("the deploy layout is several processes on one PostgreSQL"),
]

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
BIN = Path(sys.executable).parent
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def exec_start(unit: str, instance: str = "") -> list[str]:
    """The unit's ExecStart as it runs here: `%i` is `instance`, the programs this `.venv`'s."""
    for line in (UNITS / unit).read_text().splitlines():
        if line.startswith("ExecStart="):
            program, *args = shlex.split(line.removeprefix("ExecStart=").replace("%i", instance))
            return [str(BIN / Path(program).name), *args]
    raise AssertionError(f"{unit} has no ExecStart")


def with_option(command: list[str], option: str, value: str) -> list[str]:
    at = command.index(option) + 1
    return [*command[:at], value, *command[at + 1 :]]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A process in a group of its own, so that `stop` ends its children too (a flow run's)."""
    with log.open("ab") as output:
        return subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(started: subprocess.Popen[bytes]) -> None:
    for signum, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(started.pid, signum)
            started.wait(timeout=grace)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def prefect_environment(home: Path, api_url: str, **values: str) -> dict[str, str]:
    inherited = {k: v for k, v in environment().items() if not k.startswith("PREFECT_")}
    return inherited | {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        **values,
    }


def deployed(api: httpx.Client) -> dict[str, dict[str, object]]:
    found = api.post("/deployments/filter", json={}).raise_for_status().json()
    return {deployment["name"]: deployment for deployment in found}


def schedule_keys(schedules: list[dict[str, object]]) -> list[tuple[object, ...]]:
    keys = []
    for entry in schedules:
        schedule = entry["schedule"]
        assert isinstance(schedule, dict)
        if "cron" in schedule:
            keys.append(("cron", schedule["cron"], schedule["timezone"]))
        else:
            keys.append(("interval", float(schedule["interval"])))
    return keys


def served_as_deployed() -> dict[str, dict[str, object]]:
    """What `smsbridge run` serves (deployments/serve.py), in the terms of the server's API."""
    found = {}
    for deployment in deployments():
        keys = []
        for entry in deployment.schedules:
            schedule = entry.schedule
            if hasattr(schedule, "cron"):
                keys.append(("cron", schedule.cron, schedule.timezone))
            else:
                keys.append(("interval", schedule.interval.total_seconds()))  # type: ignore[attr-defined]
        found[deployment.name] = {
            "description": deployment.description,
            "parameters": deployment.parameters,
            "schedules": keys,
            "limit": deployment.concurrency_limit,
            "strategy": deployment.concurrency_options.collision_strategy,  # type: ignore[union-attr]
        }
    return found


def as_served(deployment: dict[str, object]) -> dict[str, object]:
    limit = deployment["global_concurrency_limit"]
    options = deployment["concurrency_options"]
    assert isinstance(limit, dict) and isinstance(options, dict)
    schedules = deployment["schedules"]
    assert isinstance(schedules, list)
    return {
        "description": deployment["description"],
        "parameters": deployment["parameters"],
        "schedules": schedule_keys(schedules),
        "limit": limit["limit"],
        "strategy": options["collision_strategy"],
    }


def states(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(session.exec(select(Message.state)).all())


def all_pushed(engine: Engine) -> bool:
    with Session(engine) as session:
        messages = session.exec(select(Message)).all()
    return bool(messages) and all(m.state == "delivered" and not m.push_pending for m in messages)


def test_the_deploy_layout_sends_a_campaign_and_runs_a_deployed_flow(
    tmp_path: Path,
    settings: Settings,
    engine: Engine,
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
) -> None:
    smsru.callbacks_enabled = False  # statuses come back only through poll-statuses
    proxy_socket, prefect_port = bound_socket(), free_port()
    public_url = f"http://127.0.0.1:{proxy_socket.getsockname()[1]}"
    api_url = f"http://127.0.0.1:{prefect_port}/api"
    configured = contract(settings, bitrix24) | {"PUBLIC_URL": public_url}  # /etc/smsbridge/…env
    home = tmp_path / "prefect"
    web = [SmsbridgeProcess(f"web-{n}", tmp_path, configured, role=INTAKE_ONLY) for n in (1, 2)]
    worker = SmsbridgeProcess("worker", tmp_path, configured, role=WORKER)
    for started in web:
        assert started.command == exec_start("smsbridge-web@.service", str(started.port))
    assert worker.command == exec_start("smsbridge-worker@.service", str(worker.port))
    server_command = with_option(exec_start("prefect-server.service"), "--port", str(prefect_port))
    # The scheduler is off here so that the one run of poll-statuses is the test's own.
    server_env = prefect_environment(
        home, api_url, PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false", PREFECT_UI_ENABLED="false"
    )
    # The Prefect worker asks for work every second instead of every 10.
    worker_env = prefect_environment(home, api_url, PREFECT_WORKER_QUERY_SECONDS="1", **configured)

    with ExitStack() as stack:
        stack.callback(stop, start(server_command, server_env, tmp_path / "prefect-server.log"))
        for started in [*web, worker]:
            started.launch()
            stack.callback(started.stop)
        for started in [*web, worker]:
            started.wait_ready()
        api = stack.enter_context(httpx.Client(base_url=api_url, timeout=30))

        def deploy_flows() -> None:
            """Once the server answers: the Prefect worker (whose `--type process` makes the
            pool), then the flows deployed from prefect.yaml as deploy/README.md says."""
            wait_for(lambda: _answers(api, "/health"), timeout=120)
            worker_command = exec_start("prefect-worker.service")
            stack.callback(stop, start(worker_command, worker_env, tmp_path / "prefect-worker.log"))
            wait_for(lambda: _answers(api, "/work_pools/smsbridge"), timeout=60)
            deploy = subprocess.run(
                [str(ROOT / "deploy" / "deploy-flows.sh")],
                env=prefect_environment(home, api_url),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert deploy.returncode == 0, deploy.stdout + deploy.stderr

        with ThreadPoolExecutor(1) as background:
            prefect = background.submit(deploy_flows)  # meanwhile, the campaign
            proxy = round_robin([started.url for started in web])
            stack.enter_context(BackgroundServer(proxy, sock=proxy_socket))
            assert bitrix24.install(public_url + "/bitrix24/install").status_code == 200
            numbers = [f"+7915{n:07d}" for n in range(40)]
            with ThreadPoolExecutor(8) as pool:
                message_ids = list(
                    pool.map(
                        lambda phone: bitrix24.send_message(
                            "sender", phone, "Раскладка", author_user_id=None
                        ),
                        numbers,
                    )
                )
            assert {d.result for d in bitrix24.handler_deliveries} == {200}
            wait_for(lambda: states(engine) == Counter({"sent": 40}), timeout=30)
            wait_for(lambda: all(smsru.status_of(s.sms_id) in FINAL_CODES for s in smsru.sent))
            with Session(engine) as session:  # due now, instead of 30 s after the send
                session.execute(update(Message).values(next_poll_at=utcnow()))
                session.commit()
            prefect.result()

        assert {n: as_served(d) for n, d in deployed(api).items()} == served_as_deployed()
        poll = api.get("/deployments/name/poll-statuses/poll-statuses").raise_for_status().json()
        assert poll["work_pool_name"] == "smsbridge"
        # One pass (window 0), not the scheduled hour of passes.
        one_pass = {"parameters": {"window": 0}}
        run = _answered(api, "POST", f"/deployments/{poll['id']}/create_flow_run", json=one_pass)
        wait_for(lambda: _flow_run_state(api, run["id"]) in TERMINAL, timeout=90)
        assert _flow_run_state(api, run["id"]) == "COMPLETED", (
            tmp_path / "prefect-worker.log"
        ).read_text()
        wait_for(lambda: all_pushed(engine), timeout=30)
        health = [started.health() for started in [*web, worker]]

    assert Counter(sent.phone for sent in smsru.sent) == Counter(
        n.removeprefix("+") for n in numbers
    )  # each number sent once
    assert told_otherwise(bitrix24, message_ids) == {}
    assert smsru.callback_deliveries == []  # the statuses came by the deployed flow alone
    assert health == [{"status": "ok", "database": "ok"}] * 2 + [
        {"status": "ok", "database": "ok", "sender": "running", "pusher": "running"}
    ]
    assert all("message accepted" in started.output() for started in web)
    assert "sent batch" in worker.output() and "pushed statuses" in worker.output()


def _answers(api: httpx.Client, path: str) -> bool:
    try:
        return api.get(path, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _answered(api: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """Prefect's own server on SQLite refuses a request now and then under load (a 5xx saying
    "database is locked"): ask again, as `smsbridge run` does. Anything else is the answer."""
    answers: list[httpx.Response] = []

    def answered() -> bool:
        answers.append(api.request(method, path, **kwargs))
        return not answers[-1].is_server_error

    wait_for(answered, timeout=60, state=lambda: answers[-1].text[:500], interval=0.5)
    return dict(answers[-1].raise_for_status().json())


def _flow_run_state(api: httpx.Client, run_id: str) -> str:
    return str(_answered(api, "GET", f"/flow_runs/{run_id}")["state_type"])
