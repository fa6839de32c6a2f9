"""A number's consent to marketing, as read from the CRM, with the evidence of where it was read.

Russian law puts the burden of proving consent on the sender (38-FZ art. 18): the row keeps which
CRM item gave it and when it was given, as the CRM's UF_CRM_SMS_CONSENT said at `synced_at`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlmodel import Column, Field, SQLModel

from models.types import UTCDateTime, utcnow


class Consent(SQLModel, table=True):
    __tablename__ = "consent"

    portal_id: int = Field(
        sa_column=Column(Integer, ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True)
    )
    phone: str = Field(primary_key=True, max_length=20)  # E.164
    given_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    entity_type: str = Field(max_length=16)  # contact | lead
    entity_id: int
    synced_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
