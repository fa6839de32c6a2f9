"""The analytics in the app's frame show the figures `smsbridge report` computes for the same day.

Messages go through the whole sandbox first (the portal's queue server → our HANDLER → SMS.ru
emulator with the sandbox's outcomes → callback, then a poll for the prices), so the page has
real traffic to show: cards, robots and a campaign, a landline SMS.ru refuses, a number the
network does not reach. The report's side is `daily_reports`, what `smsbridge report` runs.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import FrameLocator, Page
from pydantic import SecretStr
from support import SMSRU_KEY
from support.browser import Sandbox, screenshot, submit
from support.polling import poll_now

from sandbox.smsru.outcomes import realistic
from smsbridge.config import Settings
from smsbridge.report.analytics_html import CARDS
from smsbridge.report.daily import daily_reports
from smsbridge.report.model import DailyReport
from smsbridge.runtime import runtime
from smsbridge.status.states import FINAL

TRAFFIC = (
    ("crm", "+79255070602", "Ваш заказ №1 принят"),
    ("crm", "+79255070603", "Ваш заказ №2 принят"),
    ("bizproc", "+79255070604", "Напоминаем о встрече завтра в 10:00"),
    ("sender", "+79255070605", "Распродажа до пятницы: −20% на всё"),
    ("sender", "+79255070606", "Распродажа до пятницы: −20% на всё"),
    ("sender", "+79255070629", "Распродажа до пятницы: −20% на всё"),  # not delivered: 107
    ("crm", "+74951234567", "Это городской номер"),  # SMS.ru refuses a landline: failed
)


def todays_report(settings: Settings, member_id: str) -> DailyReport:
    """What `smsbridge report --day today --member-id …` computes (in a thread of its own: the
    browser's driver keeps an event loop running in this one)."""

    async def report() -> DailyReport:
        async with runtime(settings) as rt:
            [daily] = await daily_reports(rt, 0, member_id)
            return daily

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, report()).result()


def shown_figures(frame: FrameLocator, day: str) -> dict[str, str]:
    """The page's analytics for one day, asked for as a user would: figure → its value."""
    frame.locator("[data-test=period-first]").fill(day)
    frame.locator("[data-test=period-last]").fill(day)
    submit(frame, "period-show")
    assert frame.locator("#sb-analytics").get_attribute("data-first") == day
    cards = frame.locator("#sb-analytics-total [data-figure]")
    return {
        str(card.get_attribute("data-figure")): str(card.get_attribute("data-value"))
        for card in cards.all()
    }


def test_the_pages_analytics_are_the_reports_figures(
    installed_sandbox: Sandbox, settings: Settings, page: Page, screenshots: Path
) -> None:
    sandbox = installed_sandbox
    realistic(sandbox.smsru)
    for module, phone, text in TRAFFIC:
        sandbox.portal.send_message(module, phone, text)  # type: ignore[arg-type]
    messages = sandbox.webhook.wait_until_settled(timeout=30)
    assert len(messages) == len(TRAFFIC)
    sandbox.webhook.wait_for(lambda: {m.state for m in sandbox.webhook.messages()} <= FINAL)
    report_settings = settings.replace(smsru_api_id=SecretStr(SMSRU_KEY))
    poll_now(report_settings, sandbox.webhook.engine)  # the prices: callbacks carry none
    member_id = sandbox.portal.member_id

    frame = sandbox.open(page)
    for _ in range(10):  # a callback may move a figure while we look: then look again
        report = todays_report(report_settings, member_id)
        total = shown_figures(frame, report.day.isoformat())
        if report.total == todays_report(report_settings, member_id).total:
            break
    figures = report.total
    assert (figures.messages, figures.delivered, figures.undelivered, figures.failed) == (
        7,
        5,
        1,
        1,
    )
    assert figures.cost > 0 and figures.without_cost == 0
    assert set(CARDS) <= set(total)
    for figure in CARDS:
        value = getattr(report.total, figure)
        assert total[figure] == ("" if value is None else str(value)), figure
    kinds = frame.locator("#sb-analytics-by-kind [data-key]").all()
    assert {row.get_attribute("data-key") for row in kinds} >= {"transactional", "marketing"}
    screenshot(page, screenshots, "analytics", section="#analytics")
    screenshot(page, screenshots, "status", section="#status")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, screenshots, "app", full_page=False)
    screenshot(page, screenshots, "app-full")
