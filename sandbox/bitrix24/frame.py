"""The portal's page with the app open in its frame, as Bitrix24 opens an app (reference A1, A4).

`GET /` draws a minimal portal around an `<iframe>` and fills it the way Bitrix24 does: a form
POSTed into the frame, with `DOMAIN`, `PROTOCOL`, `LANG`, `APP_SID` in the query and the opening
user's `AUTH_ID`, `AUTH_EXPIRES`, `REFRESH_ID`, `member_id`, `status`, `PLACEMENT=DEFAULT` and
`PLACEMENT_OPTIONS` in the body, to the app's handler URL (`portal.app_url`). Until the app is
installed an admin gets its installer (`portal.installer_url`) instead and everyone else a notice
(A4). `?user=N` opens it as user N (1 is the admin), `?lang=en` in English.

`/api/v1/` serves the sandbox's stand-in for the BX24 library (`bx24.js`), so that an app's
`BITRIX24_JS_URL` can point here where there is no internet; `/_sandbox/portal.js` is this
page's side of it; `POST /_sandbox/app/install-finish` is what `BX24.installFinish()` asks of
the portal (admin only, as the vendor's `set_installed` action).
"""

from __future__ import annotations

import html
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import SplitResult, urlencode, urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.bitrix24.portal import PortalEmulator

HERE = Path(__file__).parent
PAGE = Template((HERE / "portal_page.html").read_text(encoding="utf-8"))
SHIM_PATH = "/api/v1/"
LANGUAGES = ("ru", "en")
MAX_USER_ID = 1_000_000
KEPT_RENDERS = 200  # APP_SIDs remembered for installFinish; older frames are long closed

APP_TITLE = "SMS.ru"


@dataclass(frozen=True, slots=True)
class Texts:
    """The portal's own words around the frame, in one language."""

    admin: str
    user: str
    as_admin: str
    as_user: str
    menu: tuple[str, ...]
    not_installed: str  # what Bitrix24 shows an ordinary user before installFinish (A4)
    no_app: str


TEXTS = {
    "ru": Texts(
        admin="Администратор",
        user="Сотрудник",
        as_admin="как администратор",
        as_user="как сотрудник",
        menu=("CRM", "Задачи и проекты", "Маркетинг", "Сотрудники", "Приложения"),
        not_installed="Приложение ещё не полностью установлено. Обратитесь к администратору.",
        no_app="Эмулятор не знает адреса приложения (portal.app_url): запустите `make run`.",
    ),
    "en": Texts(
        admin="Administrator",
        user="Employee",
        as_admin="as admin",
        as_user="as employee",
        menu=("CRM", "Tasks and projects", "Marketing", "Employees", "Applications"),
        not_installed="The application is not fully installed yet. Contact your administrator.",
        no_app="The emulator does not know the app's address (portal.app_url): run `make run`.",
    ),
}


@dataclass(frozen=True, slots=True)
class Render:
    """One opening of the app: who opened it (installFinish is an admin's), in what language."""

    user_id: int
    admin: bool
    lang: str
    name: str


class Renders:
    """APP_SID → the opening it was made for, the latest `KEPT_RENDERS` of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._renders: OrderedDict[str, Render] = OrderedDict()

    def add(self, sid: str, render: Render) -> None:
        with self._lock:
            self._renders[sid] = render
            while len(self._renders) > KEPT_RENDERS:
                self._renders.popitem(last=False)

    def get(self, sid: str) -> Render | None:
        with self._lock:
            return self._renders.get(sid)


def frame_routes(portal: PortalEmulator) -> list[Route]:
    renders = Renders()

    async def page(request: Request) -> Response:
        lang = request.query_params.get("lang", "ru")
        raw_user = request.query_params.get("user", "1")
        if lang not in LANGUAGES:
            return _plain(f"lang must be one of {', '.join(LANGUAGES)}", 400)
        if not raw_user.isascii() or not raw_user.isdigit() or not 0 < int(raw_user) <= MAX_USER_ID:
            return _plain(f"user must be a user id from 1 to {MAX_USER_ID}", 400)
        try:
            query, form = portal.frame_fields(int(raw_user), lang=lang)
        except LookupError as exc:
            return _plain(str(exc), 404)
        profile = portal.execute("profile", {}, int(raw_user)).result
        name = f"{profile['NAME']} {profile['LAST_NAME']}"
        render = Render(int(raw_user), bool(profile["ADMIN"]), lang, name)
        target = portal.app_url if portal.installed else portal.installer_url
        if target is None:
            return _page(portal, render, _notice(TEXTS[lang].no_app, "alert"), 503)
        if not portal.installed and not render.admin:
            return _page(portal, render, _notice(TEXTS[lang].not_installed, "warning"))
        renders.add(query["APP_SID"], render)
        served = urlsplit(str(request.base_url))
        return _page(portal, render, _frame(portal, render, target, query, form, served))

    async def shim(_request: Request) -> Response:
        return _script("bx24.js")

    async def portal_script(_request: Request) -> Response:
        return _script("portal_frame.js")

    async def install_finish(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        sid = body.get("sid") if isinstance(body, dict) else None
        render = renders.get(sid) if isinstance(sid, str) else None
        if render is None:
            return JSONResponse({"error": "unknown APP_SID: open the app again"}, 400)
        if not render.admin:
            return JSONResponse({"error": "only an administrator can finish the install"}, 403)
        answer = await anyio.to_thread.run_sync(portal.finish_install)
        event = None if answer is None else answer.status_code
        return JSONResponse({"installed": True, "onappinstall_answer": event})

    return [
        Route("/", page, methods=["GET"]),
        Route(SHIM_PATH, shim, methods=["GET"]),
        Route("/_sandbox/portal.js", portal_script, methods=["GET"]),
        Route("/_sandbox/app/install-finish", install_finish, methods=["POST"]),
    ]


def _frame(
    portal: PortalEmulator,
    render: Render,
    target: str,
    query: dict[str, str],
    form: dict[str, str],
    served: SplitResult,
) -> tuple[str, dict[str, Any]]:
    """The frame and the form that fills it (`portal.frame_fields`); the data the page's script
    answers BX24 with.

    The frame's name tells bx24.js where the portal page is served (`served`), which in the
    sandbox is not the portal's DOMAIN."""
    sid = query["APP_SID"]
    name = f"{served.netloc}|{int(served.scheme == 'https')}|{sid}"
    action = f"{target}{'&' if '?' in target else '?'}{urlencode(query)}"
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
        for key, value in form.items()
    )
    markup = (
        f'<iframe id="app-frame" name="{html.escape(name)}" title="{APP_TITLE}"></iframe>'
        f'<form id="app-form" method="post" target="{html.escape(name)}"'
        f' action="{html.escape(action)}">{inputs}</form>'
    )
    data = {
        "sid": sid,
        "app_origin": _origin(target),
        "init": {
            "LANG": render.lang,
            "DOMAIN": query["DOMAIN"],
            "PROTOCOL": int(query["PROTOCOL"]),
            "APP_SID": sid,
            "AUTH_ID": form["AUTH_ID"],
            "AUTH_EXPIRES": int(form["AUTH_EXPIRES"]),
            "REFRESH_ID": form["REFRESH_ID"],
            "MEMBER_ID": form["member_id"],
            "IS_ADMIN": render.admin,
            "INSTALL": not portal.installed,
            "PLACEMENT": form["PLACEMENT"],
        },
    }
    return markup, data


def _notice(text: str, kind: str) -> tuple[str, dict[str, Any]]:
    return f'<div class="notice {kind}" id="portal-notice">{html.escape(text)}</div>', {}


def _page(
    portal: PortalEmulator, render: Render, content: tuple[str, dict[str, Any]], status: int = 200
) -> HTMLResponse:
    texts, lang = TEXTS[render.lang], render.lang
    markup, data = content
    who = f"{render.name} ({texts.admin if render.admin else texts.user})"
    users = ((texts.as_admin, 1), (texts.as_user, 2))
    switches = [_link(label, user, lang, user == render.user_id) for label, user in users]
    switches += [_link(code.upper(), render.user_id, code, code == lang) for code in LANGUAGES]
    menu = "".join(f"<div>{html.escape(item)}</div>" for item in texts.menu)
    page = PAGE.substitute(
        lang=lang,
        app_title=APP_TITLE,
        domain=html.escape(portal.domain),
        user_name=html.escape(who),
        switches=" ".join(switches),
        menu=f'{menu}<div class="active">{APP_TITLE}</div>',
        content=markup,
        frame_data=json.dumps(data).replace("<", "\\u003c"),  # nothing closes the <script>
    )
    return HTMLResponse(page, status_code=status)


def _link(label: str, user_id: int, lang: str, current: bool) -> str:
    """A link to this page as another user or in another language."""
    css = ' class="current"' if current else ""
    query = html.escape(urlencode({"user": user_id, "lang": lang}))
    return f'<a{css} href="/?{query}">{html.escape(label)}</a>'


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _script(name: str) -> Response:
    return Response(
        (HERE / name).read_text(encoding="utf-8"),
        media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status_code=status, media_type="text/plain; charset=utf-8")
