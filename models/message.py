"""A message Bitrix24 handed us: the outbox row the sender works from."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from models.types import BIG_ID, UTCDateTime, utcnow


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("portal_id", "message_id", name="uq_messages_portal_message"),
        Index("ix_messages_state_next_attempt", "state", "next_attempt_at"),
        Index("ix_messages_state_kind_next_attempt", "state", "kind", "next_attempt_at"),
        Index("ix_messages_portal_recipient", "portal_id", "recipient"),
        Index("ix_messages_portal_push", "portal_id", "push_pending", "next_push_at"),
        Index("ix_messages_portal_flag", "portal_id", "flag_pending"),
        Index("ix_messages_accepted_at", "accepted_at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BIG_ID, primary_key=True, autoincrement=True)
    )
    portal_id: int = Field(foreign_key="portals.id", index=True)
    message_id: str = Field(max_length=64)  # Bitrix24's id, the one status.update takes
    provider_code: str = Field(max_length=128)  # CODE the message came for; status.update needs it
    kind: str = Field(max_length=16)
    source: str = Field(max_length=16)
    module_id: str | None = Field(default=None, max_length=64)
    bindings: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    workflow_id: str | None = Field(default=None, max_length=64)
    document_id: list[str] | None = Field(default=None, sa_column=Column(JSON))
    document_type: list[str] | None = Field(default=None, sa_column=Column(JSON))
    author_id: str | None = Field(default=None, max_length=32)
    # The CRM item it is about (from bindings or document_id): lead, deal, contact, company.
    entity_type: str | None = Field(default=None, max_length=16)
    entity_id: int | None = None
    recipient: str | None = Field(default=None, max_length=20)  # E.164, "+79255070602"
    recipient_raw: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    encoding: str = Field(max_length=8)  # gsm7 | ucs2
    segments: int
    state: str = Field(default="queued", max_length=16)  # State.QUEUED (models sit below states)
    sms_id: str | None = Field(default=None, max_length=64, index=True)
    # Fingerprint of the SMS.ru key it was sent with: only a callback signed with that key moves it.
    smsru_key: str | None = Field(default=None, max_length=64)
    send_code: int | None = None  # SMS.ru's per-number code at send time
    status_code: int | None = None  # SMS.ru's latest message status code
    error: str | None = Field(default=None, sa_column=Column(Text))
    # Why it failed, when its state is failed: smsbridge.status.failures.Failure (the error's
    # text is for people and may be reworded; reports group by this).
    failure: str | None = Field(default=None, max_length=16)
    # A refusal to tell the manager on the bound CRM item's timeline (written by the pusher).
    comment_pending: bool = Field(default=False)
    # The comment the manager reads on the CRM item's timeline, in the portal's language.
    comment: str | None = Field(default=None, sa_column=Column(Text))
    cost: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 4)))
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    claimed_by: str | None = Field(default=None, max_length=64)
    accepted_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    final_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Status reflection to Bitrix24: set when the state changes to one Bitrix24 should be told.
    push_pending: bool = Field(default=False)
    pushed_status: str | None = Field(default=None, max_length=16)
    push_attempts: int = 0
    next_push_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    push_error: str | None = Field(default=None, sa_column=Column(Text))
    # The duplicate-send flag (UF_CRM_SMS_SENT) on the deal or lead a robot's message is about.
    flag_pending: bool = Field(default=False)
    flag_written_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    flag_error: str | None = Field(default=None, sa_column=Column(Text))
    # Polling SMS.ru for the status, in case callbacks do not come.
    polls: int = 0
    next_poll_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), index=True))
    # When retention erased its text and number (the figures stay).
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


# The column values that hand a message to the status pusher, to be pushed at once.
PUSH_NOW = {"push_pending": True, "next_push_at": None, "push_attempts": 0}
