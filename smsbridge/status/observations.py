"""Applying what SMS.ru says about a message's status: the one place that moves a state.

Callbacks and polls both come here. A callback is scoped by the key that signed it: it moves
only messages sent with that key (`KeyScope`); records about any other message are ignored.
An observation moves a message only forward
(`smsbridge.status.states.moves_forward`), so a late or repeated one changes nothing; each is
written to the status log either way, marked `applied` or not. A message that reaches a state
Bitrix24 is told about is marked for the pusher.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.smsru.codes import meaning
from models import Message
from models.message import PUSH_NOW
from models.types import utcnow
from models.writes import append_status_log, update_messages
from smsbridge.status.schedule import COST_POLL
from smsbridge.status.states import FINAL, PUSHED, State, moves_forward, state_for_status_code

# Statements built once and given their values at execution (building one costs more CPU than
# running it), on the tables rather than the ORM classes (no ORM work for plain rows).
_MESSAGES = Message.metadata.tables["messages"]
_CURRENT = (
    select(
        *(
            _MESSAGES.c[name]
            for name in ("id", "sms_id", "state", "sent_at", "cost", "portal_id", "smsru_key")
        )
    )
    .where(_MESSAGES.c.sms_id.in_(bindparam("sms_ids", expanding=True)))
    .order_by(_MESSAGES.c.id)  # every writer locks messages in id order: no deadlock
    .with_for_update()
)


@dataclass(frozen=True, slots=True)
class Observation:
    sms_id: str
    code: int
    source: str  # callback | poll
    observed_at: datetime
    cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class KeyScope:
    """The messages one SMS.ru key may speak for: those sent with it (`fingerprint`), and, for
    messages sent before fingerprints were kept, those of the portals that use the key now."""

    fingerprint: str
    unmarked_portals: frozenset[int]

    def covers(self, portal_id: int, smsru_key: str | None) -> bool:
        if smsru_key is not None:
            return smsru_key == self.fingerprint
        return portal_id in self.unmarked_portals


async def sends_in_flight(session: AsyncSession, scope: KeyScope) -> bool:
    """Whether a message of the key's portals is being sent now: SMS.ru may call back about it
    before its id is stored, so a status for an unknown id may well be about it."""
    found = await session.execute(
        select(_MESSAGES.c.id)
        .where(
            _MESSAGES.c.state == State.SENDING.value,
            _MESSAGES.c.portal_id.in_(sorted(scope.unmarked_portals)),
        )
        .limit(1)
    )
    return found.first() is not None


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
    foreign: list[str] = field(default_factory=list)  # sms_ids of messages sent with another key


async def apply_observations(
    session: AsyncSession, observations: Sequence[Observation], scope: KeyScope | None = None
) -> Applied:
    """Apply the observations in one transaction, in the order they were observed; commit.

    With `scope`, only to the messages it covers; the others are listed in `foreign`."""
    applied = Applied()
    sms_ids = list({o.sms_id for o in observations})
    rows = (await session.execute(_CURRENT, {"sms_ids": sms_ids})).all()
    current = {}
    for row in rows:
        if scope is not None and not scope.covers(row.portal_id, row.smsru_key):
            applied.foreign.append(row.sms_id)
            continue
        current[row.sms_id] = _Current(row.id, State(row.state), row.sent_at, row.cost)
    foreign = set(applied.foreign)
    now = utcnow()
    changes: dict[int, dict[str, object]] = defaultdict(dict)  # pk → columns, later ones win
    log: list[dict[str, object]] = []
    for observation in sorted(observations, key=lambda o: o.observed_at):
        message = current.get(observation.sms_id)
        if message is None:
            if observation.sms_id not in foreign:
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
