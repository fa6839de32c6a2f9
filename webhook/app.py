"""The webhook application: endpoints that take input, and the workers that act on it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.database import make_async_engine, session_factory
from models.migrate import upgrade
from smsbridge.config import Settings
from smsbridge.logs import redact, register_secret
from smsbridge.registration import callback_path, handler_path
from webhook.handler import bitrix24_handler
from webhook.health import healthz
from webhook.install import bitrix24_install
from webhook.intake_queue import IntakeQueue
from webhook.metrics import metrics
from webhook.problems import problem_response
from webhook.pusher import Pusher, PusherOptions
from webhook.secret import resolve_webhook_secret
from webhook.sender import Sender, SenderOptions
from webhook.smsru_callback import smsru_callback

access_log = logging.getLogger("smsbridge.access")


def create_app(
    settings: Settings,
    *,
    sender_options: SenderOptions | None = None,
    pusher_options: PusherOptions | None = None,
    run_workers: bool = True,
    migrate: bool = True,
) -> Starlette:
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
        state.run_workers = run_workers
        state.sessions = session_factory(engine)
        state.webhook_secret = await resolve_webhook_secret(settings, state.sessions)
        state.intake = IntakeQueue(state.sessions)
        register_secret(state.webhook_secret)
        options = sender_options or SenderOptions()
        async with httpx.AsyncClient(timeout=options.http_timeout()) as http:
            state.http = http
            state.sender = Sender(state.sessions, settings, http, options)
            state.pusher = Pusher(state.sessions, settings, http, pusher_options)
            if run_workers:
                state.sender.start()
                state.pusher.start()
            try:
                yield
            finally:
                await state.sender.stop()
                await state.pusher.stop()
                await engine.dispose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/bitrix24/install", bitrix24_install, methods=["POST"]),
        Route(handler_path("{member_id}", "{secret}"), bitrix24_handler, methods=["POST"]),
        Route(callback_path("{secret}"), smsru_callback, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(405, _method_not_allowed)
    return AccessLog(app)  # type: ignore[return-value]


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
