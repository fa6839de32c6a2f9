"""Every figure of the report, as groupbys over the frame `load` reads (pandas)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import numpy as np
import pandas as pd

from clients.smsru.codes import meaning
from models.types import utcnow
from smsbridge.report.days import PortalDay
from smsbridge.report.load import ABSENT, COST_SCALE
from smsbridge.report.model import (
    Account,
    Bin,
    DailyReport,
    DayFigures,
    FailureCount,
    Figures,
    Group,
    LongMessages,
    RefusalCount,
    TemplateGroup,
    TextCost,
)
from smsbridge.status.failures import DESCRIPTION, POLICY, Failure
from smsbridge.status.states import ACCEPTED, PENDING, State

OTHER_FAILURE = "other failure of ours"  # failed without a code, and of no kind we know
# Time-to-delivery histogram edges, in seconds: SMS mostly arrive within a minute, so the bins
# widen as they go.
HISTOGRAM_EDGES = (0, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600)
_KOPECK = Decimal("0.01")
TEMPLATES_KEPT = 20  # per portal, the dearest


def _in_days(frame: pd.DataFrame, days: Sequence[PortalDay]) -> pd.DataFrame:
    """The rows accepted within their own portal's day (the window read is wider)."""
    starts = {d.portal_id: _us(d.start) for d in days}
    ends = {d.portal_id: _us(d.end) for d in days}
    portal = frame["portal_id"]
    accepted = frame["accepted_us"]
    keep = ((accepted >= portal.map(starts)) & (accepted < portal.map(ends))).to_numpy()
    return frame if keep.all() else frame[keep]


def _us(instant: datetime) -> int:
    return (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _aggregate(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Every figure's raw material per group of `keys` (none: one group of everything): counts
    by state, sums, quantiles. Groups by the columns themselves: no copy of the frame."""
    by = [frame[k] for k in keys] or [pd.Series(0, index=frame.index, dtype=np.int8)]
    state = frame["state"]
    states = (
        state.groupby([*by, state], observed=True)
        .size()
        .unstack(-1, fill_value=0)
        .reindex(columns=list(State), fill_value=0)
    )
    values = pd.DataFrame(
        {
            "segments": frame["segments"],
            "cost_e4": frame["cost_e4"],
            "without_cost": state.isin(ACCEPTED) & ~frame["has_cost"],
        }
    )
    sums = values.groupby(by, observed=True).agg(
        messages=("segments", "size"),
        segments=("segments", "sum"),
        cost_e4=("cost_e4", "sum"),
        without_cost=("without_cost", "sum"),
    )
    timed = _timed(frame)
    quantiles = (
        frame.loc[timed, "delivery_us"]
        .groupby([b[timed] for b in by], observed=True)
        .quantile([0.5, 0.9])
        .unstack()
        .rename(columns={0.5: "median_us", 0.9: "p90_us"})
    )
    table = sums.join(states).join(quantiles)
    return table.reindex(columns=[*sums.columns, *State, "median_us", "p90_us"])


def _timed(frame: pd.DataFrame) -> np.ndarray:
    """Delivered messages with both timestamps: the ones a time to delivery is known for."""
    return ((frame["state"] == State.DELIVERED) & (frame["delivery_us"] != ABSENT)).to_numpy()


def _series(
    frame: pd.DataFrame, days: Sequence[PortalDay], total: Figures
) -> tuple[DayFigures, ...]:
    """The figures of each reported day: each row goes to its own portal's local day."""
    first = days[0]
    if first.days == 1:
        return (DayFigures(first.day, total),)  # the day is the whole report
    dates = [first.day + timedelta(days=n) for n in range(first.days)]
    index = np.zeros(len(frame), dtype=np.int16)
    portal, accepted = frame["portal_id"].to_numpy(), frame["accepted_us"].to_numpy()
    for d in days:
        mine = portal == d.portal_id
        midnights = np.array([_us(m) for m in d.midnights()])
        index[mine] = np.searchsorted(midnights, accepted[mine], side="right") - 1
    by_day = _aggregate(frame.assign(day=index), ["day"])
    return tuple(
        DayFigures(day, _figures(by_day.loc[n] if n in by_day.index else None))
        for n, day in enumerate(dates)
    )


def _figures(row: pd.Series | None) -> Figures:
    if row is None:
        return Figures(0, 0, 0, 0, 0, 0, None, None, None, 0, Decimal(0), 0)
    count = {state: int(row[state]) for state in State}
    delivered, undelivered, failed = (
        count[State.DELIVERED],
        count[State.UNDELIVERED],
        count[State.FAILED],
    )
    final = delivered + undelivered + failed
    return Figures(
        messages=int(row["messages"]),
        sent=sum(count[s] for s in ACCEPTED),
        delivered=delivered,
        undelivered=undelivered,
        failed=failed,
        pending=sum(count[s] for s in PENDING),
        delivery_rate=delivered / final if final else None,
        median_seconds=_seconds(row["median_us"]),
        p90_seconds=_seconds(row["p90_us"]),
        segments=int(row["segments"]),
        cost=Decimal(int(row["cost_e4"])) / COST_SCALE,
        without_cost=int(row["without_cost"]),
    )


def _seconds(microseconds: float) -> float | None:
    """Seconds to the millisecond: interpolating between ranks leaves float dust below that."""
    return None if pd.isna(microseconds) else round(float(microseconds) / 1000) / 1000


def _failures(frame: pd.DataFrame, members: dict[int, str]) -> tuple[FailureCount, ...]:
    """Per portal (in report order), the most frequent first, then by code (ours first)."""
    bad = frame.loc[
        frame["state"].isin((State.FAILED, State.UNDELIVERED)),
        ["portal_id", "state", "code", "failure"],
    ]
    counted = bad.groupby(["portal_id", "state", "code", "failure"], observed=True).size()
    labels = [DESCRIPTION[failure] for failure in Failure] + [OTHER_FAILURE]
    position = {portal_id: n for n, portal_id in enumerate(members)}
    ordered = sorted(counted.items(), key=lambda item: (position[item[0][0]], -item[1], item[0][2]))
    kinds = list(Failure)
    return tuple(
        FailureCount(
            member_id=members[int(portal_id)],
            outcome=str(state),
            code=None if code == ABSENT else int(code),
            meaning=labels[int(failure)] if code == ABSENT else meaning(int(code)),
            messages=int(n),
            reason=str(kinds[int(failure)]) if code == ABSENT and failure < len(kinds) else None,
        )
        for (portal_id, state, code, failure), n in ordered
    )


def _refusals(frame: pd.DataFrame, members: dict[int, str]) -> tuple[RefusalCount, ...]:
    """Per portal (in report order), then kind, the most frequent reason first."""
    kinds = list(Failure)
    policy = [kinds.index(failure) for failure in POLICY]
    refused = frame.loc[frame["failure"].isin(policy), ["portal_id", "kind", "failure"]]
    counted = refused.groupby(["portal_id", "kind", "failure"], observed=True).size()
    position = {portal_id: n for n, portal_id in enumerate(members)}
    ordered = sorted(counted.items(), key=lambda item: (position[item[0][0]], item[0][1], -item[1]))
    return tuple(
        RefusalCount(members[int(portal_id)], str(kind), str(kinds[int(failure)]), int(n))
        for (portal_id, kind, failure), n in ordered
        if n
    )


def _long_messages(frame: pd.DataFrame, days: Sequence[PortalDay]) -> tuple[LongMessages, ...]:
    paid = frame.loc[frame["has_cost"], ["portal_id", "cost_e4", "segments"]]
    costed = paid.groupby("portal_id")[["cost_e4", "segments"]].sum()
    is_long = frame["state"].isin(ACCEPTED) & (frame["segments"] >= 2)
    long = frame.loc[is_long, ["portal_id", "segments"]]
    per_portal = long.groupby("portal_id")["segments"].agg(["size", "sum"])
    rows = []
    for day in days:
        messages, segments = (
            (int(per_portal.at[day.portal_id, "size"]), int(per_portal.at[day.portal_id, "sum"]))
            if day.portal_id in per_portal.index
            else (0, 0)
        )
        extra = segments - messages
        saving = None
        if day.portal_id in costed.index and costed.at[day.portal_id, "segments"] > 0:
            cost_e4, paid_segments = costed.loc[day.portal_id]
            saving = (
                Decimal(extra) * Decimal(int(cost_e4)) / (int(paid_segments) * COST_SCALE)
            ).quantize(_KOPECK, ROUND_HALF_UP)
        rows.append(LongMessages(day.member_id, messages, segments, extra, saving))
    savings = [r.saving for r in rows if r.saving is not None]
    total = LongMessages(
        None,
        sum(r.messages for r in rows),
        sum(r.segments for r in rows),
        sum(r.extra_segments for r in rows),
        sum(savings, Decimal("0.00")) if savings else None,
    )
    return (*rows, total)


def _templates(frame: pd.DataFrame, members: dict[int, str]) -> tuple[TemplateGroup, ...]:
    """Per portal (in report order), its `TEMPLATES_KEPT` dearest templates, then the busiest."""
    if "template" not in frame.columns:
        return ()
    table = _aggregate(frame, ["portal_id", "template"])
    table = table.assign(order=-table["cost_e4"], busy=-table["messages"])
    groups = []
    for portal_id in members:
        if portal_id not in table.index.get_level_values(0):
            continue
        dearest = table.loc[portal_id].sort_values(["order", "busy"]).head(TEMPLATES_KEPT)
        groups += [
            TemplateGroup(members[portal_id], str(template), _figures(row))
            for template, row in dearest.iterrows()
        ]
    return tuple(groups)


def _histogram(frame: pd.DataFrame) -> tuple[Bin, ...]:
    seconds = frame["delivery_us"].to_numpy()[_timed(frame)] / 1e6
    counts, _ = np.histogram(np.clip(seconds, 0, None), bins=[*HISTOGRAM_EDGES, np.inf])
    labels = [_span(lo, hi) for lo, hi in pairwise(HISTOGRAM_EDGES)]
    labels.append(f"≥ {_duration(HISTOGRAM_EDGES[-1])}")
    return tuple(Bin(label, int(n)) for label, n in zip(labels, counts, strict=True))


def _span(low: float, high: float) -> str:
    """A bin's label: 10–30 s, or 30 s–1 min when the units differ."""
    start, end = _duration(low), _duration(high)
    value, unit = start.split(" ")
    return f"{value}–{end}" if end.endswith(f" {unit}") else f"{start}–{end}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def compute(
    frame: pd.DataFrame,
    days: Sequence[PortalDay],
    accounts: Sequence[Account] = (),
    generated_at: datetime | None = None,
    top_texts: Sequence[TextCost] = (),
) -> DailyReport:
    """The report over `frame` (as `load_messages` returns it) for the portals' `days` (one
    date, or one period, for all of them); `top_texts` as `texts.load_top_texts` reads them."""
    if len({(d.day, d.days) for d in days}) != 1:
        raise ValueError("a report covers one date or period: give the portals that are on it")
    members = {d.portal_id: d.member_id for d in days}
    frame = _in_days(frame, days)
    fine = _aggregate(frame, ["portal_id", "kind", "source"])
    kinds = _aggregate(frame, ["portal_id", "kind"])
    portals = _aggregate(frame, ["portal_id"])
    overall = _aggregate(frame, [])
    by_source = tuple(
        Group(members[int(pid)], str(kind), str(source), _figures(row))
        for (pid, kind, source), row in fine.iterrows()
    )
    by_kind = tuple(
        Group(members[int(pid)], str(kind), None, _figures(row))
        for (pid, kind), row in kinds.iterrows()
    )
    total = _figures(overall.iloc[0] if len(overall) else None)
    by_portal = tuple(
        Group(
            d.member_id,
            None,
            None,
            _figures(portals.loc[d.portal_id] if d.portal_id in portals.index else None),
        )
        for d in days
    )
    return DailyReport(
        day=days[0].day,
        last=days[0].last,
        generated_at=generated_at or utcnow(),
        portals=tuple(days),
        total=total,
        by_portal=by_portal,
        by_source=by_source,
        by_kind=by_kind,
        series=_series(frame, days, total),
        top_texts=tuple(top_texts),
        failures=_failures(frame, members),
        refusals=_refusals(frame, members),
        long_messages=_long_messages(frame, days),
        delivery_histogram=_histogram(frame),
        templates=_templates(frame, members),
        accounts=tuple(accounts),
    )
