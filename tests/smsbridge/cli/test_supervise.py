"""`make run`'s supervisor: what it hands the flow processes and the commands run beside it."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from smsbridge.cli.instance import Ports
from smsbridge.cli.supervise import _flow_environment, _replaced
from smsbridge.config import Settings, load_settings


@pytest.fixture
def configured() -> Settings:
    return load_settings(
        _env_file=None,
        database_url="sqlite:///./run.db",
        smsru_api_id=None,
        smsru_sender="MyShop",
        bitrix24_client_id=None,
        bitrix24_client_secret=None,
    )


def test_the_flows_run_with_the_webhooks_configuration(configured: Settings) -> None:
    environment = _flow_environment(configured, Ports())
    assert {key: environment[key] for key in configured.environment()} == configured.environment()
    assert environment["PREFECT_API_URL"].endswith("/api")


def test_commands_beside_the_sandbox_learn_just_what_it_replaced(configured: Settings) -> None:
    sandboxed = configured.replace(
        smsru_api_url="http://127.0.0.1:8001",
        smsru_api_id=SecretStr("sandbox-key-123"),
        bitrix24_client_id="local.app",
    )
    assert _replaced(configured, sandboxed) == {
        "SMSRU_API_URL": "http://127.0.0.1:8001",
        "SMSRU_API_ID": "sandbox-key-123",
        "BITRIX24_CLIENT_ID": "local.app",
    }
