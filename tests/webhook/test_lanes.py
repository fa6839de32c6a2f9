"""Lanes over real HTTP: a card send never waits behind a campaign, queued or in flight.

SMS.ru answers each call slowly; a campaign is POSTed, and once its first calls are in flight a
card send is POSTed. With lanes it reaches SMS.ru at once; first-in-first-out (the old queue),
only after the campaign's calls ahead of it. The figures at scale: `python -m bench.lanes`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from support import Webhook, wait_for
from support.options import IDLE_POLL

from models import Portal
from sandbox.bitrix24.messages import encode, message_fields
from sandbox.smsru import SmsRuEmulator
from webhook.sender import SenderOptions

DELAY = 1.0  # seconds SMS.ru takes to answer each call
CARD = "79250000001"


def card_latency(webhook: Webhook, smsru: SmsRuEmulator, recipients: int) -> float:
    bodies = [
        encode(message_fields("sender", f"+7916{n:07d}", "Распродажа!")) for n in range(recipients)
    ]
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda body: webhook.post_form(body).status_code, bodies)) == {200}
    wait_for(lambda: any(r.path == "/sms/send" for r in smsru.requests))  # campaign in flight
    posted = time.perf_counter()
    assert webhook.post_message("crm", "+" + CARD, "Код входа 4321").status_code == 200

    def card_sent() -> bool:
        return any(CARD in r.params.get("to", "") for r in smsru.requests)

    wait_for(card_sent, 30, interval=0.01)  # timed: looked at often
    return time.perf_counter() - posted


def test_a_card_send_overtakes_a_campaign_in_its_own_lane(
    start_webhook: Callable[..., Webhook], portal: Portal, smsru: SmsRuEmulator
) -> None:
    options = SenderOptions(workers=1, marketing_workers=1, idle_poll=IDLE_POLL)
    webhook = start_webhook(options)
    smsru.latency = DELAY
    assert card_latency(webhook, smsru, 300) < DELAY / 2
    marketing = [r for r in smsru.requests if r.path == "/sms/send" and CARD not in r.params["to"]]
    assert all(r.params.get("daytime") == "1" for r in marketing)
    [card] = [r for r in smsru.requests if r.path == "/sms/send" and CARD in r.params["to"]]
    assert "daytime" not in card.params  # a code is wanted at any hour


def test_first_in_first_out_makes_the_card_wait_behind_the_campaign(
    start_webhook: Callable[..., Webhook], portal: Portal, smsru: SmsRuEmulator
) -> None:
    options = SenderOptions(workers=1, idle_poll=IDLE_POLL, lanes=False)
    webhook = start_webhook(options)
    smsru.latency = DELAY
    latency = card_latency(webhook, smsru, 300)
    sends = [r for r in smsru.requests if r.path == "/sms/send"]
    # Behind every campaign message queued before it (however many the sender had already sent
    # while the campaign was being POSTed), and so behind at least one whole call.
    assert CARD in sends[-1].params["to"]
    assert sum(len(r.params["to"].split(",")) for r in sends[:-1]) == 300
    assert latency > DELAY
