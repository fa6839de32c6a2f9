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
from sqlalchemy.engine import make_url
from sqlmodel import Session
from support import APPLICATION_TOKEN, MEMBER_ID, RECORDED, SECRET, SMSRU_KEY, Webhook
from support.options import FAST, FAST_PUSH

from models import Portal
from models.database import make_sync_engine
from models.migrate import upgrade
from sandbox.bitrix24.app import create_app as create_portal_app
from sandbox.bitrix24.authserver import AuthorizationServer, create_authorization_app
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.server import BackgroundServer, bound_socket
from sandbox.smsru import SmsRuEmulator
from sandbox.smsru import create_app as create_smsru_app
from smsbridge.config import Settings, load_settings
from webhook.app import create_app
from webhook.pusher import PusherOptions
from webhook.sender import SenderOptions

TABLES = ("status_log", "consent", "stop_list", "messages", "portals", "settings", "checkpoints")

# Scenario suites: real processes, campaigns, fuzzing, a real browser.
SLOW_SUITES = ("e2e", "faults", "hostile", "browser")

# Seconds Prefect's temporary server may take to start: 27-38 s in CI (both passes side by side on
# 2 cores), 61 s once with more beside them.
HARNESS_START = 180


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-only",
        action="store_true",
        help="run only the tests that use the test database (`DATABASE_URL`'s): CI's PostgreSQL "
        "pass, after a full pass on SQLite; the others would run exactly as they did there",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the scenario suites and every test that starts the Prefect server `slow`, by where
    they are and what they use (not by hand), so `make test-fast` skips them; CI runs all.
    With `--database-only`, leave out the tests whose fixtures never reach `database_url`.
    The slow ones run first, those allowed the longest timeout before them: with several test
    processes the long scenarios start at once, side by side, and short tests fill in behind.
    A test of the Prefect server is allowed the server's start on top of its own time; those tests
    share one test process, so that a pass starts one Prefect server, not one per process."""
    tests = Path(__file__).parent
    for item in items:
        suite = item.path.relative_to(tests).parts[0] if tests in item.path.parents else ""
        harnessed = "prefect_harness" in getattr(item, "fixturenames", ())
        if suite in SLOW_SUITES or harnessed:
            item.add_marker(pytest.mark.slow)
        if harnessed:  # one test process starts the server and runs them all (`--dist loadgroup`)
            item.add_marker(pytest.mark.xdist_group("prefect"))
        if harnessed and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(HARNESS_START + 120))  # its first test starts it
    items.sort(key=_longest_first)
    if config.getoption("database_only"):
        uses = {item: "database_url" in getattr(item, "fixturenames", ()) for item in items}
        config.hook.pytest_deselected(items=[item for item, used in uses.items() if not used])
        items[:] = [item for item, used in uses.items() if used]


def _longest_first(item: pytest.Item) -> tuple[bool, float]:
    timeout = item.get_closest_marker("timeout")
    allowed = float(timeout.args[0]) if timeout is not None and timeout.args else 0.0
    return item.get_closest_marker("slow") is None, -allowed


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    """SQLite in the session's temporary folder, or `DATABASE_URL`'s PostgreSQL emptied; with
    several test processes (pytest-xdist) each has a database of its own beside that one."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 't.db'}"
    if url.startswith("postgresql") and worker_id != "master":
        url = worker_database(url, worker_id)
    engine = make_sync_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    return url


def worker_database(url: str, worker_id: str) -> str:
    """`url`'s database with the worker's name appended, created on first use."""
    shared = make_url(url)
    name = f"{shared.database}_{worker_id}"
    engine = make_sync_engine(shared).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return shared.set(database=name).render_as_string(hide_password=False)


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
    emulator.recipients_at(12)  # marketing goes with daytime=1: whatever the hour, it is day
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
        sock = bound_socket()  # its port is in the app's public URL
        port = sock.getsockname()[1]
        configured = settings.replace(public_url=f"http://127.0.0.1:{port}", **overrides)
        app = create_app(  # the session fixture has migrated the database
            configured, sender_options=options, pusher_options=pusher, migrate=False
        )
        server = BackgroundServer(app, sock=sock)
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
    assert RECORDED.is_dir(), f"the recorded API payloads are missing: {RECORDED}"
    return RECORDED


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server for the whole session (slow to start: only flow tests ask)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=HARNESS_START):
        yield


@pytest.fixture
def authorization() -> Iterator[AuthorizationServer]:
    """An emulated Bitrix24 authorization server on loopback, apart from the portals it serves."""
    server = AuthorizationServer()
    with BackgroundServer(create_authorization_app(server)) as background:
        server.base_url = background.url
        yield server


@pytest.fixture
def serve_portal(authorization: AuthorizationServer) -> Iterator[Callable[..., PortalEmulator]]:
    """Start another emulated portal (REST, queue server) served by `authorization`."""
    servers: list[BackgroundServer] = []

    def serve(**options: object) -> PortalEmulator:
        emulator = authorization.add(PortalEmulator(**options))  # type: ignore[arg-type]
        server = BackgroundServer(create_portal_app(emulator))
        server.start()
        servers.append(server)
        emulator.base_url = server.url
        return emulator

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture
def bitrix24(serve_portal: Callable[..., PortalEmulator]) -> PortalEmulator:
    """An emulated Bitrix24 portal (REST, queue server; OAuth at its `oauth_url`) on loopback."""
    return serve_portal(application_token=APPLICATION_TOKEN)


@pytest.fixture
def installed(
    start_webhook: Callable[..., Webhook], bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> Webhook:
    """The webhook, with the emulated portal installed through the real install endpoint."""
    webhook = start_webhook(
        bitrix24_client_id=bitrix24.client_id,
        bitrix24_client_secret=SecretStr(bitrix24.client_secret),
        bitrix24_oauth_url=bitrix24.oauth_url,
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
        bitrix24_oauth_url=bitrix24.oauth_url,
    )
