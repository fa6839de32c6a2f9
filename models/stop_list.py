"""Numbers a portal never sends marketing to (opt-outs, complaints), with why and from where.

Each entry belongs to one portal; an entry without a portal (stored before lists were per portal)
applies to every portal. SMS.ru's own refusals (209, 215) add entries by themselves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from models.types import UTCDateTime, utcnow


class StopListEntry(SQLModel, table=True):
    __tablename__ = "stop_list"
    __table_args__ = (UniqueConstraint("portal_id", "phone", name="uq_stop_list_portal_phone"),)

    id: int | None = Field(default=None, primary_key=True)
    portal_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("portals.id", ondelete="CASCADE"), index=True),
    )
    phone: str = Field(max_length=20, index=True)  # E.164
    reason: str = Field(default="", max_length=500)
    # manual (the CLI), import (a CSV), smsru (a send refused with 209/215), sync (SMS.ru's list)
    origin: str = Field(default="manual", max_length=16)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
