"""Numbers we never send to (opt-outs, complaints): checked before a broadcast."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from models.types import UTCDateTime, utcnow


class StopListEntry(SQLModel, table=True):
    __tablename__ = "stop_list"

    phone: str = Field(primary_key=True, max_length=20)  # E.164
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
