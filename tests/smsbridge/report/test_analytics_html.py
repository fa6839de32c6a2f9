"""The app's analytics fragment: every figure it shows is the report's, in Russian or English.

The fragment is read back with an HTML parser, as a browser test reads the page: each element
with `data-figure` must carry the report's own value, in the section and row it belongs to.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from report_support import (
    MOSCOW,
    VLADIVOSTOK,
    Seeder,
    assert_self_contained,
    seed,
    seeded_days,
)
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Portal
from smsbridge.config import Settings
from smsbridge.report.analytics_html import CARDS, COLUMNS, analytics_fragment
from smsbridge.report.days import portal_days
from smsbridge.report.figures import compute
from smsbridge.report.load import empty_frame, read_messages
from smsbridge.report.model import DailyReport, Figures
from smsbridge.report.texts import read_top_texts

FIRST, LAST = date(2026, 3, 9), date(2026, 3, 11)


class Figure(dict[str, str]):
    """An element with `data-figure`: its attributes, its row's, its section's id and its text."""


class Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.figures: list[Figure] = []
        self.ids: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if "id" in found:
            self.ids.append(found["id"])
        if "data-figure" in found:
            figure = Figure(found)
            for _, outer in self.stack:
                figure.update({k: v for k, v in outer.items() if k.startswith("data-")} | figure)
                if "id" in outer:
                    figure["section"] = outer["id"]
            figure["shown"] = ""
            self.figures.append(figure)
        self.stack.append((tag, found))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.figures and any("data-figure" in a for _, a in self.stack):
            self.figures[-1]["shown"] += data


def read(page: str) -> Reader:
    reader = Reader()
    reader.feed(page)
    return reader


def raw(value: object) -> str:
    return "" if value is None else str(value)


def seeded_report(engine: Engine, settings: Settings) -> DailyReport:
    seed(engine)
    with Session(engine) as session:
        s = Seeder(session, first=100)
        moscow = session.exec(select(Portal).where(Portal.member_id == MOSCOW)).one()
        s.add(moscow, "2026-03-11 10:00", "campaign", "delivered", cost="7.04", segments=2,
              delivery=3, text='<script>alert("x")</script> & «скидка»')  # fmt: skip
        session.commit()
        days = [portal_days(moscow, FIRST, LAST)]
    texts = read_top_texts(settings.database, days)
    now = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
    frame = read_messages(settings.database, days, one_portal=True, templates=True)
    return compute(frame, days, (), now, texts)


def test_every_figure_shown_is_the_reports(engine: Engine, settings: Settings) -> None:
    report = seeded_report(engine, settings)

    page = read(analytics_fragment(report))

    def values(section: str, key: str) -> dict[tuple[str, str], str]:
        return {
            (f[key], f["data-figure"]): f["data-value"]
            for f in page.figures
            if f.get("section") == f"sb-analytics-{section}"
        }

    total = {f["data-figure"]: f["data-value"] for f in page.figures if f.get("section") ==
             "sb-analytics-total"}  # fmt: skip
    assert total == {figure: raw(getattr(report.total, figure)) for figure in CARDS}
    assert total["messages"] == "16" and total["cost"] == "45.76"

    def expected(rows: list[tuple[str, Figures]]) -> dict[tuple[str, str], str]:
        return {(key, f): raw(getattr(figures, f)) for key, figures in rows for f in COLUMNS}

    assert values("by-kind", "data-key") == expected(
        [(str(g.kind), g.figures) for g in report.by_kind]
    )
    assert values("by-source", "data-key") == expected(
        [(str(g.source), g.figures) for g in report.by_source]
    )
    assert {k for k, _ in values("by-source", "data-key")} == {"card", "robot", "campaign"}
    assert values("days", "data-day") == expected(
        [(d.day.isoformat(), d.figures) for d in report.series]
    )
    failures = [
        (f["data-outcome"], f["data-code"], f["data-reason"], f["data-value"])
        for f in page.figures
        if f.get("section") == "sb-analytics-failures"
    ]
    assert failures == [
        (f.outcome, raw(f.code), f.reason or "", str(f.messages)) for f in report.failures
    ]
    texts = values("texts", "data-rank")
    assert texts[("1", "text")] == report.top_texts[0].text
    assert [
        (texts[(str(n), "text")], texts[(str(n), "messages")], texts[(str(n), "cost")])
        for n in range(1, len(report.top_texts) + 1)
    ] == [(t.text, str(t.messages), str(t.cost)) for t in report.top_texts]
    assert report.templates
    assert values("templates", "data-template") == expected(
        [(t.template, t.figures) for t in report.templates]
    )


def test_russian_by_default_english_when_asked(engine: Engine, settings: Settings) -> None:
    report = seeded_report(engine, settings)

    russian, english = analytics_fragment(report), analytics_fragment(report, "en")

    def shown(page: str) -> dict[str, str]:
        return {
            f["data-figure"]: f["shown"]
            for f in read(page).figures
            if f.get("section") == "sb-analytics-total"
        }

    assert shown(russian)["cost"] == "45,76 ₽" and shown(english)["cost"] == "45.76 ₽"
    # 8 delivered of 13 final; delivered in 1, 1, 3, 10, 20, 30, 40, 100 s
    assert (shown(russian)["delivery_rate"], shown(english)["delivery_rate"]) == (
        "61,5 %",
        "61.5 %",
    )
    assert (shown(russian)["median_seconds"], shown(english)["median_seconds"]) == ("15 с", "15 s")
    assert 'lang="ru"' in russian and 'lang="en"' in english
    for words in ("Доставлено", "Рекламные", "Из карточки CRM", "9 марта 2026 — 11 марта 2026",
                  "На этот номер нет маршрута для доставки сообщений", "неверный номер телефона",
                  "Самые дорогие тексты", "10–30 с"):  # fmt: skip
        assert words in russian and words not in english
    for words in ("Delivered", "Marketing", "From a CRM card", "9 March 2026 — 11 March 2026",
                  "no route to deliver messages to this number", "invalid phone number",
                  "The most expensive texts", "10–30 s"):  # fmt: skip
        assert words in english and words not in russian


def test_texts_are_data_and_nothing_is_loaded(engine: Engine, settings: Settings) -> None:
    report = seeded_report(engine, settings)

    page = analytics_fragment(report)

    assert "<script" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert_self_contained(page)
    assert "<html" not in page and "<body" not in page and "<head" not in page
    reader = read(page)
    assert len(reader.ids) == len(set(reader.ids))
    assert {
        "sb-analytics",
        "sb-analytics-total",
        "sb-analytics-days",
        "sb-analytics-by-kind",
        "sb-analytics-by-source",
        "sb-analytics-delivery",
        "sb-analytics-failures",
        "sb-analytics-texts",
    } <= set(reader.ids)


@pytest.mark.parametrize(
    ("lang", "words"), [("ru", "За этот период сообщений нет."), ("en", "No messages in this")]
)
def test_a_period_without_messages(lang: str, words: str) -> None:
    day = portal_days(Portal(id=1, member_id="p", timezone="Europe/Moscow"), FIRST, LAST)

    page = analytics_fragment(compute(empty_frame(), [day]), lang)

    reader = read(page)
    assert "sb-analytics-empty" in reader.ids and words in page
    assert "sb-analytics-days" not in reader.ids and "<svg" not in page and "<table" not in page
    assert {f["data-figure"]: f["data-value"] for f in reader.figures}["messages"] == "0"
    assert 'data-first="2026-03-09" data-last="2026-03-11"' in page


def test_a_report_of_several_portals_names_each_row(engine: Engine, settings: Settings) -> None:
    seed(engine)
    days = seeded_days(engine)
    report = compute(read_messages(settings.database, days), days)

    reader = read(analytics_fragment(report, "en"))

    members = {
        (f["data-group"], f["data-key"], f["data-member-id"])
        for f in reader.figures
        if f.get("section") == "sb-analytics-by-source"
    }
    assert members == {("source", g.source, g.member_id) for g in report.by_source}
    assert {m for _, _, m in members} == {MOSCOW, VLADIVOSTOK}
    assert "<th>Portal</th>" in analytics_fragment(report, "en")
