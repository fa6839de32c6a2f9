"""The portal emulator as the sandbox runs it: REST, OAuth, queue server and the control routes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox.bitrix24.app import create_app
from sandbox.bitrix24.control import control_routes
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.server import BackgroundServer


def start_portal(port: int | None = None) -> tuple[PortalEmulator, BackgroundServer]:
    portal = PortalEmulator()
    app = Starlette(routes=[*control_routes(portal), Mount("/", create_app(portal))])
    server = BackgroundServer(app, port=port)
    server.start()
    portal.base_url = server.url
    return portal, server
