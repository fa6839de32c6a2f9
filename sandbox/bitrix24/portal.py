"""One emulated Bitrix24 cloud portal with our app installed: the face tests and the app use.

The portal's concerns live in their own modules (`oauth`, `ratelimit`, `faults`,
`messageservice`, `crm`, and `queue` for the POSTs it makes); this class holds the one lock they
all run under, the portal's identity and switches, and the table of REST methods. Plain Python
behind one lock, because tests flip switches from their own thread while uvicorn serves the
portal from another. Facts: `shared/reference/bitrix24-api.md` and `tests/recorded/bitrix24/`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

import httpx

from sandbox.bitrix24 import queue
from sandbox.bitrix24.crm import Crm, Phone
from sandbox.bitrix24.crm_fields import KINDS
from sandbox.bitrix24.events import EventBindings
from sandbox.bitrix24.faults import Faults
from sandbox.bitrix24.messages import Module
from sandbox.bitrix24.messageservice import HandlerDelivery, MessageService
from sandbox.bitrix24.oauth import SCOPE, OAuthServer
from sandbox.bitrix24.ratelimit import LeakyBucket
from sandbox.bitrix24.rest import Caller, Method, Outcome, Params, RestError
from sandbox.bitrix24.timeline import Comment, Timeline
from sandbox.bitrix24.users import Users


class RestRequest(NamedTuple):
    at: float  # unix time
    method: str
    status: int  # HTTP status answered


class PortalEmulator:
    """A strict stand-in for one Bitrix24 cloud portal with our app installed.

    Plain attributes (`rate`, `burst`, `latency`, `allow_local_handlers`, `token_ttl`, `admins`,
    `base_url`) are switches tests may set at any time. `installed` is False from an uninstall,
    or when set so, until an install: then the portal page (`frame.py`) opens the app's
    installer (`installer_url`) instead of the app (`app_url`).
    """

    def __init__(
        self,
        member_id: str = "a223c6b3710f85df22e9377d6c4f7553",
        domain: str = "sandbox.bitrix24.ru",
        client_id: str = "local.sandbox",
        client_secret: str = "sandbox-client-secret",
        application_token: str | None = None,
        *,
        rate: float = 2.0,
        burst: int = 50,
        token_ttl: float = 3600.0,
    ) -> None:
        self._lock = threading.Lock()
        self.member_id = member_id
        self.domain = domain
        self.client_id = client_id
        self.client_secret = client_secret
        self.application_token = application_token or secrets.token_hex(16)
        self.rate = rate
        self.burst = burst
        self.token_ttl = token_ttl
        self.latency = 0.0
        self.admins: set[int] = {1}  # user 1 installed the app and is the portal admin
        self.app_version = 1
        self._base_url = f"https://{domain}"
        self.oauth_url = "https://oauth.bitrix.info"  # its authorization server (authserver.py)
        self.installed = True
        self.app_url: str | None = None  # the app's handler URL, that its frame is POSTed to
        self.installer_url: str | None = None  # a UI app's installer (reference A4)
        self._events = EventBindings()
        self._event_posts: list[tuple[str, dict[str, str]]] = []
        self._oauth = OAuthServer()
        self._bucket = LeakyBucket()
        self._faults = Faults()
        self._oauth_faults = Faults()  # the authorization server's own: it can hang on its own
        self._requests: list[RestRequest] = []
        self._executed: Counter[str] = Counter()
        self._messageservice = MessageService()
        self._crm = Crm()
        self._timeline = Timeline()
        self._users = Users()
        self._methods = self._method_table()

    # --- addresses ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Where the emulator is served: REST at `{it}/rest/` (OAuth is at `oauth_url`)."""
        return self._base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self._base_url = url.rstrip("/")

    @property
    def client_endpoint(self) -> str:
        return f"{self._base_url}/rest/"

    # --- OAuth (oauth.py) -----------------------------------------------------------------------

    def issue_tokens(self, user_id: int = 1) -> dict[str, Any]:
        """A fresh access + refresh pair for `user_id`, as the OAuth server's token response."""
        with self._lock:
            return self._issue_locked(user_id, with_refresh=True)

    def issue_access_token(self, user_id: int) -> dict[str, Any]:
        """An access token alone, as the portal mints for a message's author (no refresh_token)."""
        with self._lock:
            return self._issue_locked(user_id, with_refresh=False)

    def _issue_locked(self, user_id: int, *, with_refresh: bool) -> dict[str, Any]:
        """Every token the portal mints passes here (a test may wrap it to see them all)."""
        return self._oauth.issue(
            user_id,
            member_id=self.member_id,
            base_url=self._base_url,
            server_url=self.oauth_url,
            ttl=self.token_ttl,
            with_refresh=with_refresh,
        )

    def oauth_token(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer one /oauth/token/ request: (HTTP status, body); see `OAuthServer.redeem`."""
        with self._lock:
            try:
                user_id = self._oauth.redeem(
                    params, client_id=self.client_id, client_secret=self.client_secret
                )
            except RestError as exc:
                return exc.status, exc.body
            return 200, self._issue_locked(user_id, with_refresh=True)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now."""
        with self._lock:
            self._oauth.expire_access_tokens()

    def revoke(self) -> None:
        """The app is revoked: no token issued so far works (refresh → invalid_grant)."""
        with self._lock:
            self._oauth.revoke()

    @property
    def refresh_calls(self) -> int:
        with self._lock:
            return self._oauth.refresh_calls

    def holds_refresh_token(self, token: str) -> bool:
        with self._lock:
            return self._oauth.holds_refresh(token)

    def app_info_at_server(self, token: str) -> dict[str, Any] | None:
        """What the authorization server's `app.info` answers for this portal's access token
        (shape per b24pysdk `schemas/api.py`), or None if the token is not a live one of ours."""
        with self._lock:
            if not self._oauth.holds_access(token):  # an uninstall revokes every token
                return None
            return {
                "scope": SCOPE,
                "client_id": self.client_id,
                "expires": int(time.time()) + int(self.token_ttl),
                "install": {
                    "installed": self.installed,  # False while a UI app's installer runs
                    "version": self.app_version,
                    "status": "L",
                    "scope": SCOPE,
                    "domain": self.domain,
                    "uri": f"https://{self.domain}",
                    "client_endpoint": f"{self._base_url}/rest/",
                    "member_id": self.member_id,
                    "member_type": "PORTAL",
                },
                "user_id": self._oauth.user_of(token),
            }

    def add_user(self, user_id: int, name: str, last_name: str, *, admin: bool = False) -> None:
        """A person of the portal (users 1, the admin, and 2, an employee, exist already)."""
        with self._lock:
            self._users.add(user_id, name, last_name)
            if admin:
                self.admins.add(user_id)

    def frame_fields(
        self, user_id: int, placement: str = "DEFAULT", *, lang: str = "ru"
    ) -> tuple[dict[str, str], dict[str, str]]:
        """What Bitrix24 POSTs to the app's URL when `user_id` opens it: (query, form).

        A fresh access token for that user (1 hour) and a new APP_SID each time, as in the real
        capture (recorded `install_page_post_b24phpsdk.json`); no SERVER_ENDPOINT or
        APPLICATION_TOKEN, which older portals do not send (A1).
        """
        with self._lock:
            if user_id not in self._users:
                raise LookupError(f"the portal has no user {user_id}")
            tokens = self._issue_locked(user_id, with_refresh=True)
            https = self._base_url.startswith("https://")
            query = {
                "DOMAIN": self.domain,
                "PROTOCOL": "1" if https else "0",
                "LANG": lang,
                "APP_SID": secrets.token_hex(16),
            }
            form = {
                "AUTH_ID": tokens["access_token"],
                "AUTH_EXPIRES": str(tokens["expires_in"]),
                "REFRESH_ID": tokens["refresh_token"],
                "member_id": self.member_id,
                "status": "L",
                "PLACEMENT": placement,
                "PLACEMENT_OPTIONS": "[]",  # PHP's json_encode of no options
            }
            return query, form

    def authenticate(self, token: str | None) -> int:
        """The user a REST request acts for, or the 401 the portal answers."""
        with self._lock:
            return self._oauth.user_of(token)

    # --- rate limit, faults and the request log (ratelimit.py, faults.py) -----------------------

    def admit(self) -> bool:
        """Count one REST request against the leaky bucket, or refuse it (answered 503)."""
        with self._lock:
            return self._bucket.admit(self.rate, self.burst)

    @property
    def limit_exceeded_count(self) -> int:
        with self._lock:
            return self._bucket.refused

    def fail_next(
        self,
        n: int,
        status: int = 500,
        error: str = "INTERNAL_SERVER_ERROR",
        description: str | None = None,
    ) -> None:
        """The next `n` REST requests answer this error without being executed or counted."""
        with self._lock:
            self._faults.fail_next(n, status, error, description)

    def hang_next(self, n: int, seconds: float) -> None:
        """The next `n` REST requests wait `seconds` first, then are served as usual."""
        with self._lock:
            self._faults.hang_next(n, seconds)

    def hang_oauth_next(self, n: int, seconds: float) -> None:
        """The next `n` /oauth/token/ requests wait `seconds` first, then are served as usual."""
        with self._lock:
            self._oauth_faults.hang_next(n, seconds)

    def take_oauth_fault(self) -> float:
        """The extra wait for the /oauth/token/ request now arriving."""
        with self._lock:
            delay, _ = self._oauth_faults.take()
            return delay

    def take_fault(self) -> tuple[float, RestError | None]:
        """The extra wait and the injected error for the REST request now arriving."""
        with self._lock:
            return self._faults.take()

    def log_request(self, method: str, status: int) -> None:
        with self._lock:
            self._requests.append(RestRequest(time.time(), method, status))

    @property
    def request_log(self) -> list[RestRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def executed(self) -> Counter[str]:
        """Methods run so far by name, `batch` sub-calls included (refused ones too)."""
        with self._lock:
            return Counter(self._executed)

    # --- REST dispatch --------------------------------------------------------------------------

    def has_method(self, method: str) -> bool:
        return method in self._methods

    def execute(self, method: str, params: Params, user_id: int) -> Outcome:
        """Run one method (not `batch`); top-level keys are case-insensitive, PHP-uppercased."""
        handler = self._methods.get(method)
        if handler is None:
            raise RestError.system("ERROR_METHOD_NOT_FOUND")
        upper = {str(key).upper(): value for key, value in params.items()}
        with self._lock:
            self._executed[method] += 1
            return handler(self._caller(user_id), upper)

    def _caller(self, user_id: int) -> Caller:
        return Caller(user_id, admin=user_id in self.admins)

    def _method_table(self) -> dict[str, Method]:
        service, crm = self._messageservice, self._crm
        table: dict[str, Method] = {
            "app.info": self._app_info,
            "event.bind": self._events.bind,
            "event.get": self._events.get,
            "event.unbind": self._events.unbind,
            "messageservice.sender.add": service.sender_add,
            "messageservice.sender.update": service.sender_update,
            "messageservice.sender.delete": service.sender_delete,
            "messageservice.sender.list": service.sender_list,
            "messageservice.message.status.update": service.status_update,
            "crm.timeline.comment.add": self._timeline.comment_add,
            "profile": self._users.profile,
            "user.admin": self._users.admin,
        }
        for kind in KINDS:
            table |= {
                f"crm.{kind}.fields": partial(crm.describe_fields, kind),
                f"crm.{kind}.list": partial(crm.list_items, kind),
                f"crm.{kind}.get": partial(crm.get_item, kind),
                f"crm.{kind}.add": partial(crm.add_item, kind),
                f"crm.{kind}.update": partial(crm.update_item, kind),
                f"crm.{kind}.userfield.list": partial(crm.list_userfields, kind),
                f"crm.{kind}.userfield.add": partial(crm.add_userfield, kind),
            }
        return table

    def _app_info(self, caller: Caller, params: Params) -> Outcome:
        return Outcome(
            {
                "ID": 1,
                "CODE": self.client_id,
                "VERSION": self.app_version,
                "STATUS": "L",
                "INSTALLED": self.installed,
                "PAYMENT_EXPIRED": "N",
                "DAYS": None,
                "LANGUAGE_ID": "ru",
                "LICENSE": "ru_project",
                "LICENSE_TYPE": "project",
                "LICENSE_FAMILY": "project",
            }
        )

    # --- messageservice (messageservice.py) -----------------------------------------------------

    @property
    def allow_local_handlers(self) -> bool:
        """Accept a HANDLER on localhost or loopback (the sandbox needs it; a real portal not)."""
        return self._messageservice.allow_local_handlers

    @allow_local_handlers.setter
    def allow_local_handlers(self, allowed: bool) -> None:
        self._messageservice.allow_local_handlers = allowed

    @property
    def providers(self) -> dict[str, dict[str, Any]]:
        """CODE → {handler, name, description} of the providers this app registered."""
        with self._lock:
            return self._messageservice.providers()

    def app_update(self) -> httpx.Response | None:
        """A new app version is installed: the portal deletes the app's providers (reference §1)
        and POSTs ONAPPUPDATE to the handler bound to it, if any (its answer, else None)."""
        with self._lock:
            self._messageservice.remove_providers()
            self.app_version += 1
            handler = self._events.handler_for("ONAPPUPDATE")
        return queue.app_event(self, handler, "ONAPPUPDATE") if handler else None

    def uninstall(self, *, clean: bool = False) -> httpx.Response | None:
        """The admin deletes the app: providers and event bindings go, every token dies, the next
        install gets a new application_token; ONAPPUNINSTALL (no access token in it) is POSTed
        to its bound handler, if any (its answer, else None)."""
        with self._lock:
            handler = self._events.handler_for("ONAPPUNINSTALL")
            self._messageservice.remove_providers()
            self._events.clear()
            self._oauth.revoke()
            self.installed = False
            token = self.application_token
            self.application_token = secrets.token_hex(16)
        if handler is None:
            return None
        return queue.uninstall_event(self, handler, token, clean=clean)

    @property
    def event_bindings(self) -> dict[str, str]:
        """EVENT → handler URL the app bound with `event.bind`."""
        with self._lock:
            return self._events.bound()

    @property
    def event_posts(self) -> list[tuple[str, dict[str, str]]]:
        """Every event POST the portal made to the app: (URL, form fields), for replaying."""
        with self._lock:
            return list(self._event_posts)

    def note_event_post(self, url: str, fields: dict[str, str]) -> None:
        with self._lock:
            self._event_posts.append((url, dict(fields)))

    def register_message(self, message_id: str, *, code: str, author_id: int | None) -> None:
        """The portal queues a message for provider `code`; it is `sent` from now on.

        Only its author (or an admin) may update its status; `None` is a message without author.
        """
        with self._lock:
            self._messageservice.register_message(message_id, code, author_id)

    def record_delivery(self, message_id: str, result: int | str) -> None:
        with self._lock:
            self._messageservice.record_delivery(message_id, result)

    @property
    def timeline_comments(self) -> list[Comment]:
        with self._lock:
            return list(self._timeline.comments)

    @property
    def handler_deliveries(self) -> list[HandlerDelivery]:
        with self._lock:
            return self._messageservice.deliveries()

    def message_status(self, message_id: str) -> str | None:
        with self._lock:
            return self._messageservice.status_of(message_id)

    @property
    def status_history(self) -> dict[str, list[str]]:
        """message_id → every STATUS accepted by status.update, in arrival order."""
        with self._lock:
            return self._messageservice.history()

    # --- CRM seeding and inspection (crm.py) ----------------------------------------------------

    def add_contact(self, name: str, phones: Sequence[Phone] = (), **fields: Any) -> int:
        """A contact; a phone is "+7…" (type WORK) or (value, VALUE_TYPE)."""
        return self._seed("contact", {"NAME": name, **fields}, phones)

    def add_lead(self, title: str, phones: Sequence[Phone] = (), **fields: Any) -> int:
        return self._seed("lead", {"TITLE": title, **fields}, phones)

    def add_deal(self, title: str, contact_id: int | None = None, **fields: Any) -> int:
        if contact_id is not None:
            fields["CONTACT_ID"] = contact_id
        return self._seed("deal", {"TITLE": title, **fields}, ())

    def _seed(self, kind: str, fields: Params, phones: Sequence[Phone]) -> int:
        with self._lock:
            return self._crm.seed(kind, fields, phones, self._caller(1))  # as the admin, user 1

    def entity(self, kind: str, entity_id: int) -> dict[str, Any]:
        """What crm.{kind}.get answers for the item (KeyError if there is none)."""
        with self._lock:
            return self._crm.entity(kind, entity_id)

    # --- the queue server (queue.py) ------------------------------------------------------------

    def install(self, install_url: str, *, language_id: str = "ru") -> httpx.Response:
        """POST the ONAPPINSTALL event to `install_url` from a portal in `language_id`; see
        `queue.install`."""
        with self._lock:
            self.installed = True
        return queue.install(self, install_url, language_id=language_id)

    def finish_install(self) -> httpx.Response | None:
        """`BX24.installFinish()` in a UI app's installer: the app counts as installed, and
        ONAPPINSTALL is POSTed only to a handler the app bound itself (reference A4: the install
        URL is bound for API-only apps alone); its answer, else None."""
        with self._lock:
            self.installed = True
            handler = self._events.handler_for("ONAPPINSTALL")
        return queue.install(self, handler) if handler else None

    def send_message(
        self,
        module: Module,
        phone: str,
        text: str,
        *,
        entity: tuple[str, int] = ("deal", 1),
        author_user_id: int | None = 1,
        code: str = "smsru",
    ) -> str:
        """Queue a message and POST it to the provider's HANDLER; see `queue.send_message`."""
        return queue.send_message(
            self, module, phone, text, entity=entity, author_user_id=author_user_id, code=code
        )
