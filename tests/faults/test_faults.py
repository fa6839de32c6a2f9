"""Faults end to end: nothing a portal handed us is lost, and every status it shows is true.

Real processes (SIGKILL, two replicas), real HTTP to both emulators, the real database. Each test
breaks one part of the path (the webhook process, SMS.ru, the portal's REST API, its OAuth grant,
SMS.ru's callbacks) and checks where every message ended: in our database, at SMS.ru (how many
times it was sent) and in the portal (its status, and every status it was ever told).
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select
from support import SECRET, SMSRU_KEY, Webhook, signed_callback, wait_for
from support.databases import postgres_only
from support.fault_processes import (
    INTAKE_ONLY,
    SMSBRIDGE,
    WEBHOOK,
    WORKER,
    SmsbridgeProcess,
    contract,
    environment,
    round_robin,
)
from support.histories import told_otherwise
from support.options import FAST
from support.polling import poll_now

from clients.smsru.callbacks import status_record
from models import Message, Portal, StatusLog
from models.types import utcnow
from sandbox.bitrix24.messages import FORM_CONTENT_TYPE, encode, message_fields, new_message_id
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.server import BackgroundServer, bound_socket
from sandbox.smsru import SmsRuEmulator
from sandbox.smsru.state import FINAL_CODES
from smsbridge.config import Settings
from smsbridge.endpoints import callback_path, portal_handler_path
from smsbridge.status.states import FINAL
from webhook.outbox import INTERRUPTED
from webhook.send_plan import MAX_NUMBERS_PER_CALL
from webhook.sender import SenderOptions

two_replicas = postgres_only("two replicas share one database")


# --- looking at the database ---------------------------------------------------------------------


def stored(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.exec(select(Message).order_by(col(Message.id))).all())


def state_counts(engine: Engine) -> Counter[str]:
    """Messages per state, in one cheap query (polled while a process is writing)."""
    with Session(engine) as session:
        rows = session.exec(select(Message.state, func.count()).group_by(Message.state)).all()
    return Counter({state: count for state, count in rows})


def stored_portal(engine: Engine) -> Portal:
    with Session(engine) as session:
        return session.exec(select(Portal)).one()


def all_final_and_pushed(engine: Engine) -> bool:
    return all(m.state in FINAL and not m.push_pending for m in stored(engine))


def all_final(engine: Engine) -> bool:
    counts = state_counts(engine)
    return bool(counts) and set(counts) <= FINAL


def settle(engine: Engine, smsru: SmsRuEmulator, settings: Settings, timeout: float = 60) -> None:
    """Wait until every message is final, the way production gets there: SMS.ru's callbacks, and
    poll-statuses as the net under them. Under load a callback can overtake the commit of its
    send's answer; it is dropped as unknown and the next poll (30 s on) catches it. Here that poll
    runs once SMS.ru has every status final, instead of 30 s later."""
    wait_for(lambda: not {"queued", "sending"} & set(state_counts(engine)), timeout)
    wait_for(lambda: all(smsru.status_of(s.sms_id) in FINAL_CODES for s in smsru.sent), timeout)
    poll_now(settings.replace(smsru_api_id=SecretStr(SMSRU_KEY)), engine)
    wait_for(lambda: all_final(engine), timeout)


@contextlib.contextmanager
def pushes_held(engine: Engine) -> Iterator[None]:
    """Hold the portal's push lease (as another replica would) so that statuses pile up."""
    hold = "held-by-test"

    def take() -> bool:
        with Session(engine) as session:
            taken = session.execute(
                update(Portal)
                .where(col(Portal.push_claimed_by).is_(None))
                .values(push_claimed_by=hold, push_lease_until=utcnow() + timedelta(hours=1))
            )
            session.commit()
            return bool(taken.rowcount)  # type: ignore[attr-defined]

    wait_for(take)  # once the pusher that may hold it now has given it back
    yield
    with Session(engine) as session:
        session.execute(
            update(Portal)
            .where(col(Portal.push_claimed_by) == hold)
            .values(push_claimed_by=None, push_lease_until=None)
        )
        session.commit()


# --- the portal and SMS.ru -----------------------------------------------------------------------


def install(bitrix24: PortalEmulator, base_url: str) -> None:
    response = bitrix24.install(base_url + "/bitrix24/install")
    assert response.status_code == 200, response.text


def campaign(bitrix24: PortalEmulator, phones: list[str], text: str = "Распродажа!") -> list[str]:
    """A CRM-marketing campaign through the portal's queue server: one POST per message."""
    with ThreadPoolExecutor(8) as pool:
        return list(
            pool.map(
                lambda phone: bitrix24.send_message("sender", phone, text, author_user_id=None),
                phones,
            )
        )


def phones(prefix: str, count: int) -> list[str]:
    return [f"+7{prefix}{n:07d}" for n in range(count)]


def sends_by_number(smsru: SmsRuEmulator) -> Counter[str]:
    return Counter(sent.phone for sent in smsru.sent)


def assert_portal_shows_final_statuses(bitrix24: PortalEmulator, messages: list[Message]) -> None:
    """The portal shows each final state, and was never told anything else (no regressions).

    Our final states are named as Bitrix24's statuses: delivered, undelivered, failed.
    """
    history = bitrix24.status_history
    for message in messages:
        final = message.state
        assert final in FINAL and message.pushed_status == final, message
        assert bitrix24.message_status(message.message_id) == final, message
        assert set(history[message.message_id]) == {final}, history[message.message_id]


# --- processes -----------------------------------------------------------------------------------


@pytest.fixture
def spawn(
    tmp_path: Path, settings: Settings, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> Iterator[Callable[..., list[SmsbridgeProcess]]]:
    """Start `smsbridge` processes configured for the test's database and emulators."""
    env = contract(settings, bitrix24)
    started: list[SmsbridgeProcess] = []

    def start(
        count: int = 1,
        port: int | None = None,
        role: tuple[str, ...] = WEBHOOK,
        public_url: str | None = None,
    ) -> list[SmsbridgeProcess]:
        """`count` processes of `role` started together (on `port`, for one), each ready when
        returned; `public_url`: the address they stand behind (else each its own)."""
        public = {"PUBLIC_URL": public_url} if public_url else {}
        processes = [
            SmsbridgeProcess(f"{role[0]}-{len(started) + n}", tmp_path, env | public, port, role)
            for n in range(1, count + 1)
        ]
        started.extend(processes)
        for process in processes:
            process.launch()
        return [process.wait_ready() for process in processes]

    yield start
    for process in started:
        process.stop()
    for process in started:  # shown by pytest when the test failed
        print(process.summary())


# --- the tests -----------------------------------------------------------------------------------


def test_sigkill_mid_campaign_loses_nothing(
    spawn: Callable[..., list[SmsbridgeProcess]],
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
    engine: Engine,
    settings: Settings,
) -> None:
    smsru.latency = 0.05  # SMS.ru answers slowly: calls are in flight while the campaign arrives
    [first] = spawn()
    install(bitrix24, first.url)
    numbers = phones("916", 500)
    with ThreadPoolExecutor(1) as runner:
        posting = runner.submit(campaign, bitrix24, numbers)
        wait_for(lambda: len(smsru.sent) >= len(numbers) // 5, timeout=60)
        # From now on SMS.ru takes each call and then does not answer: once the calls started
        # before have come back, every worker waits on one, claiming nothing more, so the kill
        # certainly finds calls in flight and a backlog queued behind them.
        smsru.hang_seconds = 10.0
        smsru.set_outage("process_then_hang")
        time.sleep(0.5)
        wait_for(lambda: {"sending", "queued"} <= set(state_counts(engine)), timeout=10)
        first.kill()
        sent_at_kill = sends_by_number(smsru)
        at_kill = stored(engine)
        posting.result()  # the rest of the campaign meets a dead process; Bitrix24 never retries
    smsru.set_outage(None)
    in_flight = {m.message_id for m in at_kill if m.state == "sending"}
    backlog = {m.message_id for m in at_kill if m.state == "queued"}
    assert in_flight and backlog
    assert 0 < len(sent_at_kill) < len(numbers)
    # The dead process's claims stay `sending` until their 10-minute lease runs out, and the portal
    # stays its to push for until its 60-s push lease does. Moving both ends into the past stands
    # in for waiting them out (the leases are SenderOptions/PusherOptions, not settable from
    # outside the process).
    past = utcnow() - timedelta(seconds=1)
    with Session(engine) as session:
        session.execute(
            update(Message).where(col(Message.state) == "sending").values(lease_until=past)
        )
        session.execute(
            update(Portal)
            .where(col(Portal.push_lease_until).is_not(None))
            .values(push_lease_until=past)
        )
        session.commit()
    # Same port, so same PUBLIC_URL: SMS.ru's callbacks and the portal's HANDLER reach it again.
    spawn(port=first.port)
    settle(engine, smsru, settings)
    wait_for(lambda: all_final_and_pushed(engine), timeout=60)

    messages = stored(engine)
    accepted = {d.message_id for d in bitrix24.handler_deliveries if d.result == 200}
    by_id = Counter(m.message_id for m in messages)
    assert accepted <= set(by_id), "a message answered 200 is missing"
    assert set(by_id.values()) == {1}
    sends = sends_by_number(smsru)
    assert set(sends.values()) == {1}, "a number was sent twice"
    interrupted = {m.message_id for m in messages if m.state == "failed"}
    assert all(m.error == INTERRUPTED for m in messages if m.state == "failed")
    assert interrupted == in_flight  # failed: exactly the claims the kill cut off, nothing else
    assert {m.message_id for m in messages if m.state == "delivered"} >= backlog
    assert len(interrupted) <= SenderOptions().workers * MAX_NUMBERS_PER_CALL  # a call per worker
    for message in messages:
        assert message.recipient is not None
        times_sent = sends[message.recipient.removeprefix("+")]
        if message.state == "failed":
            assert times_sent <= 1  # SMS.ru may or may not have taken it; never a second time
        else:
            assert (message.state, times_sent) == ("delivered", 1), message
    assert_portal_shows_final_statuses(bitrix24, messages)


@two_replicas
def test_two_replicas_on_postgres_send_and_push_each_message_once(
    spawn: Callable[..., list[SmsbridgeProcess]],
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
    engine: Engine,
    settings: Settings,
) -> None:
    smsru.latency = 0.02
    replicas = spawn(2)
    install(bitrix24, replicas[0].url)  # callbacks go to the first; both send and push
    numbers = phones("903", 300)
    message_ids = [new_message_id() for _ in numbers]
    for message_id in message_ids:
        bitrix24.register_message(message_id, code="smsru", author_id=None)
    handler = portal_handler_path(bitrix24.member_id, SECRET)

    def post(n: int) -> int:
        fields = message_fields("sender", numbers[n], "Две реплики", message_id=message_ids[n])
        url = replicas[n % 2].url + handler
        headers = {"Content-Type": FORM_CONTENT_TYPE}
        return httpx.post(url, content=encode(fields), headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(post, range(len(numbers)))) == {200}
    settle(engine, smsru, settings)
    wait_for(lambda: all_final_and_pushed(engine), timeout=60)
    for replica in replicas:  # SIGTERM lets a push in flight finish before we count
        assert replica.stop() in (0, -15)

    assert sends_by_number(smsru) == Counter(n.removeprefix("+") for n in numbers)
    assert told_otherwise(bitrix24, message_ids) == {}
    assert all("sent batch" in replica.output() for replica in replicas), "one replica sat idle"


@two_replicas
@pytest.mark.timeout(300)  # four processes, a proxy and both emulators on two shared cores
def test_two_web_and_two_worker_processes_send_and_push_each_message_once(
    spawn: Callable[..., list[SmsbridgeProcess]],
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
    engine: Engine,
    settings: Settings,
) -> None:
    """Process roles: intake replicas and worker processes apart, behind one public URL."""
    smsru.latency = 0.02
    proxy_socket = bound_socket()
    public_url = f"http://127.0.0.1:{proxy_socket.getsockname()[1]}"
    web = spawn(2, role=INTAKE_ONLY, public_url=public_url)
    workers = spawn(2, role=WORKER)
    numbers = phones("904", 200)
    with BackgroundServer(round_robin([process.url for process in web]), sock=proxy_socket):
        install(bitrix24, public_url)  # the HANDLER and the callback URL are the proxy's
        message_ids = campaign(bitrix24, numbers)  # POSTs alternate between the web processes
        assert {d.result for d in bitrix24.handler_deliveries} == {200}
        settle(engine, smsru, settings)  # callbacks come through the proxy too
        wait_for(lambda: all_final_and_pushed(engine), timeout=60)
        health = [process.health() for process in web + workers]
    for process in web + workers:  # SIGTERM lets a send or a push in flight finish
        assert process.stop() in (0, -15)

    assert sends_by_number(smsru) == Counter(n.removeprefix("+") for n in numbers)  # once each
    assert told_otherwise(bitrix24, message_ids) == {}
    assert_portal_shows_final_statuses(bitrix24, stored(engine))
    assert (
        health
        == [{"status": "ok", "database": "ok"}] * 2
        + [{"status": "ok", "database": "ok", "sender": "running", "pusher": "running"}] * 2
    )
    for process in web:
        assert "message accepted" in process.output(), "a web process took no message"
        assert "sent batch" not in process.output()  # no sender in a web process
    assert any("callback applied" in process.output() for process in web)
    for process in workers:
        assert "sent batch" in process.output(), "a worker process sat idle"
        assert "listening for wake-ups" in process.output()


def start_installed(
    start_webhook: Callable[..., Webhook], bitrix24: PortalEmulator, options: SenderOptions
) -> Webhook:
    """The `installed` fixture's webhook, with sender options of the test's choosing."""
    webhook = start_webhook(
        options,
        bitrix24_client_id=bitrix24.client_id,
        bitrix24_client_secret=SecretStr(bitrix24.client_secret),
        bitrix24_oauth_url=bitrix24.oauth_url,
        smsru_api_id=SecretStr(SMSRU_KEY),
    )
    install(bitrix24, webhook.server.url)
    return webhook


def test_smsru_down_then_back(
    start_webhook: Callable[..., Webhook],
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
    engine: Engine,
    settings: Settings,
) -> None:
    options = replace(FAST, read_timeout=0.5)
    start_installed(start_webhook, bitrix24, options)
    # Each wave of a campaign meets the next outage; the earlier waves' retries meet it too.
    for n, (outage, calls) in enumerate([("http500", 6), ("220", 6), ("hang", 1)]):
        smsru.set_outage(outage, remaining=calls)  # type: ignore[arg-type]
        campaign(bitrix24, phones(f"90{n}", 20))
        wait_for(lambda: smsru.outage is None, timeout=30)
    smsru.set_top_level_error(201)  # no money: the portal pauses, its queue waits
    campaign(bitrix24, phones("909", 20))
    wait_for(lambda: (stored_portal(engine).pause_reason or "").startswith("SMS.ru 201"))
    waiting = [m.state for m in stored(engine) if (m.recipient or "").startswith("+7909")]
    assert len(waiting) == 20 and set(waiting) <= {"queued", "sending"}  # none failed
    smsru.set_top_level_error(None)  # topped up: the next probe resumes the portal
    settle(engine, smsru, settings)
    wait_for(lambda: all_final_and_pushed(engine), timeout=60)

    assert stored_portal(engine).pause_reason is None
    messages = stored(engine)
    assert len(messages) == 80
    assert max(m.attempts for m in messages) > 1  # they really were retried
    sends = sends_by_number(smsru)
    interrupted = [m for m in messages if m.state == "failed"]
    # The hung call timed out after the request was written: its messages are failed, not resent.
    # ("hang" processes nothing, so SMS.ru has none of them.)
    assert interrupted, "the hung call carried no message"
    for message in interrupted:
        assert message.error is not None and message.error.startswith(INTERRUPTED)
        assert message.recipient is not None
        assert sends[message.recipient.removeprefix("+")] == 0
    delivered = [m for m in messages if m.state != "failed"]
    assert {m.state for m in delivered} == {"delivered"}
    assert sorted(sends.elements()) == sorted(
        (m.recipient or "").removeprefix("+") for m in delivered
    )  # every other message exactly once
    assert_portal_shows_final_statuses(bitrix24, messages)


def test_portal_faults_statuses_wait_then_flow(
    installed: Webhook,
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
    engine: Engine,
    installed_settings: Settings,
) -> None:
    campaign(bitrix24, phones("905", 60))
    settle(engine, smsru, installed_settings)
    wait_for(lambda: all_final_and_pushed(engine), timeout=30)
    with pushes_held(engine):  # 150 final statuses pile up, then meet every fault at once
        campaign(bitrix24, phones("906", 150))
        settle(engine, smsru, installed_settings)
        bitrix24.expire_access_tokens()
        bitrix24.fail_next(2, 500, "INTERNAL_SERVER_ERROR")
        bitrix24.hang_next(1, 2.0)  # the first of them is slow as well
        # The portal is busy: a request every 2 s, no burst to speak of (slower than our 2/s, so
        # its refusal is met however slowly a loaded machine sends).
        bitrix24.rate, bitrix24.burst = 0.5, 2
        since = len(bitrix24.request_log)
    wait_for(lambda: all_final_and_pushed(engine), timeout=60)

    answers = Counter(request.status for request in bitrix24.request_log[since:])
    assert answers[500] == 2 and answers[401] >= 1 and answers[503] >= 1, answers  # all were met
    assert bitrix24.refresh_calls <= 2
    assert stored_portal(engine).auth_error is None
    messages = stored(engine)
    assert {m.state for m in messages} == {"delivered"}
    assert told_otherwise(bitrix24, [m.message_id for m in messages]) == {}  # once, no regression
    assert_portal_shows_final_statuses(bitrix24, messages)


def portal_list(workdir: Path, settings: Settings) -> str:
    result = subprocess.run(
        [SMSBRIDGE, "portal", "list"],
        cwd=workdir,
        env=environment(DATABASE_URL=settings.database_url, COLUMNS="300"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_revoked_portal_is_reported_and_recovers_after_reinstall(
    installed: Webhook,
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
    engine: Engine,
    installed_settings: Settings,
    tmp_path: Path,
) -> None:
    bitrix24.revoke()
    message_ids = campaign(bitrix24, phones("907", 10))
    wait_for(lambda: stored_portal(engine).auth_error is not None)
    asked = len(bitrix24.request_log)  # what the portal was asked before the refusal was stored
    assert "invalid_grant" in (stored_portal(engine).auth_error or "")
    listing = portal_list(tmp_path, installed_settings)
    assert bitrix24.member_id in listing and "invalid_grant" in listing
    settle(engine, smsru, installed_settings)  # SMS.ru still delivers; only the portal is cut off
    assert httpx.get(installed.server.url + "/healthz").status_code == 200  # workers still up
    assert len(bitrix24.request_log) == asked  # the statuses wait: the pusher asked nothing since
    assert all(m.push_pending for m in stored(engine))
    assert {bitrix24.message_status(message_id) for message_id in message_ids} == {"sent"}
    assert bitrix24.status_history == {}
    assert bitrix24.refresh_calls == 1  # one refused refresh, not one per round

    install(bitrix24, installed.server.url)  # an admin installs the app again: fresh tokens
    assert stored_portal(engine).auth_error is None
    wait_for(lambda: all_final_and_pushed(engine), timeout=30)
    assert told_otherwise(bitrix24, message_ids) == {}
    assert_portal_shows_final_statuses(bitrix24, stored(engine))


def test_callbacks_repeated_reordered_unknown_and_split(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator, engine: Engine
) -> None:
    smsru.callbacks_enabled = False  # the test is SMS.ru's callback sender here
    campaign(bitrix24, phones("908", 200))
    wait_for(lambda: state_counts(engine)["sent"] == 200, timeout=30)
    rng = random.Random(20261124)  # fixed: a failure replays the same callbacks
    messages = stored(engine)
    final = {m.sms_id: (104 if n % 5 == 0 else 103) for n, m in enumerate(messages)}
    at = int(time.time())
    late = [m.sms_id or "" for m in messages[:40]]  # their 101/102 come after the final
    early = [status_record(sms_id, final[sms_id], at + 2) for sms_id in late]
    records = [
        status_record(sms_id or "", code, at + step)
        for sms_id in final
        for step, code in enumerate((101, 102, final[sms_id]))
        if sms_id not in late or step == 2
    ]
    records += [status_record(f"000000-{n}", 103, at) for n in range(20)]  # not ours
    middle = records * 2  # SMS.ru repeats what it is not sure we took
    rng.shuffle(middle)
    stale = [
        status_record(s, code, at + step) for s in late for step, code in enumerate((101, 102))
    ]
    everything = early + middle + stale * 2
    posts: list[list[str]] = []
    while everything:
        size = rng.randint(1, 40)
        posts.append(everything[:size])
        del everything[:size]

    def deliver(batch: list[str]) -> int:
        """POST one callback as SMS.ru does: again until the answer is `100`; the tries."""
        for attempt in range(1, 11):
            response = installed.http.post(callback_path(SECRET), data=signed_callback(batch))
            if response.status_code == 200 and response.text == "100":
                return attempt
        raise AssertionError(f"callback never taken: {response.status_code} {response.text}")

    with ThreadPoolExecutor(4) as pool:
        tries = list(pool.map(deliver, posts))
    wait_for(lambda: all_final_and_pushed(engine), timeout=30)

    messages = stored(engine)
    assert len(messages) == 200  # an unknown sms_id creates nothing
    for message in messages:
        code = final[message.sms_id]
        assert message.status_code == code
        assert message.state == ("delivered" if code == 103 else "undelivered")
    history = bitrix24.status_history
    assert all(history[m.message_id] == [m.state] for m in messages)  # told once
    assert_portal_shows_final_statuses(bitrix24, messages)
    with Session(engine) as session:
        logged = session.exec(
            select(func.count()).select_from(StatusLog).where(StatusLog.source == "callback")
        ).one()
    ours = sum(len(post) for post in posts) - 2 * 20
    assert logged == ours  # every observation of ours is on record, applied or not
    assert sum(tries) <= len(posts) + 5, f"{sum(tries) - len(posts)} callbacks had to be resent"
