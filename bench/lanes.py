"""Card-send latency under a campaign: separate lanes against one first-in-first-out queue.

The situation of issue 10: SMS.ru answers each call in `--delay` seconds (8), a campaign of
`--recipients` (3,000) marketing messages is POSTed to the handler, and once its first calls are
in flight a card send (module_id=crm) is POSTed. Measured: seconds from that POST until SMS.ru
receives a request carrying the card's number. Both modes run in the same process, one after the
other, each on a fresh SQLite database, against the same SMS.ru emulator.

Run: `python -m bench.lanes [--recipients 3000] [--delay 8]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from bench.loopback import ensure_portal
from models.migrate import upgrade
from sandbox.bitrix24.messages import FORM_CONTENT_TYPE, Author, encode, message_fields
from sandbox.server import BackgroundServer, free_port
from sandbox.smsru import SmsRuEmulator
from sandbox.smsru import create_app as create_smsru_app
from smsbridge.config import load_settings
from smsbridge.endpoints import portal_handler_path
from webhook.app import create_app
from webhook.sender import SenderOptions

MEMBER_ID = "bench-lanes"
APPLICATION_TOKEN = "bench-lanes-application-token"
SECRET = "bench-lanes-webhook-secret-0123456789"
KEY = "bench-lanes-key"
CARD_PHONE = "+79250000001"


@dataclass(frozen=True)
class Run:
    mode: str
    card_latency: float  # seconds from the card's POST to its arrival at SMS.ru
    campaign_sent_before: int  # campaign numbers SMS.ru had been given by then
    intake_seconds: float  # how long POSTing the campaign took


def measure(
    smsru: SmsRuEmulator, smsru_url: str, folder: Path, lanes: bool, recipients: int, delay: float
) -> Run:
    smsru.reset()
    smsru.latency = 0.0
    database_url = f"sqlite:///{folder / ('lanes.db' if lanes else 'fifo.db')}"
    upgrade(database_url)
    ensure_portal(database_url, MEMBER_ID, APPLICATION_TOKEN)
    port = free_port()
    settings = load_settings(
        _env_file=None,
        database_url=database_url,
        webhook_secret=SECRET,
        public_url=f"http://127.0.0.1:{port}",
        smsru_api_url=smsru_url,
        smsru_api_id=SecretStr(KEY),
    )
    options = SenderOptions(workers=4, marketing_workers=4, idle_poll=0.05, lanes=lanes)
    author = Author(MEMBER_ID, APPLICATION_TOKEN)
    with BackgroundServer(create_app(settings, sender_options=options), port=port) as server:
        url = server.url + portal_handler_path(MEMBER_ID, SECRET)
        headers = {"Content-Type": FORM_CONTENT_TYPE}
        smsru.latency = delay
        campaign = [
            encode(message_fields("sender", f"+7916{n:07d}", "Распродажа!", author=author))
            for n in range(recipients)
        ]
        started = time.perf_counter()
        with httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:
            statuses = set(
                pool.map(lambda b: http.post(url, content=b, headers=headers).status_code, campaign)
            )
            assert statuses == {200}, statuses
            intake = time.perf_counter() - started
            while not any(r.path == "/sms/send" for r in smsru.requests):
                time.sleep(0.01)  # the campaign's first calls are in flight
            card = encode(message_fields("crm", CARD_PHONE, "Код входа 4321", author=author))
            posted = time.perf_counter()
            assert http.post(url, content=card, headers=headers).status_code == 200
            digits = CARD_PHONE.removeprefix("+")
            while True:
                requests = [r for r in smsru.requests if r.path == "/sms/send"]
                if any(
                    digits in r.params.get("to", "") or f"multi[{digits}]" in r.params
                    for r in requests
                ):
                    latency = time.perf_counter() - posted
                    break
                time.sleep(0.005)
        before = sum(len(r.params.get("to", "").split(",")) for r in requests) - 1
        smsru.latency = 0.0  # let the rest drain quickly so the webhook stops promptly
    return Run("lanes" if lanes else "first-in-first-out", latency, before, intake)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--delay", type=float, default=8.0, help="seconds SMS.ru takes per call")
    args = parser.parse_args()
    smsru = SmsRuEmulator()
    smsru.add_account(KEY, balance=10**9)
    with (
        BackgroundServer(create_smsru_app(smsru)) as smsru_server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        runs = [
            measure(smsru, smsru_server.url, Path(tmp), lanes, args.recipients, args.delay)
            for lanes in (True, False)
        ]
    print(
        f"card send under a {args.recipients}-recipient campaign, "
        f"SMS.ru answering in {args.delay:g} s:"
    )
    for run in runs:
        print(
            f"  {run.mode:>20}: reached SMS.ru {run.card_latency:6.2f} s after its POST "
            f"({run.campaign_sent_before} campaign numbers handed to SMS.ru before it; "
            f"campaign intake {run.intake_seconds:.1f} s)"
        )


if __name__ == "__main__":
    main()
