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
    # The trusted authorization server (one of BITRIX24_OAUTH_URL) that vouched for the install;
    # its tokens are refreshed there. Empty for portals stored before: the first one is used.
    oauth_server: str = Field(default="", max_length=255)
    access_token: str | None = Field(default=None, max_length=255)
    refresh_token: str | None = Field(default=None, max_length=255)
    access_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    application_token: str | None = Field(default=None, max_length=255)
    # The provider was registered with the HANDLER carrying WEBHOOK_SECRET itself (before
    # per-portal secrets): that URL is accepted until the provider is registered again.
    legacy_handler: bool = False
    # Set by ONAPPUNINSTALL: nothing is taken in, sent, pushed or refreshed until a new install.
    uninstalled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Texts and numbers of messages older than this many days are erased (personal data).
    retention_days: int = 180
    smsru_api_id: str | None = Field(default=None, max_length=255)
    smsru_sender: str | None = Field(default=None, max_length=64)
    # Send with SMS.ru's `test=1` (nothing sent or charged): chosen on the app's page; None
    # follows SMSRU_TEST.
    smsru_test: bool | None = None
    # When SMS.ru last called us back about the account this portal sends with.
    last_callback_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
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
    # One token refresh per portal at a time (refresh tokens are single-use), held as a lease
    # rather than a row lock so that nothing waits on the row while the OAuth server answers.
    refresh_claimed_by: str | None = Field(default=None, max_length=64)
    refresh_lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Why Bitrix24 refuses us (app revoked, payment required); cleared by a new install.
    auth_error: str | None = Field(default=None, max_length=500)
    # What the portal is written to in (ru | en): the refusals' comments on its CRM timelines.
    language: str = Field(default="ru", max_length=8)
    # The portal's time zone: the daily report covers its day and runs in its early morning.
    timezone: str = Field(default="Europe/Moscow", max_length=64)
    # Clear UF_CRM_SMS_SENT older than this many days, so recurring scenarios can fire again.
    sent_flag_retention_days: int | None = None
    # Message policy (smsbridge.policy): marketing needs consent ("required") or not ("off");
    # the default pace, 100 a second, is what Bitrix24 can be told statuses at (batch of 50, 2/s);
    # marketing waits for the recipient's daytime (SMS.ru `daytime=1`); marketing leaves at most
    # `marketing_pace` messages a minute (`marketing_next_at`: when the next may be claimed);
    # transactional messages live `transactional_ttl` minutes at the operator, and skip the
    # stop list unless `transactional_stop_list`; a robot's repeat within `duplicate_window`
    # seconds (0: off) is refused.
    marketing_consent: str = Field(default="off", max_length=16)
    marketing_daytime: bool = True
    marketing_pace: int = 6000
    marketing_next_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    transactional_ttl: int | None = None
    transactional_stop_list: bool = False
    duplicate_window: int = 600
    # When consent was last read from the CRM (its DATE_MODIFY high-water mark).
    consent_synced_to: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
