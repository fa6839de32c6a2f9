"""`smsbridge sandbox …`: act as a Bitrix24 user in the sandbox portal and watch what happens."""

from __future__ import annotations

import random
import time
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smsbridge.stack import PORTAL_PORT

sandbox_app = typer.Typer(help="Drive the sandbox portal (started by `smsbridge run`).")
console = Console()
FINAL = ("delivered", "undelivered", "failed")
PortalUrl = Annotated[str, typer.Option(help="The sandbox portal emulator.")]
DEFAULT_PORTAL = f"http://127.0.0.1:{PORTAL_PORT}"


@sandbox_app.command()
def send(
    phone: Annotated[str, typer.Argument(help="Recipient, e.g. +79255070602.")],
    text: Annotated[str, typer.Argument(help="Message text.")],
    module: Annotated[
        str, typer.Option(help="Sent as: crm (card), bizproc (robot), sender.")
    ] = "crm",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a final status.")] = 60.0,
    portal: PortalUrl = DEFAULT_PORTAL,
) -> None:
    """Send one message from the sandbox portal and follow it to its final status."""
    with httpx.Client(base_url=portal, timeout=10.0) as http:
        message_id = _send(http, module, phone, text)
        console.print(f"portal queued message {message_id}; Bitrix24 shows it as [cyan]sent[/cyan]")
        started, seen = time.monotonic(), "sent"
        while time.monotonic() - started < timeout:
            status = http.get(f"/_sandbox/messages/{message_id}").json()["status"]
            if status != seen:
                console.print(
                    f"{time.monotonic() - started:6.1f} s  portal shows [bold]{status}[/bold]"
                )
                seen = status
            if status in FINAL:
                return
            time.sleep(0.2)
    console.print(f"[red]no final status within {timeout:.0f} s[/red]")
    raise typer.Exit(1)


@sandbox_app.command()
def campaign(
    count: Annotated[int, typer.Option(help="How many recipients.")] = 20,
    text: Annotated[str, typer.Option(help="Message text.")] = "Распродажа до пятницы: −20%",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for final statuses.")] = 120.0,
    portal: PortalUrl = DEFAULT_PORTAL,
) -> None:
    """A small CRM-marketing campaign from the sandbox portal, with progress to the last status."""
    phones = [f"+7916{random.randrange(10**7):07d}" for _ in range(count)]
    outcome: dict[str, str] = {}
    with (
        httpx.Client(base_url=portal, timeout=10.0) as http,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        queued = progress.add_task("handed to smsbridge", total=count)
        ids = []
        for phone in phones:
            ids.append(_send(http, "sender", phone, text))
            progress.advance(queued)
        final = progress.add_task("final status in the portal", total=count)
        started = time.monotonic()
        while len(outcome) < count and time.monotonic() - started < timeout:
            for message_id in ids:
                if message_id not in outcome:
                    status = http.get(f"/_sandbox/messages/{message_id}").json()["status"]
                    if status in FINAL:
                        outcome[message_id] = status
                        progress.advance(final)
            time.sleep(0.2)
    counts = {status: list(outcome.values()).count(status) for status in FINAL}
    console.print("campaign: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    if len(outcome) < count:
        console.print(f"[red]{count - len(outcome)} without a final status[/red]")
        raise typer.Exit(1)


def _send(http: httpx.Client, module: str, phone: str, text: str) -> str:
    try:
        answer = http.post("/_sandbox/send", json={"module": module, "phone": phone, "text": text})
    except httpx.ConnectError:
        console.print(f"[red]no sandbox portal at {http.base_url}: is `make run` running?[/red]")
        raise typer.Exit(1) from None
    if answer.status_code != 200:
        console.print(f"[red]the portal refused: {answer.json().get('error')}[/red]")
        raise typer.Exit(1)
    return str(answer.json()["message_id"])
