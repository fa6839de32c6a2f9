"""`smsbridge flow run NAME --param key=value`: run a deployment on the running `smsbridge run`.

It finds the Prefect API by itself (the `run` of this directory, else PREFECT_API_URL), so a user
need not know Prefect's settings; it waits for the run and prints its log and final state, like
the flow's page in the UI does.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Annotated, Any

import typer
from rich.markup import escape

from smsbridge.cli.common import EXIT_CONFIG, EXIT_FAILED, TYPER_STYLE, console, fail
from smsbridge.cli.instance import running

flow_app = typer.Typer(
    help="The Prefect flow deployments of a running `smsbridge run`.", **TYPER_STYLE
)
LOG_WAIT_POLLS = 20  # × 0.5 s
DEPLOYMENTS = (
    "poll-statuses",
    "normalize-phones",
    "maintain-sent-flags",
    "daily-report",
    "validate-broadcast",
    "check-template",
)


@flow_app.command("run")
def flow_run(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(DEPLOYMENTS)}.")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="A flow parameter as key=value (a JSON value, or else a string); repeatable.",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the run to finish (0: do not wait).")
    ] = 600.0,
) -> None:
    """Start a run of a deployment, wait for it, and print its log and final state."""
    if name not in DEPLOYMENTS:
        fail(f"no deployment {name!r}; one of: {', '.join(DEPLOYMENTS)}", EXIT_CONFIG)
    parameters = _parameters(param or [])
    api = _prefect_api()
    try:
        state, lines, ui = asyncio.run(_run(api, name, parameters, timeout))
    except OSError as exc:  # httpx's connection errors are OSErrors underneath
        fail(f"no Prefect server answers at {api} ({exc}); is `make run` running?")
    except Exception as exc:  # Prefect's own errors (unknown parameter, …) say what is wrong
        fail(f"{name}: {type(exc).__name__}: {exc}")
    for line in lines:
        typer.echo(line)
    typer.echo(f"{name}: {state} — {ui}")
    if state not in ("Completed", "Scheduled", "Pending", "Running"):
        raise typer.Exit(EXIT_FAILED)


def _parameters(pairs: list[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--param needs key=value, not {pair!r}", EXIT_CONFIG)
        try:
            parameters[key.strip()] = json.loads(value)
        except ValueError:
            parameters[key.strip()] = value
    return parameters


def _prefect_api() -> str:
    instance = running()
    if instance is not None and instance.prefect_api:
        return instance.prefect_api
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    fail(
        "no `smsbridge run` is running in this directory and PREFECT_API_URL is not set: start "
        "`make run` here, or set PREFECT_API_URL to your Prefect server's API"
    )


async def _run(
    api: str, name: str, parameters: dict[str, Any], wait: float
) -> tuple[str, list[str], str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort
    from prefect.deployments import arun_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api}):
        run = await arun_deployment(
            f"{name}/{name}", parameters=parameters, timeout=wait, poll_interval=1
        )
        async with get_client() as client:
            # The run's process sends its log in batches: wait for its last line a little.
            for _ in range(LOG_WAIT_POLLS):
                logs = await client.read_logs(
                    LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])),
                    sort=LogSort.TIMESTAMP_ASC,
                )
                finished = any(log.message.startswith("Finished in state") for log in logs)
                if finished or not (run.state and run.state.is_final()):
                    break
                await asyncio.sleep(0.5)
    state = str(run.state.name) if run.state else "unknown"
    if run.state and run.state.is_failed() and run.state.message:
        console.print(f"[red]{escape(run.state.message)}[/red]")
    ui = api.removesuffix("/api") + f"/runs/flow-run/{run.id}"
    return state, [f"{log.timestamp:%H:%M:%S} {log.message}" for log in logs], ui
