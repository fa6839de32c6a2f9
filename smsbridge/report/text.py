"""The report's figures as text: one wording for the HTML page, the markdown artifact, the CLI."""

from __future__ import annotations

from decimal import Decimal

from smsbridge.report.model import Account, DailyReport, RefusalCount, TextCost
from smsbridge.status.failures import DESCRIPTION, Failure

NO_CODE = "—"  # the code column of a failure of ours


def money(amount: Decimal | None) -> str:
    """Roubles with at least two decimals and no trailing zeros past them (SMS.ru prices go to
    hundredths, sums of Numeric(12, 4) to ten-thousandths)."""
    if amount is None:
        return "—"
    whole, _, fraction = f"{amount.quantize(Decimal('0.0001')):,f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')} ₽"


def number(value: int) -> str:
    return f"{value:,}"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f} %"


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:g} s"


def account_text(account: Account) -> str:
    if account.problem:
        return account.problem
    limit = "no daily limit" if account.daily_limit is None else f"limit {account.daily_limit:,}"
    used = "?" if account.used_today is None else number(account.used_today)
    return f"balance {money(account.balance)}, {limit}, used today {used}"


def text_cost(text: TextCost) -> str:
    """A text's messages, segments and cost, in a few words."""
    return f"{number(text.messages)} messages, {number(text.segments)} segments, {money(text.cost)}"


def quoted(text: str, limit: int = 60) -> str:
    """A message text on one line, cut at `limit` characters."""
    line = " ".join(text.split())
    return f"«{line if len(line) <= limit else line[: limit - 1] + '…'}»"


def portal_names(report: DailyReport) -> dict[str, str]:
    """member_id → the portal's domain (its member_id when no domain is stored)."""
    return {p.member_id: p.name for p in report.portals}


def title(report: DailyReport) -> str:
    """The report's title: its day, or its period."""
    if report.last == report.day:
        return f"SMS daily report — {report.day.isoformat()}"
    return f"SMS report — {report.day.isoformat()} to {report.last.isoformat()}"


def headline(report: DailyReport) -> list[tuple[str, str]]:
    """The report's main figures as (label, value): the artifact, the command and the page."""
    total = report.total
    long = report.long_messages[-1]
    zones = sorted({p.timezone for p in report.portals})
    rows = [
        (
            "Day" if report.last == report.day else "Period",
            f"{title(report).partition(' — ')[2]} ({', '.join(zones) or 'no portals'})",
        ),
        ("Portals", str(len(report.portals))),
        ("Messages", number(total.messages)),
        ("Sent (accepted by SMS.ru)", number(total.sent)),
        ("Delivered", number(total.delivered)),
        ("Undelivered", number(total.undelivered)),
        ("Failed", number(total.failed)),
        ("Pending", number(total.pending)),
        ("Delivery rate (of final outcomes)", percent(total.delivery_rate)),
        (
            "Time to delivery",
            f"median {seconds(total.median_seconds)}, p90 {seconds(total.p90_seconds)}",
        ),
        ("Segments", number(total.segments)),
        ("Cost", f"{money(total.cost)} ({number(total.without_cost)} sent without a cost yet)"),
        (
            "Long messages (2+ segments)",
            f"{number(long.messages)} messages, {number(long.segments)} segments; one segment "
            f"each saves {number(long.extra_segments)} segments ≈ {money(long.saving)}",
        ),
    ]
    rows.append(("Refused by the message policy", refusals_text(report.refusals)))
    if report.top_texts:
        top = max(report.top_texts, key=lambda t: t.cost)  # each portal's are ranked; all's here
        rows.append(("Most expensive text", f"{quoted(top.text)}: {text_cost(top)}"))
    if report.templates:
        dearest = max(report.templates, key=lambda t: t.figures.cost)
        rows.append(
            (
                "Dearest template",
                f"{dearest.template} — {number(dearest.figures.messages)} messages,"
                f" {number(dearest.figures.segments)} segments, {money(dearest.figures.cost)}",
            )
        )
    names = portal_names(report)
    rows += [
        (f"SMS.ru {a.title} ({', '.join(names.get(m, m) for m in a.member_ids)})", account_text(a))
        for a in report.accounts
    ]
    return rows


def refusals_text(refusals: tuple[RefusalCount, ...]) -> str:
    """Refusals of every portal by reason, in plain words, with the kinds they hit:
    "5: 3 number on the stop list (marketing 3), 2 no consent to marketing (marketing 2)"."""
    if not refusals:
        return "none"
    by_reason: dict[str, dict[str, int]] = {}
    for refusal in refusals:
        kinds = by_reason.setdefault(refusal.reason, {})
        kinds[refusal.kind] = kinds.get(refusal.kind, 0) + refusal.messages
    ordered = sorted(by_reason.items(), key=lambda item: -sum(item[1].values()))
    parts = [
        f"{number(sum(kinds.values()))} {DESCRIPTION[Failure(reason)]} ("
        + ", ".join(f"{kind} {number(n)}" for kind, n in sorted(kinds.items()))
        + ")"
        for reason, kinds in ordered
    ]
    return f"{number(sum(r.messages for r in refusals))}: " + ", ".join(parts)
