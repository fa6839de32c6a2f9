"""Every observation of a message's status, appended and never changed: the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlmodel import Column, Field, SQLModel

from models.types import BIG_ID, UTCDateTime, utcnow


class StatusLog(SQLModel, table=True):
    __tablename__ = "status_log"

    id: int | None = Field(
        default=None, sa_column=Column(BIG_ID, primary_key=True, autoincrement=True)
    )
    message_pk: int = Field(
        sa_column=Column(BIG_ID, ForeignKey("messages.id"), nullable=False, index=True)
    )
    state: str = Field(max_length=16)  # our state after the observation
    smsru_code: int | None = None
    source: str = Field(max_length=16)  # handler | sender | callback | poll
    applied: bool = True  # False when the observation was stale and changed nothing
    detail: str | None = Field(default=None, sa_column=Column(Text))
    observed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
