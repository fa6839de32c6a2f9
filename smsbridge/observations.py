"""Applying what SMS.ru says about a message's status: the one place that moves a state.

Callbacks and polls both come here. An observation moves a message only forward
(`smsbridge.states.moves_forward`), so a late or repeated one changes nothing; each is written to
the status log either way, marked `applied` or not. A message that reaches a state Bitrix24 is
told about is marked for the pusher.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.smsru.codes import meaning
from models import Message, StatusLog
from models.message import PUSH_NOW
from models.types import utcnow
from smsbridge.polling import COST_POLL
from smsbridge.states import FINAL, PUSHED, State, moves_forward, state_for_status_code

# Statements built once and given their values at execution (building one costs more CPU than
# running it), on the tables rather than the ORM classes (no ORM work for plain rows).
_MESSAGES = Message.metadata.tables["messages"]
_CURRENT = (
    select(*(_MESSAGES.c[name] for name in ("id", "sms_id", "state", "sent_at", "cost")))
    .where(_MESSAGES.c.sms_id.in_(bindparam("sms_ids", expanding=True)))
    .order_by(_MESSAGES.c.id)  # every writer locks messages in id order: no deadlock
    .with_for_update()
)
_UPDATE_BY_PK = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("pk_"))
_INSERT_LOG = insert(StatusLog.metadata.tables["status_log"])


@dataclass(frozen=True, slots=True)
class Observation:
    sms_id: str
    code: int
    source: str  # callback | poll
    observed_at: datetime
    cost: Decimal | None = None


@dataclass
class _Current:
    pk: int
    state: State
    sent_at: datetime | None
    cost: Decimal | None


@dataclass
class Applied:
    advanced: int = 0
    stale: int = 0
    unknown: list[str] = field(default_factory=list)  # sms_ids we have no message for


async def apply_observations(session: AsyncSession, observations: Sequence[Observation]) -> Applied:
    """Apply the observations in one transaction, in the order they were observed; commit."""
    applied = Applied()
    sms_ids = list({o.sms_id for o in observations})
    rows = (await session.execute(_CURRENT, {"sms_ids": sms_ids})).all()
    current = {
        row.sms_id: _Current(row.id, State(row.state), row.sent_at, row.cost) for row in rows
    }
    now = utcnow()
    changes: dict[int, dict[str, object]] = defaultdict(dict)  # pk → columns, later ones win
    log: list[dict[str, object]] = []
    for observation in sorted(observations, key=lambda o: o.observed_at):
        message = current.get(observation.sms_id)
        if message is None:
            applied.unknown.append(observation.sms_id)
            continue
        pk, state = message.pk, message.state
        new = state_for_status_code(observation.code)
        advances = new is not None and moves_forward(state, new)
        values: dict[str, object] = {}
        if observation.cost is not None and message.cost is None:
            values["cost"] = message.cost = observation.cost  # known late, whatever the state
        if advances and new is not None:
            values |= {"state": new, "status_code": observation.code}
            if new in FINAL:
                # SMS.ru's timestamps have whole seconds; a final state never precedes the send.
                values["final_at"] = max(observation.observed_at, message.sent_at or now)
                # One more poll fetches the price (callbacks carry none), then polling stops.
                values["next_poll_at"] = None if message.cost is not None else now + COST_POLL
            if new in PUSHED:
                values |= PUSH_NOW
            message.state = new
            applied.advanced += 1
        else:
            applied.stale += 1
        if values:
            changes[pk] |= values | {"updated_at": now}
        log.append(
            {
                "message_pk": pk,
                "state": new or state,
                "smsru_code": observation.code,
                "source": observation.source,
                "applied": advances,
                "detail": meaning(observation.code),
                "observed_at": observation.observed_at,
            }
        )
    await update_messages(session, changes)
    await append_status_log(session, log)
    await session.commit()
    return applied


async def update_messages(
    session: AsyncSession, changes: Mapping[int, Mapping[str, object]]
) -> None:
    """Set each message's columns (pk → {column: value}) in one executemany UPDATE per distinct
    set of columns: a batch of 100 costs a round trip or two, not 100. The caller holds the rows'
    locks (taken in id order), so the order of the writes cannot deadlock."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = defaultdict(list)
    for pk, values in sorted(changes.items()):
        groups[tuple(sorted(values))].append({"pk_": pk, **values})
    for rows in groups.values():
        await session.execute(_UPDATE_BY_PK, rows)


async def append_status_log(session: AsyncSession, entries: list[dict[str, object]]) -> None:
    """Append status-log entries (StatusLog's columns) in one executemany INSERT."""
    if entries:
        await session.execute(_INSERT_LOG, entries)
