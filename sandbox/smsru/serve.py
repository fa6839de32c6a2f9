"""The SMS.ru emulator as the sandbox runs it: one account, on loopback, realistic outcomes."""

from __future__ import annotations

from sandbox.server import BackgroundServer
from sandbox.smsru.app import create_app
from sandbox.smsru.outcomes import realistic
from sandbox.smsru.state import SmsRuEmulator

SANDBOX_API_ID = "sandbox-smsru-api-id"


def start_emulator(port: int | None = None) -> tuple[SmsRuEmulator, BackgroundServer]:
    emulator = realistic(SmsRuEmulator())  # some messages fail, as on the real network
    emulator.add_account(SANDBOX_API_ID)
    server = BackgroundServer(create_app(emulator), port=port)
    server.start()
    return emulator, server
