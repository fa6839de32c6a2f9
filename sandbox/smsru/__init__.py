"""Emulator of the SMS.ru HTTP API for tests and the sandbox."""

from sandbox.smsru.app import create_app
from sandbox.smsru.state import CallbackDelivery, SentMessage, SmsRuEmulator

__all__ = ["CallbackDelivery", "SentMessage", "SmsRuEmulator", "create_app"]
