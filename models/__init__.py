"""SQLModel tables and the database engine."""

from models.checkpoint import Checkpoint
from models.consent import Consent
from models.message import Message
from models.portal import Portal
from models.retired_key import RetiredSmsRuKey
from models.setting import Setting
from models.status_log import StatusLog
from models.stop_list import StopListEntry

__all__ = [
    "Checkpoint",
    "Consent",
    "Message",
    "Portal",
    "RetiredSmsRuKey",
    "Setting",
    "StatusLog",
    "StopListEntry",
]
