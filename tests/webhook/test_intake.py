"""Group commit on the real database: requests that arrive together share one transaction, and
one bad row, an unknown portal or a forged `auth` block refuses only its own message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from support import APPLICATION_TOKEN, MEMBER_ID

from models import Message, Portal
from models.database import make_async_engine, session_factory
from webhook.handler_request import HandlerRequest
from webhook.intake import Arrival, Intake, IntakeQueue, NotStored, prepare
from webhook.problems import Problem

Run = Callable[[Callable[[IntakeQueue], Awaitable[Any]]], tuple[Any, int]]


def arrival(message_id: str, *, member_id: str = MEMBER_ID, token: str | None = None) -> Arrival:
    auth = None if token is None else {"member_id": member_id, "application_token": token}
    request = HandlerRequest(
        message_id=message_id,
        code="smsru",
        phone="+79255070602",
        text="Заказ принят",
        module_id="crm",
        bindings=None,
        workflow_id=None,
        document_id=None,
        document_type=None,
        auth=auth,
    )
    return prepare(member_id, request)


@pytest.fixture
def run(database_url: str, portal: Portal) -> Run:
    """Run `work(queue)` on a fresh event loop; its result and the commits it took."""

    def run(work: Callable[[IntakeQueue], Awaitable[Any]]) -> tuple[Any, int]:
        async def main() -> tuple[Any, int]:
            engine = make_async_engine(database_url)
            commits = 0

            def count(_connection: object) -> None:
                nonlocal commits
                commits += 1

            event.listen(engine.sync_engine, "commit", count)
            try:
                return await work(IntakeQueue(session_factory(engine))), commits
            finally:
                await engine.dispose()

        return asyncio.run(main())

    return run


def stored_ids(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(Message.message_id).order_by(col(Message.id))).all())


async def take_all(queue: IntakeQueue, arrivals: list[Arrival]) -> list[Intake | BaseException]:
    return await asyncio.gather(*(queue.take_in(a) for a in arrivals), return_exceptions=True)


def test_requests_arriving_together_share_one_commit(run: Run, engine: Engine) -> None:
    arrivals = [arrival(f"m-{n}") for n in range(20)]
    outcomes, commits = run(lambda queue: take_all(queue, arrivals))
    assert commits == 1
    assert all(isinstance(o, Intake) and not o.duplicate for o in outcomes)
    assert len({o.message_pk for o in outcomes}) == 20
    assert stored_ids(engine) == [f"m-{n}" for n in range(20)]


def test_a_lone_request_is_committed_without_waiting_for_company(run: Run, engine: Engine) -> None:
    async def one_at_a_time(queue: IntakeQueue) -> list[Intake]:
        return [await queue.take_in(arrival(f"solo-{n}")) for n in range(3)]

    outcomes, commits = run(one_at_a_time)
    assert commits == 3
    assert [o.duplicate for o in outcomes] == [False, False, False]
    assert stored_ids(engine) == ["solo-0", "solo-1", "solo-2"]


def test_a_message_id_twice_in_one_batch_is_stored_once(run: Run, engine: Engine) -> None:
    arrivals = [arrival("twice"), arrival("other"), arrival("twice")]
    (first, other, second), _ = run(lambda queue: take_all(queue, arrivals))
    assert (first.duplicate, other.duplicate, second.duplicate) == (False, False, True)
    assert first.message_pk == second.message_pk != other.message_pk
    assert stored_ids(engine) == ["twice", "other"]


def test_a_message_stored_earlier_is_found_again(run: Run, engine: Engine) -> None:
    run(lambda queue: queue.take_in(arrival("again")))
    (repeated, new), commits = run(lambda queue: take_all(queue, [arrival("again"), arrival("x")]))
    assert (repeated.duplicate, new.duplicate) == (True, False)
    assert commits == 1
    assert stored_ids(engine) == ["again", "x"]


def test_unknown_portal_and_forged_auth_refuse_only_their_own(run: Run, engine: Engine) -> None:
    arrivals = [
        arrival("good", token=APPLICATION_TOKEN),
        arrival("nowhere", member_id="not-installed"),
        arrival("forged", token="forged-token"),
        arrival("anonymous"),
    ]
    (good, nowhere, forged, anonymous), _ = run(lambda queue: take_all(queue, arrivals))
    assert isinstance(good, Intake) and isinstance(anonymous, Intake)
    assert isinstance(nowhere, Problem) and nowhere.status == 404
    assert isinstance(forged, Problem) and forged.status == 403
    assert stored_ids(engine) == ["good", "anonymous"]


def test_one_bad_row_fails_alone(run: Run, engine: Engine) -> None:
    bad = arrival("bad")
    bad.values["bindings"] = [object()]  # not JSON: the INSERT of the whole batch fails
    arrivals = [arrival("before"), bad, arrival("after")]
    (before, failed, after), commits = run(lambda queue: take_all(queue, arrivals))
    assert isinstance(before, Intake) and isinstance(after, Intake)
    assert isinstance(failed, NotStored)  # the handler's 503
    assert commits == 2  # the batch rolled back, then each alone: two of three committed
    assert stored_ids(engine) == ["before", "after"]


def test_an_unreachable_database_refuses_every_message_of_the_batch(
    database_url: str, tmp_path: Path
) -> None:
    unreachable = (
        f"sqlite:///{tmp_path}/no/such/folder/db.sqlite"
        if database_url.startswith("sqlite")
        else "postgresql://postgres@127.0.0.1:1/test"
    )

    async def main() -> list[Intake | BaseException]:
        engine = make_async_engine(unreachable)
        try:
            queue = IntakeQueue(session_factory(engine))
            return await take_all(queue, [arrival("a"), arrival("b")])
        finally:
            await engine.dispose()
            await asyncio.sleep(0.2)  # aiosqlite's thread of the failed connection winds down

    outcomes = asyncio.run(main())
    assert all(isinstance(o, NotStored) for o in outcomes)
    assert all(isinstance(o.__cause__, OperationalError) for o in outcomes)
