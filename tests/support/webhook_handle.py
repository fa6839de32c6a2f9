"""A handle on the running webhook: post to it, and look at its database."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Message
from sandbox.bitrix24.messages import FORM_CONTENT_TYPE, Author, Module, encode, message_fields
from sandbox.server import BackgroundServer
from smsbridge.endpoints import portal_handler_path
from support.identities import APPLICATION_TOKEN, MEMBER_ID, SECRET
from support.waiting import wait_for


class Webhook:
    """The running webhook, and what a test needs to talk to it and look at its database."""

    def __init__(self, server: BackgroundServer, engine: Engine) -> None:
        self.server = server
        self.engine = engine
        self.http = httpx.Client(base_url=server.url, timeout=10.0)

    @property
    def handler_url(self) -> str:
        return portal_handler_path(MEMBER_ID, SECRET)

    def post_message(
        self,
        module: Module = "crm",
        phone: str = "+79255070602",
        text: str = "Ваш заказ №1 принят",
        *,
        author: bool = True,
        **options: object,
    ) -> httpx.Response:
        writer = Author(MEMBER_ID, APPLICATION_TOKEN) if author else None
        fields = message_fields(module, phone, text, author=writer, **options)  # type: ignore[arg-type]
        return self.post_form(encode(fields))

    def post_form(self, body: bytes, path: str | None = None) -> httpx.Response:
        headers = {"Content-Type": FORM_CONTENT_TYPE}
        return self.http.post(path or self.handler_url, content=body, headers=headers)

    def messages(self) -> list[Message]:
        with Session(self.engine) as session:
            return list(session.exec(select(Message).order_by(Message.id)).all())

    def wait_for(
        self, condition: Callable[[], bool], timeout: float = 15.0, interval: float | None = None
    ) -> None:
        wait_for(condition, timeout, interval=interval)

    def wait_until_settled(self, timeout: float = 15.0) -> list[Message]:
        """Wait until no message is queued or being sent; the messages then."""
        self.wait_for(
            lambda: all(m.state not in ("queued", "sending") for m in self.messages()), timeout
        )
        return self.messages()
