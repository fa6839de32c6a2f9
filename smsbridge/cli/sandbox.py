"""`smsbridge sandbox …`: act as a Bitrix24 user in the sandbox portal and watch what happens."""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smsbridge.cli.common import TYPER_STYLE
from smsbridge.cli.instance import Ports, running
from smsbridge.cli.sandbox_outcome import accepted_by_smsru, why_not_delivered
from smsbridge.status.states import FINAL_BITRIX24_STATUSES

sandbox_app = typer.Typer(
    help="Drive the sandbox portal (started by `smsbridge run`).", **TYPER_STYLE
)
console = Console(soft_wrap=True)
PortalUrl = Annotated[
    str | None,
    typer.Option(help="The sandbox portal (default: the one `smsbridge run` runs here)."),
]
MOSCOW = ZoneInfo("Europe/Moscow")
DAYTIME_STARTS, DAYTIME_ENDS = 10, 20  # SMS.ru's daytime=1 window, the recipients' hours
# The portal POSTs the message to our HANDLER before it answers; it gives up after 10 s.
SEND_TIMEOUT = 15.0


def _portal_url(given: str | None) -> str:
    if given:
        return given
    instance = running()
    return f"http://127.0.0.1:{(instance.ports if instance else Ports()).portal}"


@sandbox_app.command()
def send(
    phone: Annotated[str, typer.Argument(help="Recipient, e.g. +79255070602.")],
    text: Annotated[str, typer.Argument(help="Message text.")],
    module: Annotated[
        str, typer.Option(help="Sent as: crm (card), bizproc (robot), sender.")
    ] = "crm",
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the portal, then for a final status.")
    ] = 60.0,
    portal: PortalUrl = None,
) -> None:
    """Send one message from the sandbox portal and follow it to its final status; exit 1
    (with SMS.ru's reason) unless it is delivered."""
    if module not in ("crm", "bizproc", "sender"):
        _fail("--module must be crm, bizproc or sender", 2)
    with httpx.Client(base_url=_portal_url(portal), timeout=min(SEND_TIMEOUT, timeout)) as http:
        message_id = _send(http, module, phone, text)
        console.print(f"portal queued message {message_id}; Bitrix24 shows it as [cyan]sent[/cyan]")
        started, seen = time.monotonic(), "sent"
        while time.monotonic() - started < timeout:
            status = _status(http, message_id)
            if status != seen:
                console.print(
                    f"{time.monotonic() - started:6.1f} s  portal shows [bold]{status}[/bold]"
                )
                seen = status
            if status == "delivered":
                return
            if status in FINAL_BITRIX24_STATUSES:
                _fail(f"not delivered: {why_not_delivered(message_id) or 'no reason recorded'}")
            time.sleep(0.2)
    _fail(f"no final status within {timeout:.0f} s")


@sandbox_app.command()
def campaign(
    count: Annotated[int, typer.Option(help="How many recipients.")] = 20,
    text: Annotated[str, typer.Option(help="Message text.")] = "Распродажа до пятницы: −20%",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for final statuses.")] = 120.0,
    portal: PortalUrl = None,
) -> None:
    """A small CRM-marketing campaign from the sandbox portal, with progress to the last status."""
    if count < 1:
        _fail("--count must be at least 1", 2)
    phones = [f"+7916{random.randrange(10**7):07d}" for _ in range(count)]
    outcome: dict[str, str] = {}
    with (
        httpx.Client(base_url=_portal_url(portal), timeout=SEND_TIMEOUT) as http,
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
        held: set[str] = set()
        while len(outcome) + len(held) < count and time.monotonic() - started < timeout:
            if _night_for_recipients():
                held = accepted_by_smsru([i for i in ids if i not in outcome])
            for message_id in ids:
                if message_id not in outcome:
                    status = _status(http, message_id)
                    if status in FINAL_BITRIX24_STATUSES:
                        outcome[message_id] = status
                        progress.advance(final)
            time.sleep(0.2)
    counts = {status: list(outcome.values()).count(status) for status in FINAL_BITRIX24_STATUSES}
    console.print("campaign: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    if held:
        console.print(
            f"{len(held)} accepted by SMS.ru and held until 10:00 the recipients' time: marketing"
            " goes with daytime=1, so its statuses come in the morning"
        )
    if len(outcome) + len(held) < count:
        _fail(f"{count - len(outcome)} without a final status")


def _night_for_recipients() -> bool:
    """Whether SMS.ru holds marketing now (daytime=1: 20:00 to 10:00 where the sandbox's
    recipients are, Moscow)."""
    hour = datetime.now(MOSCOW).hour
    return not DAYTIME_STARTS <= hour < DAYTIME_ENDS


def _send(http: httpx.Client, module: str, phone: str, text: str) -> str:
    answer = _call(http, "POST", "/_sandbox/send", {"module": module, "phone": phone, "text": text})
    if answer.status_code != 200:
        _fail(f"the portal refused: {answer.json().get('error')}")
    body = answer.json()
    handler = body.get("handler_answer")
    if handler != 200:
        reason = why_not_delivered(body["message_id"]) or f"our HANDLER answered {handler}"
        console.print(f"[red]smsbridge did not take the message: {escape(reason)}[/red]")
    return str(body["message_id"])


def _status(http: httpx.Client, message_id: str) -> str:
    return str(_call(http, "GET", f"/_sandbox/messages/{message_id}").json()["status"])


def _call(
    http: httpx.Client, method: str, path: str, body: dict[str, str] | None = None
) -> httpx.Response:
    """One request to the sandbox portal; a one-line reason and exit 1 when it fails."""
    try:
        return http.request(method, path, json=body)
    except httpx.ConnectError:
        _fail(f"no sandbox portal at {http.base_url}: is `make run` running in this directory?")
    except httpx.TimeoutException:
        _fail(
            f"the sandbox portal did not answer within {http.timeout.read:.0f} s: our webhook is "
            "slow to take the message (see the log of `make run`)"
        )
    except httpx.HTTPError as exc:
        _fail(f"the sandbox portal at {http.base_url} failed: {type(exc).__name__}: {exc}")


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)
