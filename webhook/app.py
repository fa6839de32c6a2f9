"""The webhook application: endpoints that take input, and the workers that act on it.

Both run in one process (`smsbridge webhook`) or apart, as process roles: intake replicas
(`smsbridge webhook --no-workers`) and worker processes (`smsbridge worker`) sharing PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.database import make_async_engine, session_factory
from models.migrate import upgrade
from smsbridge.config import Settings
from smsbridge.endpoints import (
    INSTALL_PATH,
    UNINSTALL_PATH,
    UPDATE_PATH,
    callback_path,
    handler_path,
)
from smsbridge.logs import redact, register_secret
from smsbridge.portals.registration import register_legacy
from smsbridge.secret import resolve_webhook_secret
from webhook import wakeups
from webhook.handler import bitrix24_handler
from webhook.health import healthz
from webhook.install import bitrix24_install
from webhook.intake import IntakeQueue
from webhook.lanes import SendLanes
from webhook.lifecycle import bitrix24_uninstall, bitrix24_update
from webhook.metrics import metrics
from webhook.page.routes import page_routes
from webhook.problems import problem_response
from webhook.pusher import Pusher, PusherOptions
from webhook.sender import SenderOptions
from webhook.smsru_callback import smsru_callback

access_log = logging.getLogger("smsbridge.access")


def create_app(
    settings: Settings,
    *,
    sender_options: SenderOptions | None = None,
    pusher_options: PusherOptions | None = None,
    intake: bool = True,
    workers: bool = True,
    migrate: bool = True,
) -> Starlette:
    """`intake`: the Bitrix24 and SMS.ru endpoints; `workers`: the sender and the pusher in this
    process. `smsbridge webhook` is both, `webhook --no-workers` intake only, `smsbridge worker`
    the workers only; every role answers `/healthz` and `/metrics`."""
    if not (intake or workers):
        raise ValueError("an app with neither intake nor workers would do nothing")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for secret in settings.secrets():
            register_secret(secret)
        if migrate:
            import anyio.to_thread

            await anyio.to_thread.run_sync(upgrade, settings.database)
        engine = make_async_engine(settings.database)
        state = app.state
        state.settings = settings
        state.sessions = session_factory(engine)
        # Every role knows it: intake checks URLs with it, workers re-register old HANDLERs.
        state.webhook_secret = await resolve_webhook_secret(settings, state.sessions)
        register_secret(state.webhook_secret)
        if intake:
            state.intake = IntakeQueue(state.sessions)
        options = sender_options or SenderOptions()
        async with httpx.AsyncClient(timeout=options.http_timeout()) as http:
            state.http = http
            state.workers = {}
            if workers:
                state.workers = {
                    "sender": SendLanes(state.sessions, settings, http, options),
                    "pusher": Pusher(state.sessions, settings, http, pusher_options),
                }
            background: list[asyncio.Task[Any]] = [*_wake_ups(state, settings)]
            for worker in state.workers.values():
                worker.start()
            if workers:  # providers still on the HANDLER of before per-portal secrets
                background.append(
                    asyncio.create_task(
                        register_legacy(state.sessions, settings, http, state.webhook_secret)
                    )
                )
            try:
                yield
            finally:
                for worker in state.workers.values():
                    await worker.stop()
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
                await engine.dispose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if intake:
        routes += [
            Route(INSTALL_PATH, bitrix24_install, methods=["POST"]),
            *page_routes(),
            Route(UNINSTALL_PATH, bitrix24_uninstall, methods=["POST"]),
            Route(UPDATE_PATH, bitrix24_update, methods=["POST"]),
            Route(handler_path("{member_id}", "{secret}"), bitrix24_handler, methods=["POST"]),
            Route(callback_path("{secret}"), smsru_callback, methods=["POST"]),
        ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(405, _method_not_allowed)
    return AccessLog(app)  # type: ignore[return-value]


def _wake_ups(state: State, settings: Settings) -> list[asyncio.Task[None]]:
    """Set `state.wake_sender` and `state.wake_pusher`, which intake calls after a commit: the
    workers' own `wake` when they run here; on PostgreSQL a NOTIFY when they run elsewhere, and a
    LISTEN wherever they run; on SQLite, with no workers here, nothing (their idle poll finds it).
    The background tasks that carry the wake-ups, if any."""
    url = settings.database
    if state.workers:
        state.wake_sender = state.workers["sender"].wake
        state.wake_pusher = state.workers["pusher"].wake
        if not wakeups.supported(url):
            return []
        listener = wakeups.Listener(
            url, {wakeups.SENDER: state.wake_sender, wakeups.PUSHER: state.wake_pusher}
        )
        return [asyncio.create_task(listener.run(), name="wake-up listener")]
    if not wakeups.supported(url):
        state.wake_sender = state.wake_pusher = _no_wake_up
        return []
    notifier = wakeups.Notifier(url)
    state.wake_sender = notifier.waker(wakeups.SENDER)
    state.wake_pusher = notifier.waker(wakeups.PUSHER)
    return [asyncio.create_task(notifier.run(), name="wake-up notifier")]


def _no_wake_up() -> None:
    """SQLite, workers in another process: they look at the outbox on their own."""


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem_response(404, "no such endpoint")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    response = problem_response(405, f"{request.method} is not allowed here")
    response.headers.update(getattr(exc, "headers", None) or {})  # Allow: …
    return response


class AccessLog:
    """One line per request, with the secrets in the path masked (uvicorn's own log is off)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __getattr__(self, name: str) -> object:
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            access_log.info("%s %s %s", scope["method"], redact(scope["path"]), status)
