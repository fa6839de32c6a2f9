"""Taking messages in: one transaction stores a batch of them (or finds them already stored).

A message whose content cannot be sent (bad number, empty or over-long text) is still stored,
as `failed` with the reason, so that Bitrix24 is told it failed instead of showing it as sent.
The portal's checks (installed, `auth` block) are made here, in the transaction that stores the
message, so that a request costs one round of the database however many arrive together.

Group commit: messages that arrive together are stored in one transaction (`IntakeQueue`).
Bitrix24 gets its 200 only after the commit that holds its message, and a commit costs more than
an insert (an fsync on SQLite; a WAL flush and a round trip on PostgreSQL). One writer task stores
whatever has arrived since its last transaction began, so under load a commit serves many
requests, while a lone request waits for nothing but its own transaction.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Message, Portal
from models.insert import dialect_of, insert_ignoring_conflicts
from models.types import utcnow
from models.writes import append_status_log
from smsbridge import metrics
from smsbridge.rules.origin import FLAGGED_ENTITIES, Source, classify_origin, crm_entity
from smsbridge.rules.phones import DEFAULT_REGION, PhoneError, to_e164
from smsbridge.rules.segments import Measure, check_text, measure
from smsbridge.secret import compare_secret
from smsbridge.status.failures import Failure
from smsbridge.status.states import State
from webhook.handler_request import HandlerRequest
from webhook.problems import Problem


@dataclass(frozen=True, slots=True)
class Intake:
    message_pk: int
    state: State
    reason: str | None  # why the message cannot be sent, when it cannot
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Arrival:
    """A message as the handler parsed it, with its row prepared (all but the portal's id)."""

    member_id: str
    request: HandlerRequest
    values: dict[str, Any]

    @property
    def state(self) -> State:
        return State(self.values["state"])

    @property
    def reason(self) -> str | None:
        return self.values["error"]  # type: ignore[no-any-return]


def prepare(member_id: str, request: HandlerRequest) -> Arrival:
    """The row to store: number in E.164, encoding and segments, origin, and what is wrong."""
    recipient: str | None
    try:
        recipient, error = to_e164(request.phone, DEFAULT_REGION), None
    except PhoneError as exc:
        recipient, error = None, f"message_to: {exc.reason}"
    size = measure(request.text)
    failure, reason = _content_problem(request, recipient, error, size)
    kind, source = classify_origin(request.module_id)
    entity = crm_entity(request.bindings, request.document_id)
    entity_type, entity_id = entity if entity else (None, None)
    now = utcnow()
    values = {
        "message_id": request.message_id,
        "provider_code": request.code,
        "kind": kind,
        "source": source,
        "module_id": request.module_id,
        "bindings": request.bindings,
        "workflow_id": request.workflow_id,
        "document_id": request.document_id,
        "document_type": request.document_type,
        "author_id": (request.auth or {}).get("user_id"),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "flag_pending": source is Source.ROBOT and entity_type in FLAGGED_ENTITIES and not reason,
        "recipient": recipient,
        "recipient_raw": request.phone,
        "text": request.text,
        "encoding": size.encoding,
        "segments": size.segments,
        "state": State.FAILED if reason else State.QUEUED,
        "error": reason,
        "failure": failure,
        "attempts": 0,
        "next_attempt_at": now,
        "accepted_at": now,
        "final_at": now if reason else None,
        "push_pending": bool(reason),
        "updated_at": now,
    }
    return Arrival(member_id, request, values)


def _content_problem(
    request: HandlerRequest, recipient: str | None, error: str | None, size: Measure
) -> tuple[Failure | None, str | None]:
    """Why the message cannot be sent, as its kind and its reason; (None, None) if it can."""
    if recipient is None:
        return Failure.INVALID_NUMBER, error
    reason = check_text(request.text, size)
    if reason is None:
        return None, None
    return (Failure.TOO_LONG if request.text else Failure.EMPTY_TEXT), str(reason)


async def store(session: AsyncSession, arrivals: list[Arrival]) -> list[Intake | Problem]:
    """Check and store each arrival in one transaction, then commit; per arrival, what became
    of it, in order: stored, found already stored, or refused (unknown portal, foreign auth)."""
    portals = {
        row.member_id: row
        for row in await session.execute(
            _PORTALS, {"member_ids": sorted({a.member_id for a in arrivals})}
        )
    }
    # Per arrival, where it goes: its key, or why it is refused.
    targets: list[tuple[int, str] | Problem] = []
    rows: list[dict[str, Any]] = []
    for arrival in arrivals:
        portal = portals.get(arrival.member_id)
        if portal is None:
            targets.append(Problem(404, "no portal with this member_id is installed"))
            continue
        if portal.uninstalled_at is not None:
            targets.append(Problem(403, "the app was uninstalled from this portal"))
            continue
        problem = _auth_problem(arrival.request, portal.member_id, portal.application_token)
        targets.append(problem or (portal.id, arrival.request.message_id))
        if problem is None:
            rows.append(arrival.values | {"portal_id": portal.id})
    inserted: dict[tuple[int, str], int] = {}
    if rows:
        statement = _insert_messages(dialect_of(session))
        result = await session.execute(statement, rows)
        inserted = {(row.portal_id, row.message_id): row.id for row in result}
    earlier = await _stored_before(
        session, [t for t in targets if not isinstance(t, Problem) and t not in inserted]
    )
    outcomes: list[Intake | Problem] = []
    log: list[dict[str, object]] = []
    taken: set[tuple[int, str]] = set()  # a message_id twice in one batch: the second repeats
    for arrival, target in zip(arrivals, targets, strict=True):
        if isinstance(target, Problem):
            outcomes.append(target)
        elif target in inserted:
            first = target not in taken
            taken.add(target)
            pk = inserted[target]
            outcomes.append(Intake(pk, arrival.state, arrival.reason, duplicate=not first))
            if first:
                log.append(
                    {
                        "message_pk": pk,
                        "state": arrival.state,
                        "source": "handler",
                        "detail": arrival.reason,
                        "observed_at": arrival.values["accepted_at"],
                    }
                )
        else:  # only a row deleted in between could be missing; then nothing is stored
            outcomes.append(earlier.get(target, Problem(503, "the message was not stored")))
    await append_status_log(session, log)
    await session.commit()
    return outcomes


def _auth_problem(
    request: HandlerRequest, member_id: str, application_token: str | None
) -> Problem | None:
    """An `auth` block (present when the message has an author) must be this portal's."""
    if request.auth is None:
        return None
    given_member = request.auth.get("member_id", "")
    if given_member and not compare_secret(given_member, member_id):
        return Problem(403, "auth[member_id] is not this portal's")
    if application_token and not compare_secret(
        request.auth.get("application_token", ""), application_token
    ):
        return Problem(403, "auth[application_token] does not match the installed application")
    return None


async def _stored_before(
    session: AsyncSession, keys: list[tuple[int, str]]
) -> dict[tuple[int, str], Intake]:
    """The messages already stored under these keys (repeated message_ids)."""
    if not keys:
        return {}
    by_portal: dict[int, list[str]] = defaultdict(list)
    for portal_id, message_id in keys:
        by_portal[portal_id].append(message_id)
    found: dict[tuple[int, str], Intake] = {}
    for portal_id, message_ids in by_portal.items():
        rows = await session.execute(
            select(Message.id, Message.message_id, Message.state, Message.error).where(
                Message.portal_id == portal_id, col(Message.message_id).in_(message_ids)
            )
        )
        for row in rows:
            key = (portal_id, row.message_id)
            found[key] = Intake(row.id, State(row.state), row.error, duplicate=True)
    return found


# What the checks need of the portals, by a statement built once: loading whole rows as ORM
# objects cost as much CPU as storing the message.
_PORTALS = select(
    col(Portal.id), col(Portal.member_id), col(Portal.application_token), Portal.uninstalled_at
).where(col(Portal.member_id).in_(bindparam("member_ids", expanding=True)))


@cache
def _insert_messages(dialect: str) -> Insert:
    """Built once per backend and given its rows at execution (one multi-row INSERT): building
    (and cache-keying) a statement with 26 literal values took more CPU than running it."""
    table = Message.metadata.tables["messages"]
    return insert_ignoring_conflicts(dialect, table, "portal_id", "message_id").returning(
        table.c.id, table.c.portal_id, table.c.message_id
    )


MAX_BATCH = 200  # rows in one INSERT: 200 × 30 parameters stays far below SQLite's limit


class NotStored(Exception):
    """The database did not store the message (unreachable, or refused its row); the cause is
    chained. The handler answers 503: Bitrix24 then shows the message as not sent."""


class IntakeQueue:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], max_batch: int = MAX_BATCH
    ) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._waiting: list[tuple[Arrival, asyncio.Future[Intake]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def take_in(self, arrival: Arrival) -> Intake:
        """Store the arrival, with whatever arrives meanwhile, and return once it is committed.

        Raises the arrival's `Problem` when it is refused, `NotStored` when the database failed.
        A request cancelled while it waits does not take its message out of the transaction.
        """
        future: asyncio.Future[Intake] = asyncio.get_running_loop().create_future()
        self._waiting.append((arrival, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return await asyncio.shield(future)

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                metrics.INTAKE_BATCH.observe(len(batch))
                try:
                    await self._store(batch)
                finally:  # whatever happened, no request waits for ever
                    _settle(batch, "the intake writer stopped", None)
        finally:
            self._writer = None

    async def _store(self, batch: list[tuple[Arrival, asyncio.Future[Intake]]]) -> None:
        try:
            async with self.sessions() as session:
                outcomes = await store(session, [arrival for arrival, _ in batch])
        except Exception as exc:
            unreachable = isinstance(exc, OperationalError | InterfaceError)  # alone no better
            if len(batch) > 1 and not unreachable:  # one bad row must not fail the others
                for one in batch:
                    await self._store([one])
                return
            _settle(batch, f"{type(exc).__name__} while storing", exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Intake):
                future.set_result(outcome)
            else:
                future.set_exception(outcome)


def _settle(
    batch: list[tuple[Arrival, asyncio.Future[Intake]]], reason: str, cause: Exception | None
) -> None:
    """Fail every request of the batch that has no outcome yet, each with its own `NotStored`."""
    for _, future in batch:
        if not future.done():
            error = NotStored(reason)
            error.__cause__ = cause
            future.set_exception(error)
