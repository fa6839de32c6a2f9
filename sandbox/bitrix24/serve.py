"""The portal emulator as the sandbox runs it: REST, queue server and the control routes, with
its authorization server apart under `/oauth-server` (its own base URL, as a real one has)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox.bitrix24.app import create_app
from sandbox.bitrix24.authserver import AuthorizationServer, create_authorization_app
from sandbox.bitrix24.control import control_routes
from sandbox.bitrix24.frame import frame_routes
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.seed import seed_crm
from sandbox.server import BackgroundServer

AUTHORIZATION_PATH = "/oauth-server"


def portal_app(
    portal: PortalEmulator, authorization: AuthorizationServer, *, control: bool = False
) -> Starlette:
    """One app for a portal and its authorization server; `served_at` once it has a URL. With
    `control`, the sandbox's own routes too: the portal's page with the app in its frame, the
    BX24 stand-in, and what `smsbridge sandbox` drives."""
    authorization.add(portal)
    return Starlette(
        routes=[
            *(control_routes(portal) + frame_routes(portal) if control else []),
            Mount(AUTHORIZATION_PATH, create_authorization_app(authorization)),
            Mount("/", create_app(portal)),
        ]
    )


def served_at(portal: PortalEmulator, authorization: AuthorizationServer, url: str) -> None:
    portal.base_url = url
    authorization.base_url = url + AUTHORIZATION_PATH


def start_portal(port: int | None = None) -> tuple[PortalEmulator, BackgroundServer]:
    """The portal; its authorization server is at `portal.oauth_url`."""
    portal, authorization = PortalEmulator(), AuthorizationServer()
    seed_crm(portal)
    server = BackgroundServer(portal_app(portal, authorization, control=True), port=port)
    server.start()
    served_at(portal, authorization, server.url)
    return portal, server
