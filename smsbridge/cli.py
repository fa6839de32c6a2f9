"""`smsbridge …`: the command line of the service."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn
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
from smsbridge.commands.common import (
    EXIT_FAILED,
    console,
    settings_or_exit,
)
from smsbridge.commands.normalize import normalize
from smsbridge.commands.report import report
from smsbridge.commands.sandbox import sandbox_app
from smsbridge.commands.validate_broadcast import validate_broadcast
from smsbridge.config import Settings
from smsbridge.portal_tokens import PortalNotAuthorized
from smsbridge.registration import Registration
from smsbridge.registration import register as register_portal
from smsbridge.runtime import runtime
from webhook.secret import resolve_webhook_secret

app = typer.Typer(help="SMS.ru as an SMS provider inside Bitrix24.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
portal_app = typer.Typer(help="Bitrix24 portals.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(portal_app, name="portal")
app.add_typer(sandbox_app, name="sandbox")
app.command(name="validate-broadcast")(validate_broadcast)
app.command(name="normalize")(normalize)
app.command(name="report")(report)

_settings = settings_or_exit


@app.command()
def webhook(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the webhook (Bitrix24 handler, SMS.ru callbacks) with its sender workers."""
    from webhook.app import create_app

    settings = _settings()
    logs.configure()
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_config=None)


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Interface for the webhook.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the webhook.")] = 8000,
    prefect: Annotated[
        bool, typer.Option(help="Also run the Prefect server and the flow deployments.")
    ] = True,
) -> None:
    """Everything in the foreground (Prefect, flows, webhook; the sandbox without credentials)."""
    from smsbridge.stack import run_stack

    run_stack(_settings(), host, port, prefect=prefect)


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
    async with runtime(settings) as rt, rt.sessions() as session:
        portal = (
            await session.execute(select(Portal).where(Portal.member_id == member_id))
        ).scalar_one_or_none()
        if portal is None:
            raise LookupError(f"no portal {member_id} is stored; install the app first")
        secret = await resolve_webhook_secret(settings, rt.sessions)
        return await register_portal(rt.sessions, settings, rt.http, portal, secret)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the tables to the current schema."""
    settings = _settings()
    upgrade(settings.database)
    console.print(
        f"database at {settings.database.render_as_string(hide_password=True)} is current"
    )


@portal_app.command("add")
def portal_add(
    member_id: Annotated[str, typer.Argument(help="The portal's Bitrix24 member_id.")],
    domain: Annotated[str, typer.Option(help="The portal's domain.")] = "",
    smsru_api_id: Annotated[
        str | None, typer.Option(help="The portal's own SMS.ru key (else SMSRU_API_ID).")
    ] = None,
    sender: Annotated[str | None, typer.Option(help="The portal's SMS.ru sender name.")] = None,
) -> None:
    """Store a portal by hand (the install endpoint does this for real portals)."""
    settings = _settings()
    upgrade(settings.database)
    engine = make_sync_engine(settings.database)
    with Session(engine) as session:
        portal = session.exec(select(Portal).where(Portal.member_id == member_id)).first()
        portal = portal or Portal(member_id=member_id)
        portal.domain = domain or portal.domain
        portal.smsru_api_id = smsru_api_id or portal.smsru_api_id
        portal.smsru_sender = sender or portal.smsru_sender
        portal.updated_at = utcnow()
        session.add(portal)
        session.commit()
    engine.dispose()
    console.print(f"portal {member_id} stored")


@portal_app.command("list")
def portal_list() -> None:
    """The stored portals: can we send for them, and can we tell Bitrix24 the statuses."""
    settings = _settings()
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
            bitrix24 = portal.auth_error or ("ok" if portal.refresh_token else "not installed")
            table.add_row(
                portal.member_id,
                portal.domain,
                "yes" if portal.smsru_api_id else "no",
                sending,
                bitrix24,
            )
    engine.dispose()
    Console().print(table)
