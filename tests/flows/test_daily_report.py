"""`daily-report` run for real (Prefect server, SMS.ru emulator for the balance): the figures,
the artifacts and a self-contained, escaped HTML page."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from pydantic import SecretStr
from report_support import REFUSALS_TEXT, assert_self_contained, seed_refusals, seeded_days
from sqlalchemy import Engine
from sqlmodel import Session
from support import SMSRU_KEY

from flows.daily_report import daily_report, headline_markdown
from models import Message, Portal
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.report.figures import compute
from smsbridge.report.load import read_messages

MOSCOW = "flow-moscow"
EAST = '<b>"east" & co</b>'  # a member_id is data: the page must show it, not obey it
PAGE = "daily-report-2026-03-10.html"


def seed(engine: Engine) -> None:
    """Moscow: two delivered (one of two segments), one refused with 207; east: one undelivered."""
    with Session(engine) as session:
        moscow = Portal(member_id=MOSCOW, timezone="Europe/Moscow")
        east = Portal(member_id=EAST, timezone="Asia/Vladivostok")
        session.add_all([moscow, east])
        session.commit()
        rows = [
            (moscow, "card", "delivered", 1, "3.52", 103, None, 12),
            (moscow, "robot", "delivered", 2, "7.04", 103, None, 30),
            (moscow, "robot", "failed", 1, None, None, 207, None),
            (east, "campaign", "undelivered", 1, "2.00", 104, None, None),
        ]
        for n, (portal, source, state, segments, cost, status, refused, seconds) in enumerate(rows):
            accepted = datetime(2026, 3, 10, 12, tzinfo=ZoneInfo(portal.timezone))
            sent_at = accepted + timedelta(seconds=1) if refused is None else None
            assert portal.id is not None
            session.add(
                Message(
                    portal_id=portal.id,
                    message_id=f"m{n}",
                    provider_code="smsru",
                    kind="marketing" if source == "campaign" else "transactional",
                    source=source,
                    recipient_raw="+79255070602",
                    recipient="+79255070602",
                    text="текст",
                    encoding="ucs2",
                    segments=segments,
                    state=state,
                    sms_id=f"s{n}",
                    send_code=refused or 100,
                    status_code=status,
                    error=f"SMS.ru {refused}: no route" if refused else None,
                    failure="refused" if refused else None,
                    cost=Decimal(cost) if cost else None,
                    accepted_at=accepted,
                    sent_at=sent_at,
                    final_at=(sent_at or accepted) + timedelta(seconds=seconds or 2),
                )
            )
        session.commit()


async def run_flow(settings: Settings, reports_dir: Path) -> tuple[dict[str, Any], list[Any]]:
    state = await daily_report(
        day="2026-03-10", reports_dir=str(reports_dir), settings=settings, return_state=True
    )
    summary = await state.aresult()
    run = ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
    async with get_client() as client:
        artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=run))
    return summary, artifacts


@pytest.mark.usefixtures("prefect_harness")
def test_the_flow_publishes_the_report_and_writes_the_page(
    engine: Engine, settings: Settings, smsru: SmsRuEmulator, tmp_path: Path
) -> None:
    seed(engine)
    keyed = settings.model_copy(update={"smsru_api_id": SecretStr(SMSRU_KEY)})

    summary, artifacts = asyncio.run(run_flow(keyed, tmp_path / "reports"))

    [day] = summary["reports"]
    page_path = tmp_path / "reports" / PAGE
    assert day == {
        "day": "2026-03-10",
        "portals": [MOSCOW, EAST],
        "messages": 4,
        "sent": 3,
        "delivered": 2,
        "undelivered": 1,
        "failed": 1,
        "pending": 0,
        "delivery_rate": 0.5,
        "median_s": 21.0,
        "p90_s": 28.2,
        "segments": 5,
        "cost": "12.56",
        "without_cost": 0,
        "long_messages": 1,
        "long_extra_segments": 1,
        "long_saving": "3.52",
        "accounts": [
            {
                "key": "shared account",
                "balance": "100000.0",  # as SMS.ru's JSON gives it
                "daily_limit": None,
                "used_today": 0,
                "problem": None,
            }
        ],
        "html": str(page_path),
    }
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) == {
        "daily-report-headline",
        "daily-report-by-source",
        "daily-report-failures",
        "daily-report-progress",
    }
    headline = by_key["daily-report-headline"].data
    assert (
        "| Messages | 4 |" in headline
        and "| Delivery rate (of final outcomes) | 50.0 % |" in headline
    )
    assert "balance 100,000.00 ₽, no daily limit, used today 0" in headline
    by_source = json.loads(by_key["daily-report-by-source"].data)
    assert [(r["portal"], r["kind"], r["source"], r["messages"]) for r in by_source] == [
        (MOSCOW, "transactional", "card", 1),
        (MOSCOW, "transactional", "robot", 2),
        (MOSCOW, "all", "all", 3),
        (EAST, "marketing", "campaign", 1),
        (EAST, "all", "all", 1),
    ]
    failures = json.loads(by_key["daily-report-failures"].data)
    assert [(f["portal"], f["code"], f["messages"]) for f in failures] == [
        (MOSCOW, 207, 1),
        (EAST, 104, 1),
    ]
    assert by_key["daily-report-progress"].data == 100.0

    page = page_path.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "<b>4</b>" in page and "<b>50.0 %</b>" in page and "<b>12.56 ₽</b>" in page
    assert "100,000.00 ₽" in page
    assert "На этот номер нет маршрута для доставки сообщений" in page
    assert "&lt;b&gt;&quot;east&quot; &amp; co&lt;/b&gt;" in page
    assert EAST not in page


def test_a_malformed_day_fails_the_flow(settings: Settings) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        asyncio.run(daily_report.fn(day="10.03.2026", settings=settings))


def test_the_markdown_headline_says_what_the_policy_refused_and_why(
    engine: Engine, settings: Settings
) -> None:
    seed_refusals(engine)
    days = seeded_days(engine)
    report = compute(read_messages(settings.database, days), days)

    markdown = headline_markdown(report, "reports/page.html")

    assert f"| Refused by the message policy | {REFUSALS_TEXT} |" in markdown
