"""A Bitrix24 portal that installed the app: its tokens and its SMS.ru account."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from models.types import UTCDateTime, utcnow


class Portal(SQLModel, table=True):
    __tablename__ = "portals"

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(max_length=64, unique=True, index=True)
    domain: str = Field(default="", max_length=255)
    client_endpoint: str = Field(default="", max_length=500)
    access_token: str | None = Field(default=None, max_length=255)
    refresh_token: str | None = Field(default=None, max_length=255)
    access_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    application_token: str | None = Field(default=None, max_length=255)
    smsru_api_id: str | None = Field(default=None, max_length=255)
    smsru_sender: str | None = Field(default=None, max_length=64)
    # Sending stops while the SMS.ru account has a problem (bad key, no money); it is probed again
    # after this moment, so that a fixed account resumes by itself.
    paused_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    pause_reason: str | None = Field(default=None, max_length=500)
    # Bitrix24 REST budget: a leaky bucket shared by every process (GCRA: the theoretical arrival
    # time of the next request, as epoch seconds). Enterprise portals allow 5/s, burst 250.
    rate_per_second: float = 2.0
    rate_burst: int = 50
    rate_tat: float | None = None
    # One status pusher per portal at a time, so that its pushes stay in order.
    push_claimed_by: str | None = Field(default=None, max_length=64)
    push_lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Why Bitrix24 refuses us (app revoked, payment required); cleared by a new install.
    auth_error: str | None = Field(default=None, max_length=500)
    # The portal's time zone: the daily report covers its day and runs in its early morning.
    timezone: str = Field(default="Europe/Moscow", max_length=64)
    # Clear UF_CRM_SMS_SENT older than this many days, so recurring scenarios can fire again.
    sent_flag_retention_days: int | None = None
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
