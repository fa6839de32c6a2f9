"""An SMS.ru key a portal no longer sends with, kept while its messages may still change.

SMS.ru answers for a message only to the account that sent it: its status poll needs that key,
and its callbacks come signed with it. A portal whose admin changes the key keeps the old one
here until every message sent with it has outlived polling, then it is deleted (a secret is kept
no longer than it is needed).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlmodel import Column, Field, SQLModel

from models.types import UTCDateTime, utcnow


class RetiredSmsRuKey(SQLModel, table=True):
    __tablename__ = "retired_smsru_keys"

    portal_id: int = Field(
        sa_column=Column(Integer, ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True)
    )
    fingerprint: str = Field(primary_key=True, max_length=64)  # as `messages.smsru_key` has it
    api_id: str = Field(max_length=255)
    retired_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
