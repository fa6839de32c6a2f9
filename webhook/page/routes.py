"""The app's page as Bitrix24 opens it in its frame, and the forms it posts back.

`POST /bitrix24/app` is believed only after the portal's authorization server vouches for the
frame's AUTH_ID (`smsbridge.frame.visitor`); the page then carries a short-lived signed token
(`smsbridge.frame.token`) in every form and in the test send's status URL, instead of a cookie.
Every answer may be framed by that portal's own origin only (CSP `frame-ancestors`); a refusal,
which names nothing of any portal, by any page. Settings are the admin's: anyone else's POST is
refused 403 and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from clients.bitrix24.errors import Bitrix24Error, OAuthError
from clients.smsru.errors import SmsRuError
from models import Portal
from smsbridge.frame import token as frame_token
from smsbridge.frame.changes import (
    TEST_MODES,
    ChangeRefused,
    change_key,
    change_sender,
    change_test_mode,
    read_policy,
    store,
)
from smsbridge.frame.probe import ProbeRefused, probe_status, queue_probe
from smsbridge.frame.status import portal_status
from smsbridge.frame.token import FrameUser, TokenRefused
from smsbridge.frame.visitor import FrameRefused, frame_auth, verify_installer, verify_visitor
from smsbridge.logs import fields, register_secret
from smsbridge.policy import consent, stop_list
from smsbridge.policy.refusals import CONSENT_REQUIRED
from smsbridge.portals.client import portal_client
from smsbridge.portals.lookup import find_or_none
from smsbridge.portals.registration import register
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.report import wording
from smsbridge.report.analytics_html import analytics_fragment
from smsbridge.report.days import ReportError, check_period
from smsbridge.report.period import period_report
from smsbridge.rules.phones import PhoneError, to_e164
from smsbridge.runtime import Runtime
from smsbridge.templates.check import TemplateCheck, TemplateCheckFailed, check_template
from smsbridge.templates.text import costly_rows, figure_rows, placeholder_rows
from webhook.forms import parse_flat_form, read_form_body
from webhook.install import store_portal
from webhook.page.texts import TEXTS
from webhook.problems import Problem

log = logging.getLogger("smsbridge.page")

APP_PATH = "/bitrix24/app"
MAX_FIELDS = 50
DEFAULT_PERIOD = 7
TEMPLATE_SAMPLE = 50  # CRM items a template box check renders: quick, and within a page's wait
ANYONE = "*"  # CSP frame-ancestors of a refusal (see `_refused`)
NOBODY = "'none'"  # of a page whose portal has no usable origin

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")  # autoescapes .html
templates.env.filters["money"] = wording.money  # `amount | money(lang)`
templates.env.filters["moment"] = wording.moment  # `value | moment(lang, zone)`


def page_routes() -> list[Route]:
    return [
        Route(APP_PATH, open_page, methods=["POST"]),
        Route(f"{APP_PATH}/view", view, methods=["POST"]),
        Route(f"{APP_PATH}/settings", change_settings, methods=["POST"]),
        Route(f"{APP_PATH}/probe", send_probe, methods=["POST"]),
        Route(f"{APP_PATH}/probe/{{pk:int}}", probe, methods=["GET"]),
        Route(f"{APP_PATH}/template", check_text_template, methods=["POST"]),
        Route(f"{APP_PATH}/install", install, methods=["POST"]),
    ]


class Page:
    """One request of the page: who asks (once believed), in which language, for which portal."""

    def __init__(self, request: Request, form: dict[str, str], lang: wording.Lang) -> None:
        self.request = request
        self.state = request.app.state
        self.form = form
        self.lang = lang
        self.portal: Portal | None = None
        self.user: FrameUser | None = None
        self.token = ""

    @classmethod
    async def read(cls, request: Request) -> Page:
        form = await _form(request)
        lang = wording.language(form.get("lang") or request.query_params.get("LANG"))
        return cls(request, form, lang)

    async def believe_token(self) -> None:
        """The token the page carries (form or query): its user and installed portal."""
        given = self.form.get("token") or self.request.query_params.get("token", "")
        try:
            user = frame_token.check(self.state.webhook_secret, given)
        except TokenRefused as exc:
            raise FrameRefused(401, str(exc)) from None
        async with self.state.sessions() as session:
            portal = await find_or_none(session, user.member_id)
        if portal is None or portal.uninstalled_at is not None:
            raise FrameRefused(403, "the app is not installed on this portal")
        self.portal, self.user, self.token = portal, user, given

    def admin_only(self) -> None:
        assert self.user is not None
        if not self.user.admin:
            raise FrameRefused(403, TEXTS[self.lang]["not_admin"])

    async def render(
        self,
        *,
        status_code: int = 200,
        notice: str | None = None,
        error: str | None = None,
        probe: int | None = None,
        template: TemplateCheck | None = None,
    ) -> Response:
        portal, user = self.portal, self.user
        assert portal is not None and portal.id is not None and user is not None
        first, last, period_error = _period(self.form, portal)
        async with self.state.sessions() as session:
            status = await portal_status(session, self.state.http, self.state.settings, portal)
            stopped = await stop_list.entries(session, portal.id)
        analytics, analytics_error = await self._analytics(portal, first, last)
        context: dict[str, Any] = {
            "t": TEXTS[self.lang],
            "lang": self.lang,
            "token": self.token,
            "user": user,
            "portal": portal,
            "status": status,
            "stop_list": stopped,
            "test_mode": next(k for k, v in TEST_MODES.items() if v == portal.smsru_test),
            "notice": notice,
            "error": error or period_error,
            "probe": probe,
            "template": _template_context(self.form, template, self.lang),
            "analytics": analytics,
            "analytics_error": analytics_error,
            "first": first,
            "last": last,
            "js_url": self.state.settings.bitrix24_js_url,
            "app_path": APP_PATH,
        }
        response = templates.TemplateResponse(
            self.request, "page.html", context, status_code=status_code
        )
        return _framable(response, _origin(portal.client_endpoint))

    async def _analytics(self, portal: Portal, first: date, last: date) -> tuple[str, str | None]:
        """The period's analytics fragment (the daily report's own figures), or why not."""
        state = self.state
        rt = Runtime(state.settings, state.sessions, state.http)
        try:
            report = await period_report(rt, portal.member_id, first, last)
        except ReportError as exc:
            return "", str(exc)
        except SQLAlchemyError:
            log.exception("analytics could not be read %s", fields(portal=portal.member_id))
            return "", "the analytics cannot be read now; try again"
        return analytics_fragment(report, self.lang), None


async def open_page(request: Request) -> Response:
    """`POST /bitrix24/app`: Bitrix24 opens the page for a user (form AUTH_ID, member_id, …)."""
    page = await _read_or_refuse(request)
    if isinstance(page, Response):
        return page
    state = request.app.state
    try:
        member_id, auth_id = frame_auth(page.form)
        async with state.sessions() as session:
            portal = await find_or_none(session, member_id)
        visitor = await verify_visitor(state.http, state.settings, portal, auth_id)
    except FrameRefused as exc:
        return _refused(request, page.lang, exc)
    assert portal is not None
    page.portal = portal
    page.token = frame_token.issue(state.webhook_secret, member_id, visitor.user_id, visitor.admin)
    page.user = frame_token.check(state.webhook_secret, page.token)
    return await page.render()


async def view(request: Request) -> Response:
    """The page again, for anyone the token vouches for (e.g. another analytics period)."""
    return await _with_token(request, lambda page: page.render())


async def change_settings(request: Request) -> Response:
    """One settings form (`action`), the admin's only."""

    async def act(page: Page) -> Response:
        page.admin_only()
        try:
            notice = await _apply(page)
        except ChangeRefused as exc:
            return await page.render(status_code=400, error=exc.words(page.lang))
        return await page.render(notice=notice)

    return await _with_token(request, act)


async def send_probe(request: Request) -> Response:
    """A test send to a number (the admin's only); the page then polls its status."""

    async def act(page: Page) -> Response:
        page.admin_only()
        assert page.portal is not None
        try:
            async with page.state.sessions() as session:
                pk = await queue_probe(
                    session, page.portal, page.form.get("phone", ""), page.form.get("text", "")
                )
        except ProbeRefused as exc:
            return await page.render(status_code=400, error=exc.words(page.lang))
        page.state.wake_sender()
        return await page.render(probe=pk)

    return await _with_token(request, act)


async def probe(request: Request) -> Response:
    """`GET …/probe/{pk}?token=…`: the test send's state, as JSON, for the page's poll."""
    page = Page(request, {}, "ru")
    try:
        await page.believe_token()
        page.admin_only()
    except FrameRefused as exc:
        return JSONResponse({"error": exc.reason}, exc.status)
    assert page.portal is not None and page.portal.id is not None
    pk = request.path_params["pk"]
    found = None
    if pk < 2**63:  # larger would not fit the column, and is no test send either
        async with page.state.sessions() as session:
            found = await probe_status(session, page.portal.id, pk)
    if found is None:
        return JSONResponse({"error": "no such test send"}, 404)
    body = {"state": found.state, "final": found.final, "error": found.error}
    return _framable(JSONResponse(body), _origin(page.portal.client_endpoint))


async def check_text_template(request: Request) -> Response:
    """The template box, for anyone the token vouches for: `smsbridge template check` on the
    portal's newest CRM items (read-only; nothing is sent)."""

    async def act(page: Page) -> Response:
        assert page.portal is not None
        state = page.state
        rt = Runtime(state.settings, state.sessions, state.http)
        try:
            check = await check_template(
                rt,
                page.form.get("template_text", ""),
                member_id=page.portal.member_id,
                entity=page.form.get("entity", ""),
                sample=TEMPLATE_SAMPLE,
            )
        except (ValueError, LookupError) as exc:
            return await page.render(status_code=400, error=str(exc))
        except (TemplateCheckFailed, Bitrix24Error, OAuthError, SmsRuError) as exc:
            failed = TEXTS[page.lang]["template_failed"].format(reason=exc)
            return await page.render(status_code=502, error=failed)
        except PortalNotAuthorized as exc:
            return await page.render(status_code=502, error=str(exc))
        return await page.render(template=check)

    return await _with_token(request, act)


def _template_context(
    form: dict[str, str], check: TemplateCheck | None, lang: wording.Lang
) -> dict[str, Any]:
    """What the template box shows: the text and entity asked for, and the check's tables."""
    context: dict[str, Any] = {
        "text": form.get("template_text", ""),
        "entity": form.get("entity", "deal"),
    }
    if check is not None:
        context |= {
            "figures": figure_rows(check, lang),
            "placeholders": placeholder_rows(check, lang),
            "costly": costly_rows(check, lang),
        }
    return context


async def install(request: Request) -> Response:
    """`POST /bitrix24/app/install`: the UI installer, opened in the frame with the same fields.

    Verified on each trusted authorization server in turn; the installer must be an admin. The
    portal and its tokens are stored, registered as the install event does (also binding
    ONAPPINSTALL, which then brings the application_token), then `BX24.installFinish()`."""
    page = await _read_or_refuse(request)
    if isinstance(page, Response):
        return page
    state = request.app.state
    try:
        member_id, auth_id = frame_auth(page.form)
        refresh = page.form.get("REFRESH_ID", "")
        if not refresh or len(refresh) > 255:
            raise FrameRefused(400, "REFRESH_ID is missing or too long")
        register_secret(refresh)
        domain = request.query_params.get("DOMAIN", "")[:255]
        verified = await verify_installer(state.http, state.settings, member_id, auth_id, domain)
    except FrameRefused as exc:
        return _refused(request, page.lang, exc)
    auth = {
        "member_id": member_id,
        "access_token": auth_id,
        "refresh_token": refresh,
        "expires_in": page.form.get("AUTH_EXPIRES", ""),
        "application_token": page.form.get("APPLICATION_TOKEN", "")[:255],
    }
    try:
        portal = await store_portal(state.sessions, auth, verified)
        await register(
            state.sessions,
            state.settings,
            state.http,
            portal,
            state.webhook_secret,
            install_event=True,
        )
    except SQLAlchemyError:
        log.exception("UI install could not be stored")
        return _refused(request, page.lang, FrameRefused(503, "storage unavailable; try again"))
    except (Bitrix24Error, OAuthError, SmsRuError, PortalNotAuthorized) as exc:
        log.error("UI install: registration failed %s", fields(portal=member_id, reason=str(exc)))
        reason = f"the portal is stored, but registration failed ({exc}); open the installer again"
        return _refused(request, page.lang, FrameRefused(502, reason))
    log.info("portal installed from the UI installer %s", fields(portal=member_id))
    context = {
        "t": TEXTS[page.lang],
        "lang": page.lang,
        "js_url": state.settings.bitrix24_js_url,
    }
    response = templates.TemplateResponse(request, "install.html", context)
    return _framable(response, _origin(portal.client_endpoint))


async def _apply(page: Page) -> str:
    """Carry out the settings form's `action`; the notice to show."""
    state, portal, form = page.state, page.portal, page.form
    assert portal is not None and portal.id is not None
    saved = TEXTS[page.lang]["saved"]
    action = form.get("action", "")
    async with state.sessions() as session:
        if action == "key":
            await change_key(
                session,
                state.http,
                state.settings,
                portal,
                form.get("smsru_api_id", ""),
                state.webhook_secret,
            )
        elif action == "sender":
            await change_sender(session, state.http, state.settings, portal, form.get("sender", ""))
        elif action == "test_mode":
            await change_test_mode(session, portal, form.get("test_mode", ""))
        elif action == "policy":
            await store(session, portal, read_policy(form))
            if portal.marketing_consent == CONSENT_REQUIRED:
                return saved + await _consent_field(page, portal)
        elif action in ("stop_add", "stop_remove"):
            phone = _phone(form.get("phone", ""))
            if action == "stop_add":
                reason = form.get("reason", "")[:500]
                await stop_list.add(session, portal.id, phone, reason, "manual")
            else:
                await stop_list.remove(session, portal.id, phone)
            await session.commit()
        elif action == "stop_import":
            read = stop_list.read_csv(form.get("csv", "").splitlines())
            if not read.phones:
                raise ChangeRefused("csv_empty")
            added = await stop_list.add_many(session, portal.id, read.phones, "imported", "import")
            await session.commit()
            return TEXTS[page.lang]["imported"].format(
                saved=saved, added=added, skipped=len(read.skipped)
            )
        else:
            raise ChangeRefused("action", action=action[:40])
    return saved


async def _consent_field(page: Page, portal: Portal) -> str:
    """Consent is read from a CRM field: make it where missing, as `portal set` does."""
    assert portal.id is not None
    state = page.state
    client = portal_client(state.sessions, state.settings, state.http, portal.id)
    try:
        await consent.ensure_fields(client)
    except (Bitrix24Error, OAuthError, PortalNotAuthorized) as exc:
        return f" {consent.FIELD} could not be checked in the CRM: {exc}"
    return ""


async def _with_token(request: Request, act: Callable[[Page], Awaitable[Response]]) -> Response:
    page = await _read_or_refuse(request)
    if isinstance(page, Response):
        return page
    try:
        await page.believe_token()
        return await act(page)
    except FrameRefused as exc:
        if page.portal is None or exc.status != 403:
            return _refused(request, page.lang, exc)
        return await page.render(status_code=403, error=exc.reason)


async def _read_or_refuse(request: Request) -> Page | Response:
    try:
        return await Page.read(request)
    except Problem as problem:
        lang = wording.language(request.query_params.get("LANG"))
        return _refused(request, lang, FrameRefused(problem.status, problem.reason))


async def _form(request: Request) -> dict[str, str]:
    try:
        return parse_flat_form(await read_form_body(request), MAX_FIELDS)
    except Problem as problem:
        if problem.status == 400:
            raise Problem(400, "not a form the app's page posts") from None
        raise


def _refused(request: Request, lang: str, exc: FrameRefused) -> Response:
    """A refusal in words, nothing of any portal. Any page may frame it: it holds no data and
    no control to trick a click on, and a frame that refuses to show it leaves the user (whose
    page token ran out, say) with the browser's broken-frame icon instead of the words."""
    context = {"t": TEXTS[lang], "lang": lang, "reason": exc.reason}
    response = templates.TemplateResponse(request, "refused.html", context, status_code=exc.status)
    return _framable(response, ANYONE)


def _framable(response: Response, origin: str) -> Response:
    """Only `origin` (the portal's own, or `*` for a refusal) may frame the answer."""
    response.headers["Content-Security-Policy"] = f"frame-ancestors {origin}"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _origin(client_endpoint: str) -> str:
    """The portal's origin, from its REST endpoint as its authorization server gave it."""
    parts = urlsplit(client_endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return NOBODY
    return f"{parts.scheme}://{parts.netloc}"


def _phone(raw: str) -> str:
    try:
        return to_e164(raw)
    except PhoneError as exc:
        raise ChangeRefused("phone", phone=raw[:40], reason=exc.said) from None


def _period(form: dict[str, str], portal: Portal) -> tuple[date, date, str | None]:
    """The analytics period the page shows (default: the portal's last 7 days, today
    included), and what was wrong with the one asked for."""
    today = datetime.now(ZoneInfo(portal.timezone)).date()
    default = (today - timedelta(days=DEFAULT_PERIOD - 1), today)
    given = form.get("first"), form.get("last")
    if not any(given):
        return *default, None
    try:
        first, last = date.fromisoformat(given[0] or ""), date.fromisoformat(given[1] or "")
        check_period(first, last)
    except ValueError:
        return *default, "the period's dates must be like 2026-11-29"
    except ReportError as exc:
        return *default, str(exc)
    return first, last, None
