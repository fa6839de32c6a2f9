"""Shared fixtures: a real database, the SMS.ru emulator and the webhook, over loopback HTTP.

The database is SQLite in a temporary folder, or the PostgreSQL that `DATABASE_URL` names (CI runs
the suite once each way). It is migrated once per session and emptied before each test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlmodel import Session
from support import APPLICATION_TOKEN, MEMBER_ID, SECRET, SMSRU_KEY, Webhook

from models import Portal
from models.database import make_sync_engine
from models.migrate import upgrade
from sandbox.bitrix24.app import create_app as create_portal_app
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.server import BackgroundServer, free_port
from sandbox.smsru import SmsRuEmulator
from sandbox.smsru import create_app as create_smsru_app
from smsbridge.config import Settings, load_settings
from webhook.app import create_app
from webhook.pusher import PusherOptions
from webhook.sender import SenderOptions

TABLES = ("status_log", "messages", "portals", "settings", "stop_list", "checkpoints")

FAST = SenderOptions(workers=4, idle_poll=0.05, backoff_base=0.05, backoff_cap=0.2, pause=0.3)
FAST_PUSH = PusherOptions(idle_poll=0.05, backoff=0.05, backoff_cap=0.2)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 't.db'}"
    engine = make_sync_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_sync_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def smsru_server() -> Iterator[tuple[SmsRuEmulator, BackgroundServer]]:
    emulator = SmsRuEmulator()
    emulator.add_account(SMSRU_KEY)
    with BackgroundServer(create_smsru_app(emulator)) as server:
        yield emulator, server


@pytest.fixture
def smsru(smsru_server: tuple[SmsRuEmulator, BackgroundServer]) -> Iterator[SmsRuEmulator]:
    emulator, _ = smsru_server
    emulator.reset()
    emulator.set_balance(SMSRU_KEY, Decimal("100000"))
    emulator.hang_seconds = 3.0
    yield emulator
    for url in emulator.callbacks(SMSRU_KEY):  # this test's webhook is gone
        emulator.remove_callback(SMSRU_KEY, url)


@pytest.fixture
def settings(
    engine: Engine, database_url: str, smsru_server: tuple[SmsRuEmulator, BackgroundServer]
) -> Settings:
    _, server = smsru_server
    return load_settings(
        _env_file=None,
        database_url=database_url,
        webhook_secret=SECRET,
        smsru_api_url=server.url,
        smsru_api_id=None,
        smsru_sender=None,
        smsru_test=False,
    )


@pytest.fixture
def portal(engine: Engine) -> Portal:
    with Session(engine) as session:
        portal = Portal(
            member_id=MEMBER_ID,
            domain="sandbox.bitrix24.ru",
            application_token=APPLICATION_TOKEN,
            smsru_api_id=SMSRU_KEY,
        )
        session.add(portal)
        session.commit()
        session.refresh(portal)
        return portal


@pytest.fixture
def start_webhook(settings: Settings, engine: Engine) -> Iterator[Callable[..., Webhook]]:
    servers: list[BackgroundServer] = []

    def start(
        options: SenderOptions = FAST, pusher: PusherOptions = FAST_PUSH, **overrides: object
    ) -> Webhook:
        port = free_port()
        configured = settings.replace(public_url=f"http://127.0.0.1:{port}", **overrides)
        app = create_app(configured, sender_options=options, pusher_options=pusher)
        server = BackgroundServer(app, port=port)
        server.start()
        servers.append(server)
        return Webhook(server, engine)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def webhook(start_webhook: Callable[..., Webhook], portal: Portal) -> Webhook:
    return start_webhook()


@pytest.fixture(scope="session")
def recorded() -> Path:
    path = Path(__file__).resolve().parents[2] / "shared" / "reference" / "recorded"
    assert path.is_dir(), f"the recorded API payloads are missing: {path}"
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server for the whole session (slow to start: only flow tests ask)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def bitrix24() -> Iterator[PortalEmulator]:
    """An emulated Bitrix24 portal (REST, OAuth server, queue server) on loopback."""
    emulator = PortalEmulator(application_token=APPLICATION_TOKEN)
    with BackgroundServer(create_portal_app(emulator)) as server:
        emulator.base_url = server.url
        yield emulator


@pytest.fixture
def installed(
    start_webhook: Callable[..., Webhook], bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> Webhook:
    """The webhook, with the emulated portal installed through the real install endpoint."""
    webhook = start_webhook(
        bitrix24_client_id=bitrix24.client_id,
        bitrix24_client_secret=SecretStr(bitrix24.client_secret),
        bitrix24_oauth_url=bitrix24.base_url,
        smsru_api_id=SecretStr(SMSRU_KEY),
    )
    response = bitrix24.install(webhook.server.url + "/bitrix24/install")
    assert response.status_code == 200, response.text
    return webhook


@pytest.fixture
def installed_settings(
    installed: Webhook, settings: Settings, bitrix24: PortalEmulator
) -> Settings:
    """Settings for running flows against the installed portal (as the webhook runs them)."""
    return settings.replace(
        smsru_api_id=SecretStr(SMSRU_KEY),
        bitrix24_client_id=bitrix24.client_id,
        bitrix24_client_secret=SecretStr(bitrix24.client_secret),
        bitrix24_oauth_url=bitrix24.base_url,
    )
