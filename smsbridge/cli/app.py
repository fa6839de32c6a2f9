"""`smsbridge …`: the command line of the service."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlmodel import Session

from clients.bitrix24.errors import Bitrix24Error, OAuthError
from clients.smsru.errors import SmsRuError
from models import Portal
from models.database import make_sync_engine
from models.migrate import upgrade
from models.types import utcnow
from smsbridge import logs
from smsbridge.cli.common import (
    EXIT_FAILED,
    TYPER_STYLE,
    console,
    database_name,
    fail,
    require_schema,
    settings_or_exit,
)
from smsbridge.cli.flow_run import flow_app
from smsbridge.cli.normalize import normalize
from smsbridge.cli.policy import consent_app, portal_set
from smsbridge.cli.portal import check_smsru_key, forget
from smsbridge.cli.report import report
from smsbridge.cli.sandbox import sandbox_app
from smsbridge.cli.stop_list import stop_list_app
from smsbridge.cli.template import template_app
from smsbridge.cli.validate_broadcast import validate_broadcast
from smsbridge.config import Settings
from smsbridge.portals.lookup import find_or_none, installed
from smsbridge.portals.registration import Registration
from smsbridge.portals.registration import register as register_portal
from smsbridge.portals.retired_keys import retire_replaced_key
from smsbridge.portals.tokens import PortalNotAuthorized, why_not_callable
from smsbridge.runtime import runtime
from smsbridge.secret import resolve_webhook_secret

app = typer.Typer(help="SMS.ru as an SMS provider inside Bitrix24.", **TYPER_STYLE)
db_app = typer.Typer(help="The database.", **TYPER_STYLE)
portal_app = typer.Typer(help="Bitrix24 portals.", **TYPER_STYLE)
app.add_typer(db_app, name="db")
app.add_typer(portal_app, name="portal")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(flow_app, name="flow")
app.add_typer(stop_list_app, name="stop-list")
app.add_typer(consent_app, name="consent")
app.add_typer(template_app, name="template")
portal_app.command("set")(portal_set)
app.command(name="validate-broadcast")(validate_broadcast)
app.command(name="normalize")(normalize)
app.command(name="report")(report)
portal_app.command(name="forget")(forget)

_settings = settings_or_exit


@app.command()
def webhook(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        bool,
        typer.Option(
            "--workers/--no-workers",
            help="Run the sender and the pusher in this process too. With --no-workers: HTTP "
            "intake only; `smsbridge worker` processes on the same database send and push.",
        ),
    ] = True,
) -> None:
    """Run the webhook (Bitrix24 handler, SMS.ru callbacks), with its sender and pusher."""
    _serve(host, port, intake=True, workers=workers)


@app.command()
def worker(
    host: Annotated[str, typer.Option(help="Interface for /healthz and /metrics.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for /healthz and /metrics.")] = 8100,
) -> None:
    """Run the sender and the pusher only: no intake; /healthz and /metrics on HOST:PORT."""
    _serve(host, port, intake=False, workers=True)


def _serve(host: str, port: int, *, intake: bool, workers: bool) -> None:
    import uvicorn  # the server's, loaded by the commands that serve only

    from webhook.app import create_app

    settings = _settings()
    logs.configure()
    application = create_app(settings, intake=intake, workers=workers)
    uvicorn.run(application, host=host, port=port, access_log=False, log_config=None)


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Interface for the webhook.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the webhook.")] = 8000,
    prefect: Annotated[
        bool, typer.Option(help="Also run the Prefect server and the flow deployments.")
    ] = True,
    prefect_port: Annotated[int, typer.Option(help="Port for the Prefect server.")] = 4200,
    smsru_port: Annotated[int, typer.Option(help="Port for the sandbox SMS.ru.")] = 8001,
    portal_port: Annotated[int, typer.Option(help="Port for the sandbox portal.")] = 8002,
) -> None:
    """Everything in the foreground (Prefect, flows, webhook; the sandbox without credentials)."""
    from smsbridge.cli.instance import AlreadyRunning, Ports
    from smsbridge.cli.supervise import StackError, run_stack

    ports = Ports(port, prefect_port, smsru_port, portal_port)
    try:
        run_stack(_settings(), host, ports, prefect=prefect)
    except (AlreadyRunning, StackError) as exc:
        fail(str(exc))


@app.command()
def register(
    member_id: Annotated[str, typer.Argument(help="The installed portal's member_id.")],
) -> None:
    """Register SMS.ru as the portal's SMS provider and our SMS.ru callback URL, again."""
    settings = _settings()
    logs.configure()
    upgrade(settings.database)
    try:
        done = asyncio.run(_register(settings, member_id))
    except (LookupError, Bitrix24Error, OAuthError, SmsRuError, PortalNotAuthorized) as exc:
        console.print(f"[red]registration failed: {exc}[/red]")
        raise typer.Exit(EXIT_FAILED) from None
    console.print(f"provider {done.provider}; SMS.ru callback: {done.smsru_callback}")


async def _register(settings: Settings, member_id: str) -> Registration:
    """Each read and write its own short transaction: none is held across the calls to the
    portal and SMS.ru, nor while another session waits (on SQLite that was a self-deadlock)."""
    async with runtime(settings) as rt:
        async with rt.sessions() as session:
            [portal] = await installed(session, member_id)
        secret = await resolve_webhook_secret(settings, rt.sessions)
        return await register_portal(rt.sessions, settings, rt.http, portal, secret)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the tables to the current schema."""
    settings = _settings()
    upgrade(settings.database)
    console.print(f"database {database_name(settings)} is current")


@portal_app.command("add")
def portal_add(
    member_id: Annotated[str, typer.Argument(help="The portal's Bitrix24 member_id.")],
    domain: Annotated[str, typer.Option(help="The portal's domain.")] = "",
    smsru_api_id: Annotated[
        str | None, typer.Option(help="The portal's own SMS.ru key (else SMSRU_API_ID).")
    ] = None,
    sender: Annotated[str | None, typer.Option(help="The portal's SMS.ru sender name.")] = None,
) -> None:
    """Store a portal by hand (the install endpoint does this for real portals).

    A new SMS.ru key is checked with SMS.ru first, and our callback registered on its account."""
    settings = _settings()
    upgrade(settings.database)
    callback = check_smsru_key(settings, smsru_api_id) if smsru_api_id else None
    asyncio.run(_add(settings, member_id, domain, smsru_api_id, sender))
    console.print(
        f"portal {member_id} stored" + (f"; SMS.ru callback: {callback}" if callback else "")
    )


async def _add(
    settings: Settings, member_id: str, domain: str, smsru_api_id: str | None, sender: str | None
) -> None:
    async with runtime(settings) as rt, rt.sessions() as session:
        portal = await find_or_none(session, member_id) or Portal(member_id=member_id)
        portal.domain = domain or portal.domain
        if smsru_api_id:
            await retire_replaced_key(session, portal, smsru_api_id)
            portal.smsru_api_id = smsru_api_id
        portal.smsru_sender = sender or portal.smsru_sender
        portal.updated_at = utcnow()
        session.add(portal)
        await session.commit()


@portal_app.command("list")
def portal_list() -> None:
    """The stored portals: can we send for them, and can we tell Bitrix24 the statuses."""
    settings = _settings()
    require_schema(settings)
    console.print(f"portals in {database_name(settings)}")
    engine = make_sync_engine(settings.database)
    table = Table("member_id", "domain", "own SMS.ru key", "sending", "Bitrix24")
    with Session(engine) as session:
        for portal in session.exec(select(Portal).order_by(Portal.id)).scalars():
            sending = "ok"
            if portal.pause_reason:
                until = (
                    portal.paused_until.isoformat(timespec="seconds") if portal.paused_until else ""
                )
                sending = f"paused until {until}: {portal.pause_reason}"
            bitrix24 = why_not_callable(portal) or "ok"
            table.add_row(
                portal.member_id,
                portal.domain,
                "yes" if portal.smsru_api_id else "no",
                sending,
                bitrix24,
            )
    engine.dispose()
    Console().print(table)
