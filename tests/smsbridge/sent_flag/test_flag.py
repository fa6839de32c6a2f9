"""The duplicate-send flag UF_CRM_SMS_SENT, written by the pusher and kept by its hourly flow."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session
from support import Webhook, wait_for

from flows.maintain_sent_flags import maintain_sent_flags
from models import Message, Portal
from models.types import utcnow
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.sent_flag.flag import FIELD, flag_value


def rest(bitrix24: PortalEmulator, method: str, params: dict[str, object]) -> object:
    token = bitrix24.issue_tokens()["access_token"]
    answer = httpx.post(bitrix24.client_endpoint + method, json={**params, "auth": token})
    answer.raise_for_status()
    return answer.json()["result"]


def flag_of(bitrix24: PortalEmulator, kind: str, entity_id: int) -> object:
    return bitrix24.entity(kind, entity_id).get(FIELD)


def test_install_creates_the_field_on_deals_and_leads(
    installed: Webhook, bitrix24: PortalEmulator
) -> None:
    for kind in ("deal", "lead"):
        deal = bitrix24.add_deal("x") if kind == "deal" else bitrix24.add_lead("x")
        assert FIELD in bitrix24.entity(kind, deal)
    again = bitrix24.install(installed.server.url + "/bitrix24/install")
    assert again.json()["sent_flag_created_on"] == []  # already there: not created twice


def test_a_robot_message_about_a_deal_flags_the_deal(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    deal = bitrix24.add_deal("Заказ 1")
    lead = bitrix24.add_lead("Лид 1")
    other = bitrix24.add_deal("Заказ 2")
    bitrix24.send_message("bizproc", "+79255070602", "робот", entity=("deal", deal))
    bitrix24.send_message("bizproc", "+79161234567", "робот", entity=("lead", lead))
    bitrix24.send_message("crm", "+79031234567", "из карточки", entity=("deal", other))
    wait_for(
        lambda: bool(flag_of(bitrix24, "deal", deal)) and bool(flag_of(bitrix24, "lead", lead))
    )
    installed.wait_for(
        lambda: all(m.flag_written_at for m in installed.messages() if m.source == "robot")
    )
    messages = {(m.entity_type, m.entity_id): m for m in installed.messages()}
    robot = messages[("deal", deal)]
    assert robot.flag_written_at is not None and robot.flag_error is None
    assert flag_of(bitrix24, "deal", deal) == flag_value(robot.sent_at)
    assert not flag_of(bitrix24, "deal", other)  # a card send is not a robot's scenario


def test_no_flag_when_smsru_refuses_the_message(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    deal = bitrix24.add_deal("Заказ")
    smsru.set_number_error("79255070602", 207)
    bitrix24.send_message("bizproc", "+79255070602", "нет маршрута", entity=("deal", deal))
    installed.wait_for(lambda: installed.messages()[0].state == "failed")
    wait_for(lambda: bitrix24.message_status(installed.messages()[0].message_id) == "failed")
    [message] = installed.messages()
    assert (message.flag_pending, message.flag_written_at) == (False, None)
    assert not flag_of(bitrix24, "deal", deal)


@pytest.mark.usefixtures("prefect_harness")
def test_maintenance_backfills_failed_writes_and_clears_old_flags(
    installed: Webhook,
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
    installed_settings: Settings,
) -> None:
    missing = 999_999  # a deal that does not exist: its write fails, every time
    bitrix24.send_message("bizproc", "+79161234567", "о пропавшей сделке", entity=("deal", missing))
    installed.wait_for(lambda: bool(installed.messages()[0].flag_error))
    deal = bitrix24.add_deal("Сделка")
    bitrix24.send_message("bizproc", "+79255070602", "о сделке", entity=("deal", deal))
    wait_for(lambda: bool(flag_of(bitrix24, "deal", deal)))
    # …and until we recorded the write, so that our pretend failure below is not overwritten.
    installed.wait_for(
        lambda: any(m.entity_id == deal and m.flag_written_at for m in installed.messages())
    )
    with Session(installed.engine) as session:  # as if that write had failed
        session.execute(
            update(Message)
            .where(Message.entity_id == deal)
            .values(flag_written_at=None, flag_error="Bitrix24: timed out")
        )
        session.execute(update(Portal).values(sent_flag_retention_days=1))
        session.commit()
    rest(bitrix24, "crm.deal.update", {"id": deal, "fields": {FIELD: ""}})
    old = bitrix24.add_deal("Старая", **{FIELD: flag_value(utcnow() - timedelta(days=3))})
    recent = bitrix24.add_deal("Свежая", **{FIELD: flag_value(utcnow() - timedelta(hours=2))})

    [result] = asyncio.run(maintain_sent_flags(settings=installed_settings))

    assert (result["backfilled"], result["still_failing"], result["cleared"]) == (1, 1, 1)
    assert flag_of(bitrix24, "deal", deal)
    assert not flag_of(bitrix24, "deal", old)
    assert flag_of(bitrix24, "deal", recent)
    failing = next(m for m in installed.messages() if m.entity_id == missing)
    assert failing.flag_error and failing.flag_written_at is None
