"""What a report holds: plain frozen values, computed once and then only read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from smsbridge.report.days import PortalDay


@dataclass(frozen=True)
class Figures:
    messages: int
    sent: int
    delivered: int
    undelivered: int
    failed: int
    pending: int
    delivery_rate: float | None  # of final outcomes; None when none is final
    median_seconds: float | None  # time to delivery; None when nothing was delivered
    p90_seconds: float | None
    segments: int
    cost: Decimal
    without_cost: int  # sent, but SMS.ru has not told us the cost yet


@dataclass(frozen=True)
class Group:
    """Figures of one portal (kind and source None: the portal's total), one of its kinds (source
    None) or one of its sources."""

    member_id: str
    kind: str | None
    source: str | None
    figures: Figures


@dataclass(frozen=True)
class FailureCount:
    """How many of a portal's messages failed or were undelivered for one reason."""

    member_id: str
    outcome: str  # failed | undelivered
    code: int | None  # SMS.ru's; None: a failure of ours, `meaning` says its kind
    meaning: str
    messages: int
    reason: str | None = None  # a failure of ours: its kind (Failure), None when of no known kind


@dataclass(frozen=True)
class RefusalCount:
    """How many of a portal's messages of one kind the policy refused for one reason."""

    member_id: str
    kind: str  # transactional | marketing
    reason: str  # the refusal's kind (smsbridge.status.failures), e.g. stop_listed
    messages: int


@dataclass(frozen=True)
class LongMessages:
    member_id: str | None  # None: all portals
    messages: int
    segments: int
    extra_segments: int  # what shortening each to one segment would not send
    saving: Decimal | None  # None when no cost is known that day to price a segment


@dataclass(frozen=True)
class DayFigures:
    """The figures of one local day of a report's days (every reported portal together)."""

    day: date
    figures: Figures


@dataclass(frozen=True)
class TemplateGroup:
    """One template's messages of one portal (`report.templates`): variable parts masked."""

    member_id: str
    template: str
    figures: Figures


@dataclass(frozen=True)
class TextCost:
    """One exact text a portal's sent messages had: how many, their segments and cost."""

    member_id: str
    text: str
    messages: int
    segments: int
    cost: Decimal


@dataclass(frozen=True)
class Bin:
    label: str
    messages: int


@dataclass(frozen=True)
class Account:
    """One SMS.ru key's balance and daily limit at report time, or why they are missing."""

    member_ids: tuple[str, ...]  # the reported portals that send with this key
    shared: bool  # SMSRU_API_ID, not a portal's own key
    balance: Decimal | None
    daily_limit: int | None
    used_today: int | None
    problem: str | None

    @property
    def title(self) -> str:
        """The label people read: which account, not which variable."""
        return "shared account" if self.shared else "portal's own account"


@dataclass(frozen=True)
class DailyReport:
    """The report of one day (`day` == `last`) or of a period of days, `day`..`last`."""

    day: date  # the first reported day
    last: date
    generated_at: datetime
    portals: tuple[PortalDay, ...]
    total: Figures
    by_portal: tuple[Group, ...]
    by_source: tuple[Group, ...]
    failures: tuple[FailureCount, ...]
    long_messages: tuple[LongMessages, ...]  # per portal, then the total (member_id None)
    delivery_histogram: tuple[Bin, ...]
    accounts: tuple[Account, ...]
    refusals: tuple[RefusalCount, ...] = ()  # by portal, kind and reason (stop list, consent…)
    by_kind: tuple[Group, ...] = ()  # per portal and kind (source None)
    series: tuple[DayFigures, ...] = ()  # one per reported day, in order
    top_texts: tuple[TextCost, ...] = ()  # per portal (in report order), the costliest first
    templates: tuple[TemplateGroup, ...] = ()  # per portal, the dearest first
