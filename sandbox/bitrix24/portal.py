"""State of the Bitrix24 portal emulator: tokens, rate limit, providers, messages, CRM, switches.

Plain Python behind one lock, because tests flip switches from their own thread while uvicorn serves
the portal from another. REST methods run here and return their `result` or raise `RestError` with
the code, text and HTTP status the reference gives; `app.py` adds the envelope. Facts:
`shared/reference/bitrix24-api.md` and the payloads in `shared/reference/recorded/bitrix24/`.
"""

from __future__ import annotations

import copy
import ipaddress
import itertools
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

    from sandbox.bitrix24.messages import Module

Params = dict[str, Any]

SCOPE = "crm,messageservice"  # the scope `messages.Author` puts in a message's auth block
REFRESH_TTL = 180 * 86400.0  # refresh tokens live 180 days (reference §4)
PAGE_SIZE = 50  # *.list pages are fixed at 50 (reference §5)
MAX_BATCH = 50
OPERATING_WINDOW = (
    600  # time.operating_reset_at = start + 600 (recorded batch_operation_time_limit)
)
MSK = timezone(timedelta(hours=3))  # a .ru portal's clock, as in the recorded `date_start` values
STATUSES = ("queued", "sent", "delivered", "undelivered", "failed")
KINDS = ("contact", "lead", "deal")

# System errors: HTTP status and text from docs_errors.json (QUERY_LIMIT_EXCEEDED's as observed).
SYSTEM_ERRORS: dict[str, tuple[int, str]] = {
    "QUERY_LIMIT_EXCEEDED": (503, "Too many requests"),
    "expired_token": (401, "The access token provided has expired"),
    "NO_AUTH_FOUND": (401, "Wrong authorization data"),
    "insufficient_scope": (
        403,
        "The request requires higher privileges than provided by the webhook token",
    ),
    "user_access_error": (403, "The user does not have access to the application"),
    "INVALID_CREDENTIALS": (403, "Invalid request credentials"),
    "OVERLOAD_LIMIT": (503, "REST API is blocked due to overload"),
    "INTERNAL_SERVER_ERROR": (500, "Internal server error"),
    "PORTAL_DELETED": (500, "Portal was deleted"),
    "ERROR_BATCH_METHOD_NOT_ALLOWED": (405, "Method is not allowed for batch usage"),
    "ERROR_BATCH_LENGTH_EXCEEDED": (400, "Max batch length exceeded"),
    # Not in the table: the rest module's own 404 for an unknown method.
    "ERROR_METHOD_NOT_FOUND": (404, "Method not found!"),
    # Not documented: the wording of the OAuth2 library the portal runs on.
    "invalid_token": (401, "The access token provided is invalid."),
}

_CODE = re.compile(r"^[a-z0-9.\-_]+$", re.IGNORECASE)
_UF_NAME = re.compile(r"^[A-Z0-9_]+$")
_FILTER_KEY = re.compile(r"^(>=|<=|!=|!%|=|%|>|<|!|@)?(.*)$", re.DOTALL)
_INT = re.compile(r"\s*([+-]?\d+)")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_COMMON = (
    "ASSIGNED_BY_ID CREATED_BY_ID MODIFY_BY_ID DATE_CREATE DATE_MODIFY ORIGINATOR_ID ORIGIN_ID"
    " UTM_SOURCE UTM_MEDIUM UTM_CAMPAIGN UTM_CONTENT UTM_TERM"
)
_PERSON = "HONORIFIC NAME SECOND_NAME LAST_NAME BIRTHDATE POST"
# Standard fields in the portal's output order (lead: as in the recorded crm.lead.fields).
FIELDS: dict[str, tuple[str, ...]] = {
    kind: _names(names)
    for kind, names in {
        "contact": f"ID {_PERSON} TYPE_ID SOURCE_ID SOURCE_DESCRIPTION COMMENTS OPENED EXPORT"
        f" HAS_PHONE HAS_EMAIL HAS_IMOL COMPANY_ID LEAD_ID {_COMMON}",
        "lead": f"ID TITLE {_PERSON} COMPANY_TITLE SOURCE_ID SOURCE_DESCRIPTION STATUS_ID"
        " STATUS_DESCRIPTION STATUS_SEMANTIC_ID CURRENCY_ID OPPORTUNITY IS_MANUAL_OPPORTUNITY"
        " OPENED COMMENTS HAS_PHONE HAS_EMAIL HAS_IMOL COMPANY_ID CONTACT_ID IS_RETURN_CUSTOMER"
        f" DATE_CLOSED {_COMMON}",
        "deal": "ID TITLE TYPE_ID CATEGORY_ID STAGE_ID STAGE_SEMANTIC_ID IS_NEW PROBABILITY"
        " CURRENCY_ID OPPORTUNITY COMPANY_ID CONTACT_ID BEGINDATE CLOSEDATE OPENED CLOSED COMMENTS"
        f" SOURCE_ID SOURCE_DESCRIPTION LEAD_ID {_COMMON}",
    }.items()
}
MULTI_FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("PHONE", "EMAIL", "WEB", "IM"),
    "lead": ("PHONE", "EMAIL", "WEB", "IM"),
    "deal": (),  # deals carry no phones of their own
}
_READ_ONLY = frozenset(
    _names("ID DATE_CREATE DATE_MODIFY CREATED_BY_ID MODIFY_BY_ID HAS_PHONE HAS_EMAIL")
)
_DEFAULTS: dict[str, dict[str, str]] = {
    "contact": {"TYPE_ID": "CLIENT", "OPENED": "Y", "EXPORT": "Y", "HAS_IMOL": "N"},
    "lead": {"STATUS_ID": "NEW", "OPENED": "Y", "CURRENCY_ID": "RUB", "HAS_IMOL": "N"},
    "deal": {"CATEGORY_ID": "0", "STAGE_ID": "NEW", "OPENED": "Y", "CLOSED": "N"},
}
USER_TYPES = frozenset(
    _names(
        "string integer double boolean date datetime enumeration url money address file employee"
        " crm crm_status iblock_element iblock_section"
    )
)
UF_NAME_MAX = 50  # with the UF_CRM_ prefix (reference §6)


class RestError(Exception):
    """A REST or OAuth refusal: the body's `error` and `error_description`, and the HTTP status."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(f"{code or '(no code)'}: {description}")
        self.code = code
        self.description = description
        self.status = status

    @classmethod
    def system(cls, code: str) -> RestError:
        status, description = SYSTEM_ERRORS[code]
        return cls(code, description, status)

    @property
    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


def _crm_error(description: str) -> RestError:
    """CRM methods throw without a code: the body's `error` is "" (recorded batches, docs)."""
    return RestError("", description)


def _access_denied() -> RestError:
    return RestError("ACCESS_DENIED", "Access denied!", 403)


def _sender_invalid(description: str) -> RestError:
    return RestError("ERROR_SENDER_VALIDATION_FAILURE", description)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a method returns: `result`, plus `total`/`next` for list methods."""

    result: Any
    total: int | None = None
    next: int | None = None


class RestRequest(NamedTuple):
    at: float  # unix time
    method: str
    status: int  # HTTP status answered


class HandlerDelivery(NamedTuple):
    message_id: str
    result: int | str  # the HANDLER's HTTP status, or the name of the transport error


@dataclass(slots=True)
class _Token:
    user_id: int
    expires: float  # unix time


@dataclass(slots=True)
class _Provider:
    handler: str
    name: Any  # a string, or {lang: string}
    description: Any


@dataclass(slots=True)
class _Message:
    code: str
    author_id: int | None
    status: str = "sent"  # the portal sets SENT when it queues the message (reference §2)


@dataclass(slots=True)
class _UserField:
    definition: dict[str, Any]
    multiple: bool


@dataclass(slots=True)
class _Crm:
    entities: dict[int, Params] = field(default_factory=dict)
    next_id: int = 1
    userfields: dict[str, _UserField] = field(default_factory=dict)


Method = Callable[[int, Params], Outcome]


class PortalEmulator:
    """A strict stand-in for one Bitrix24 cloud portal with our app installed.

    Plain attributes (`rate`, `burst`, `latency`, `allow_local_handlers`, `token_ttl`, `admins`,
    `base_url`) are switches tests may set at any time.
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
        self.allow_local_handlers = True
        self.admins: set[int] = {1}  # user 1 installed the app and is the portal admin
        self.app_version = 1
        self._base_url = f"https://{domain}"
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._refresh_calls = 0
        self._level = 0.0
        self._drained_at = time.monotonic()
        self._limit_exceeded = 0
        self._requests: list[RestRequest] = []
        self._failures = 0
        self._failure = RestError.system("INTERNAL_SERVER_ERROR")
        self._hangs = 0
        self._hang_seconds = 0.0
        self._providers: dict[str, _Provider] = {}
        self._messages: dict[str, _Message] = {}
        self._history: dict[str, list[str]] = {}
        self._deliveries: list[HandlerDelivery] = []
        self._crm = {kind: _Crm() for kind in KINDS}
        self._multi_ids = itertools.count(1)
        self._uf_ids = itertools.count(1)
        self._methods = self._method_table()

    # --- addresses ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Where the emulator is served: REST at `{it}/rest/`, OAuth at `{it}/oauth/token/`."""
        return self._base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self._base_url = url.rstrip("/")

    @property
    def client_endpoint(self) -> str:
        return f"{self._base_url}/rest/"

    # --- OAuth ----------------------------------------------------------------------------------

    def issue_tokens(self, user_id: int = 1) -> dict[str, Any]:
        """A fresh access + refresh pair for `user_id`, as the OAuth server's token response."""
        with self._lock:
            return self._issue_locked(user_id, with_refresh=True)

    def issue_access_token(self, user_id: int) -> dict[str, Any]:
        """An access token alone, as the portal mints for a message's author (no refresh_token)."""
        with self._lock:
            return self._issue_locked(user_id, with_refresh=False)

    def _issue_locked(self, user_id: int, *, with_refresh: bool) -> dict[str, Any]:
        now = time.time()
        access = secrets.token_hex(35)  # 70 characters, like the real tokens
        self._access[access] = _Token(user_id, now + self.token_ttl)
        body: dict[str, Any] = {  # key order as observed (oauth_token_responses_observed.json)
            "access_token": access,
            "expires": int(now + self.token_ttl),
            "expires_in": int(self.token_ttl),
            "scope": SCOPE,
            "domain": urlsplit(self._base_url).netloc,  # the OAuth server's host
            "server_endpoint": f"{self._base_url}/rest/",
            "status": "L",
            "client_endpoint": f"{self._base_url}/rest/",
            "member_id": self.member_id,
            "user_id": user_id,
        }
        if with_refresh:
            refresh = secrets.token_hex(35)
            self._refresh[refresh] = _Token(user_id, now + REFRESH_TTL)
            body["refresh_token"] = refresh
        return body

    def oauth_token(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer one /oauth/token/ request: (HTTP status, body).

        Only `grant_type=refresh_token` is served. The used refresh token dies; the access token
        issued with it stays valid until its own expiry (the real behaviour is not documented, and
        this is the kinder case for a client that still has a request in flight).
        """
        with self._lock:
            self._refresh_calls += 1
            try:
                return 200, self._refresh_locked(params)
            except RestError as exc:
                return exc.status, exc.body

    def _refresh_locked(self, params: Mapping[str, str]) -> dict[str, Any]:
        if params.get("grant_type") != "refresh_token":
            raise RestError("invalid_request", "Unsupported or missing grant_type")
        if (params.get("client_id"), params.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            raise RestError("invalid_client", "Invalid client_id or client_secret")
        token = params.get("refresh_token", "")
        if not token:
            raise RestError("invalid_request", "refresh_token is missing")
        entry = self._refresh.pop(token, None)
        if entry is None or entry.expires <= time.time():
            raise RestError("invalid_grant", "The refresh token is invalid, expired or used")
        return self._issue_locked(entry.user_id, with_refresh=True)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now."""
        now = time.time()
        with self._lock:
            for token in self._access.values():
                token.expires = min(token.expires, now)

    def revoke(self) -> None:
        """The app is revoked: no token issued so far works (refresh → invalid_grant)."""
        with self._lock:
            self._access.clear()
            self._refresh.clear()

    @property
    def refresh_calls(self) -> int:
        with self._lock:
            return self._refresh_calls

    def authenticate(self, token: str | None) -> int:
        """The user a REST request acts for, or the 401 the portal answers."""
        if not token:
            raise RestError.system("NO_AUTH_FOUND")
        with self._lock:
            entry = self._access.get(token)
        if entry is None:
            raise RestError.system("invalid_token")
        if entry.expires <= time.time():
            raise RestError.system("expired_token")
        return entry.user_id

    # --- rate limit and faults --------------------------------------------------------------------

    def admit(self) -> bool:
        """Leaky bucket: count one request, or refuse it (counted as a 503) if it would overflow."""
        now = time.monotonic()
        with self._lock:
            self._level = max(0.0, self._level - (now - self._drained_at) * self.rate)
            self._drained_at = now
            if self._level + 1 > self.burst:
                self._limit_exceeded += 1
                return False
            self._level += 1
            return True

    @property
    def limit_exceeded_count(self) -> int:
        with self._lock:
            return self._limit_exceeded

    def fail_next(
        self,
        n: int,
        status: int = 500,
        error: str = "INTERNAL_SERVER_ERROR",
        description: str | None = None,
    ) -> None:
        """The next `n` REST requests answer this error without being executed or counted."""
        known = SYSTEM_ERRORS.get(error)
        text = description or (known[1] if known else error)
        with self._lock:
            self._failures, self._failure = n, RestError(error, text, status)

    def hang_next(self, n: int, seconds: float) -> None:
        """The next `n` REST requests wait `seconds` first, then are served as usual."""
        with self._lock:
            self._hangs, self._hang_seconds = n, seconds

    def take_fault(self) -> tuple[float, RestError | None]:
        """The extra wait and the injected error for the REST request now arriving."""
        with self._lock:
            delay, failure = 0.0, None
            if self._hangs > 0:
                self._hangs -= 1
                delay = self._hang_seconds
            if self._failures > 0:
                self._failures -= 1
                failure = self._failure
            return delay, failure

    def log_request(self, method: str, status: int) -> None:
        with self._lock:
            self._requests.append(RestRequest(time.time(), method, status))

    @property
    def request_log(self) -> list[RestRequest]:
        with self._lock:
            return list(self._requests)

    # --- REST dispatch ----------------------------------------------------------------------------

    def has_method(self, method: str) -> bool:
        return method in self._methods

    def execute(self, method: str, params: Params, user_id: int) -> Outcome:
        """Run one method (not `batch`); top-level keys are case-insensitive, PHP-uppercased."""
        handler = self._methods.get(method)
        if handler is None:
            raise RestError.system("ERROR_METHOD_NOT_FOUND")
        upper = {str(key).upper(): value for key, value in params.items()}
        with self._lock:
            return handler(user_id, upper)

    def _method_table(self) -> dict[str, Method]:
        table: dict[str, Method] = {
            "app.info": self._app_info,
            "messageservice.sender.add": self._sender_add,
            "messageservice.sender.update": self._sender_update,
            "messageservice.sender.delete": self._sender_delete,
            "messageservice.sender.list": self._sender_list,
            "messageservice.message.status.update": self._status_update,
        }
        for kind in KINDS:
            table |= {
                f"crm.{kind}.list": partial(self._crm_list, kind),
                f"crm.{kind}.get": partial(self._crm_get, kind),
                f"crm.{kind}.add": partial(self._crm_add, kind),
                f"crm.{kind}.update": partial(self._crm_update, kind),
                f"crm.{kind}.userfield.list": partial(self._uf_list, kind),
                f"crm.{kind}.userfield.add": partial(self._uf_add, kind),
            }
        return table

    def _app_info(self, user_id: int, params: Params) -> Outcome:
        return Outcome(
            {
                "ID": 1,
                "CODE": self.client_id,
                "VERSION": self.app_version,
                "STATUS": "L",
                "INSTALLED": True,
                "PAYMENT_EXPIRED": "N",
                "DAYS": None,
                "LANGUAGE_ID": "ru",
                "LICENSE": "ru_project",
                "LICENSE_TYPE": "project",
                "LICENSE_FAMILY": "project",
            }
        )

    # --- messageservice ---------------------------------------------------------------------------

    @property
    def providers(self) -> dict[str, dict[str, Any]]:
        """CODE → {handler, name, description} of the providers this app registered."""
        with self._lock:
            return {
                code: {"handler": p.handler, "name": p.name, "description": p.description}
                for code, p in self._providers.items()
            }

    def app_update(self) -> None:
        """A new app version is installed: the portal deletes the app's providers (reference §1)."""
        with self._lock:
            self._providers.clear()
            self.app_version += 1

    def _require_admin(self, user_id: int) -> None:
        if user_id not in self.admins:
            raise _access_denied()

    def _valid_code(self, value: Any) -> str:
        code = _text(value)
        if php_empty(code):
            raise _sender_invalid("Empty sender code!")
        if not _CODE.match(code):
            raise _sender_invalid("Wrong sender code!")
        return code

    def _check_handler(self, value: Any) -> str:
        """`HandlerHelper::checkCallback`: a host with a dot first, then http(s) (reference §1).

        With `allow_local_handlers` off, loopback and LAN addresses are refused too: the docs say
        the HANDLER must be publicly reachable (the source only checks for the dot). On, localhost
        and loopback addresses are accepted so that the sandbox works.
        """
        url = _text(value)
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            raise RestError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL") from None
        local = host == "localhost" or _is_ip(host, "is_loopback")
        if self.allow_local_handlers:
            reachable = local or "." in host
        else:
            reachable = "." in host and not local and not _is_ip(host, "is_private")
        if not reachable or len(url) > 1000:
            raise RestError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL")
        if parts.scheme.lower() not in ("http", "https"):
            raise RestError("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported handler protocol")
        return url

    def _sender_add(self, user_id: int, params: Params) -> Outcome:
        self._require_admin(user_id)
        if not params:
            raise _sender_invalid("Empty data!")
        code = self._valid_code(params.get("CODE"))
        handler = self._check_handler(params.get("HANDLER"))
        if php_empty(params.get("NAME")):
            raise _sender_invalid("Empty sender NAME!")
        kind = params.get("TYPE")
        if php_empty(kind):
            raise _sender_invalid("Empty sender message TYPE!")
        if kind != "SMS":
            raise _sender_invalid("Unknown sender message TYPE!")
        if code in self._providers:
            raise RestError("ERROR_SENDER_ALREADY_INSTALLED", "Sender already installed!")
        if len(code) > 128:  # the CODE column's width
            raise RestError("ERROR_SENDER_ADD_FAILURE", "Sender save error!")
        self._providers[code] = _Provider(handler, params["NAME"], params.get("DESCRIPTION"))
        return Outcome(True)

    def _sender_update(self, user_id: int, params: Params) -> Outcome:
        self._require_admin(user_id)
        code = _text(params.get("CODE"))
        if php_empty(code):
            raise RestError("ERROR_SENDER_CODE_REQUIRED", "Sender code is required")
        if not {"HANDLER", "NAME", "DESCRIPTION"} & params.keys():
            raise RestError(
                "ERROR_SENDER_OTHER_PARAMS_REQUIRED",
                "At least one of HANDLER, NAME, DESCRIPTION is required",
            )
        provider = self._providers.get(code)
        if provider is None:
            raise RestError("ERROR_SENDER_NOT_FOUND", "Sender not found")
        handler = self._check_handler(params["HANDLER"]) if "HANDLER" in params else None
        if "NAME" in params and php_empty(params["NAME"]):
            raise _sender_invalid("Empty sender NAME!")
        if handler is not None:
            provider.handler = handler
        if "NAME" in params:
            provider.name = params["NAME"]
        if "DESCRIPTION" in params:
            provider.description = params["DESCRIPTION"]
        return Outcome(True)

    def _sender_delete(self, user_id: int, params: Params) -> Outcome:
        self._require_admin(user_id)
        code = self._valid_code(params.get("CODE"))
        if self._providers.pop(code, None) is None:
            raise RestError("ERROR_SENDER_NOT_FOUND", "Sender not found")
        return Outcome(True)

    def _sender_list(self, user_id: int, params: Params) -> Outcome:
        self._require_admin(user_id)
        return Outcome(list(self._providers))

    def register_message(self, message_id: str, *, code: str, author_id: int | None) -> None:
        """The portal queues a message for provider `code`; it is `sent` from now on.

        Only its author (or an admin) may update its status; `None` is a message without author.
        """
        with self._lock:
            self._messages[message_id] = _Message(code, author_id)

    def record_delivery(self, message_id: str, result: int | str) -> None:
        with self._lock:
            self._deliveries.append(HandlerDelivery(message_id, result))

    @property
    def handler_deliveries(self) -> list[HandlerDelivery]:
        with self._lock:
            return list(self._deliveries)

    def message_status(self, message_id: str) -> str | None:
        with self._lock:
            message = self._messages.get(message_id)
            return None if message is None else message.status

    @property
    def status_history(self) -> dict[str, list[str]]:
        """message_id → every STATUS accepted by status.update, in arrival order."""
        with self._lock:
            return {key: list(values) for key, values in self._history.items()}

    def _status_update(self, user_id: int, params: Params) -> Outcome:
        """Applied in arrival order, without monotonicity: a late `sent` beats `delivered`.

        The portal's SQL skips a same-status update, but the call still succeeds; the history
        records every accepted call so that tests see what a client reported and when.
        """
        code = self._valid_code(params.get("CODE"))
        message_id = _text(params.get("MESSAGE_ID"))
        if php_empty(message_id):
            raise RestError("ERROR_MESSAGE_NOT_FOUND", "Message not found!")
        status = params.get("STATUS")
        if status not in STATUSES:
            raise RestError("ERROR_MESSAGE_STATUS_INCORRECT", "Message status incorrect!")
        message = self._messages.get(message_id)
        if message is None or message.code != code:
            raise RestError("ERROR_MESSAGE_NOT_FOUND", "Message not found!")
        if user_id not in self.admins and user_id != message.author_id:
            raise _access_denied()
        message.status = status
        self._history.setdefault(message_id, []).append(status)
        return Outcome(True)

    # --- CRM: seeding and inspection ---------------------------------------------------------

    def add_contact(
        self, name: str, phones: Sequence[str | tuple[str, str]] = (), **fields: Any
    ) -> int:
        """A contact; a phone is "+7…" (type WORK) or (value, VALUE_TYPE)."""
        return self._seed("contact", {"NAME": name, **fields}, phones)

    def add_lead(
        self, title: str, phones: Sequence[str | tuple[str, str]] = (), **fields: Any
    ) -> int:
        return self._seed("lead", {"TITLE": title, **fields}, phones)

    def add_deal(self, title: str, contact_id: int | None = None, **fields: Any) -> int:
        if contact_id is not None:
            fields["CONTACT_ID"] = contact_id
        return self._seed("deal", {"TITLE": title, **fields}, ())

    def _seed(self, kind: str, fields: Params, phones: Sequence[str | tuple[str, str]]) -> int:
        if phones:
            fields["PHONE"] = [
                {"VALUE": p, "VALUE_TYPE": "WORK"}
                if isinstance(p, str)
                else {"VALUE": p[0], "VALUE_TYPE": p[1]}
                for p in phones
            ]
        with self._lock:
            return int(self._crm_add(kind, 1, {"FIELDS": fields}).result)

    def entity(self, kind: str, entity_id: int) -> dict[str, Any]:
        """What crm.{kind}.get answers for the item (KeyError if there is none)."""
        with self._lock:
            return self._render(kind, self._crm[kind].entities[entity_id], None)

    # --- CRM: REST methods ------------------------------------------------------------------------

    def _crm_get(self, kind: str, user_id: int, params: Params) -> Outcome:
        entity_id = _int(params.get("ID"))
        if entity_id <= 0:
            raise _crm_error("ID is not defined or invalid.")  # recorded
        record = self._crm[kind].entities.get(entity_id)
        if record is None:
            raise _crm_error("Not found")  # recorded
        return Outcome(self._render(kind, record, None))

    def _crm_add(self, kind: str, user_id: int, params: Params) -> Outcome:
        fields = params.get("FIELDS")
        if not isinstance(fields, dict):
            raise _crm_error("The parameter 'fields' must be array.")
        crm = self._crm[kind]
        entity_id, crm.next_id = crm.next_id, crm.next_id + 1
        now = _now()
        record: Params = dict.fromkeys(FIELDS[kind]) | _DEFAULTS[kind]
        record |= {
            "ID": str(entity_id),
            "ASSIGNED_BY_ID": str(user_id),
            "CREATED_BY_ID": str(user_id),
            "MODIFY_BY_ID": str(user_id),
            "DATE_CREATE": now,
            "DATE_MODIFY": now,
        }
        record |= {name: [] if uf.multiple else None for name, uf in crm.userfields.items()}
        record |= {name: [] for name in MULTI_FIELDS[kind]}
        self._write(kind, record, fields, adding=True)
        crm.entities[entity_id] = record
        return Outcome(entity_id)  # an integer, as recorded (crm_contact_add_batch)

    def _crm_update(self, kind: str, user_id: int, params: Params) -> Outcome:
        entity_id = _int(params.get("ID"))
        if entity_id <= 0:
            raise _crm_error("The parameter 'ownerEntityID' is invalid or not defined.")
        fields = params.get("FIELDS")
        if not isinstance(fields, dict):
            raise _crm_error("The parameter 'fields' must be array.")
        record = self._crm[kind].entities.get(entity_id)
        if record is None:
            raise _crm_error("Not found.")
        self._write(kind, record, fields, adding=False)
        record |= {"MODIFY_BY_ID": str(user_id), "DATE_MODIFY": _now()}
        return Outcome(True)

    def _write(self, kind: str, record: Params, fields: Params, *, adding: bool) -> None:
        """Apply `fields`; unknown and read-only names are ignored, as the portal does."""
        userfields = self._crm[kind].userfields
        for name, value in fields.items():
            if name in MULTI_FIELDS[kind]:
                record[name] = self._merge_multi(name, record[name], value, adding=adding)
            elif name in userfields:
                many = userfields[name].multiple
                record[name] = [_stored(v) for v in _entries(value)] if many else _stored(value)
            elif name in FIELDS[kind] and name not in _READ_ONLY:
                record[name] = _stored(value)
        for flag, multi in (("HAS_PHONE", "PHONE"), ("HAS_EMAIL", "EMAIL")):
            if flag in record:
                record[flag] = "Y" if record[multi] else "N"

    def _merge_multi(
        self, type_id: str, current: list[dict[str, str]], value: Any, *, adding: bool
    ) -> list[dict[str, str]]:
        """Multi-field update per reference §6.

        An entry with ID and VALUE updates that value; an entry without ID adds one; `DELETE: "Y"`,
        an empty VALUE or no VALUE at all with an ID deletes; entries not listed stay. An ID that
        is not one of this item's values is ignored.
        """
        items = [dict(item) for item in current]
        for entry in _entries(value):
            if not isinstance(entry, dict):
                continue
            entry_id = "" if adding else _text(entry.get("ID"))
            if not entry_id:
                text = _text(entry.get("VALUE"))
                if text:
                    kind = _text(entry.get("VALUE_TYPE")) or "WORK"
                    item = {"ID": str(next(self._multi_ids)), "VALUE_TYPE": kind}
                    items.append(item | {"VALUE": text, "TYPE_ID": type_id})
                continue
            found = next((item for item in items if item["ID"] == entry_id), None)
            if found is None:
                continue
            text = _text(entry.get("VALUE"))
            if entry.get("DELETE") == "Y" or not text:
                items.remove(found)
                continue
            found["VALUE"] = text
            if _text(entry.get("VALUE_TYPE")):
                found["VALUE_TYPE"] = _text(entry.get("VALUE_TYPE"))
        return items

    def _crm_list(self, kind: str, user_id: int, params: Params) -> Outcome:
        """Filter, order, select and page like crm.*.list (reference §5, §6).

        `start` is rounded down to a page (the portal turns it into a page number); `start=-1` skips
        the count and answers the first page without `total` or `next`.
        """
        flt = params.get("FILTER")
        conditions = flt if isinstance(flt, dict) else {}
        rows = [
            r
            for r in self._crm[kind].entities.values()
            if all(self._matches(kind, r, str(k), v) for k, v in conditions.items())
        ]
        order = params.get("ORDER")
        for name, direction in reversed(list(order.items() if isinstance(order, dict) else [])):
            descending = _text(direction).upper() == "DESC"
            rows.sort(key=partial(_field_key, str(name)), reverse=descending)
        select = [_text(name) for name in _entries(params.get("SELECT"))]
        start = _int(params.get("START"))
        if start < 0:
            return Outcome([self._render(kind, r, select) for r in rows[:PAGE_SIZE]])
        offset = start // PAGE_SIZE * PAGE_SIZE
        page = [self._render(kind, r, select) for r in rows[offset : offset + PAGE_SIZE]]
        more = offset + PAGE_SIZE < len(rows)
        return Outcome(page, total=len(rows), next=offset + PAGE_SIZE if more else None)

    def _matches(self, kind: str, record: Params, key: str, expected: Any) -> bool:
        """One filter condition; a field the entity does not have is ignored, as by the portal.

        String equality is case-insensitive (the portal's MySQL collation); multi-fields match a
        value exactly only, whatever the operator.
        """
        match = _FILTER_KEY.match(key)
        assert match is not None  # the pattern matches any string
        op, name = match.group(1) or "", match.group(2)
        wanted = (
            [_text(e) for e in _entries(expected)] if _is_group(expected) else [_text(expected)]
        )
        if name in MULTI_FIELDS[kind]:
            hit = any(item["VALUE"] == w for item in record[name] for w in wanted)
            return not hit if op.startswith("!") else hit
        if name not in record:
            return True
        value = record[name]
        actual = [_text(v) for v in value] if isinstance(value, list) else [_text(value)]
        hit = any(_compare(op.lstrip("!") or "=", a, w) for a in actual for w in wanted)
        return not hit if op.startswith("!") else hit

    def _render(self, kind: str, record: Params, select: list[str] | None) -> dict[str, Any]:
        """An item as get (`select` None) or list answers it.

        A list answers the standard fields for an empty select or `*`, user fields for `UF_*`, and
        multi-fields only when named (reference §6); ID always. Empty multi-fields are left out.
        """
        userfields = list(self._crm[kind].userfields)
        if select is None:
            names = {*FIELDS[kind], *userfields, *MULTI_FIELDS[kind]}
        else:
            names = {"ID", *select}
            if not select or "*" in select:
                names |= set(FIELDS[kind])
            if "UF_*" in select:
                names |= set(userfields)
        out: dict[str, Any] = {}
        for name in (*FIELDS[kind], *userfields):
            if name in names:
                out[name] = copy.deepcopy(record[name])
        for name in MULTI_FIELDS[kind]:
            if name in names and record[name]:
                out[name] = copy.deepcopy(record[name])
        return out

    # --- CRM: user fields -------------------------------------------------------------------------

    def _uf_list(self, kind: str, user_id: int, params: Params) -> Outcome:
        flt = params.get("FILTER")
        conditions = flt if isinstance(flt, dict) else {}
        found = [
            copy.deepcopy(uf.definition)
            for uf in self._crm[kind].userfields.values()
            if all(_text(uf.definition.get(str(k))) == _text(v) for k, v in conditions.items())
        ]
        return Outcome(found, total=len(found))

    def _uf_add(self, kind: str, user_id: int, params: Params) -> Outcome:
        """FIELD_NAME gains `UF_CRM_`, is uppercased, A-Z0-9_ and at most 50 long, else ERROR_CORE.

        The duplicate-name error is not documented; the emulator answers ERROR_CORE (the user-field
        manager's failures all surface as that code) with its own text.
        """
        if user_id not in self.admins:
            raise _crm_error("Access denied.")
        fields = params.get("FIELDS")
        if not isinstance(fields, dict):
            raise _crm_error("The parameter 'fields' must be array.")
        name = _text(fields.get("FIELD_NAME")).upper()
        if not name:
            raise RestError("ERROR_CORE", "FIELD_NAME is not defined")
        if not name.startswith("UF_CRM_"):
            name = "UF_CRM_" + name
        if not _UF_NAME.match(name) or len(name) > UF_NAME_MAX:
            raise RestError("ERROR_CORE", f"Invalid field name {name}: A-Z, 0-9, _ and ≤ 50 long")
        user_type = _text(fields.get("USER_TYPE_ID"))
        if user_type not in USER_TYPES:
            raise RestError("ERROR_CORE", f"Unknown USER_TYPE_ID {user_type!r}")
        multiple = _text(fields.get("MULTIPLE")) == "Y"
        if user_type == "boolean" and multiple:
            raise RestError("ERROR_CORE", "A boolean field cannot be multiple")
        crm = self._crm[kind]
        if name in crm.userfields:
            raise RestError("ERROR_CORE", f"A field named {name} already exists")
        field_id = next(self._uf_ids)
        crm.userfields[name] = _UserField(
            {
                "ID": str(field_id),
                "ENTITY_ID": f"CRM_{kind.upper()}",
                "FIELD_NAME": name,
                "USER_TYPE_ID": user_type,
                "XML_ID": _text(fields.get("XML_ID")) or None,
                "SORT": _text(fields.get("SORT")) or "100",
                "MULTIPLE": "Y" if multiple else "N",
                "MANDATORY": "Y" if _text(fields.get("MANDATORY")) == "Y" else "N",
                "SHOW_FILTER": _text(fields.get("SHOW_FILTER")) or "N",
                "SHOW_IN_LIST": _text(fields.get("SHOW_IN_LIST")) or "Y",
                "EDIT_IN_LIST": _text(fields.get("EDIT_IN_LIST")) or "Y",
                "IS_SEARCHABLE": _text(fields.get("IS_SEARCHABLE")) or "N",
                "SETTINGS": copy.deepcopy(fields.get("SETTINGS")) or {},
            },
            multiple,
        )
        for record in crm.entities.values():
            record[name] = [] if multiple else None
        return Outcome(field_id)

    # --- the queue server (sandbox/bitrix24/queue.py) ---------------------------------------

    def install(self, install_url: str) -> httpx.Response:
        """POST the ONAPPINSTALL event to `install_url`; see `queue.install`."""
        from sandbox.bitrix24 import queue

        return queue.install(self, install_url)

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
        from sandbox.bitrix24 import queue

        return queue.send_message(
            self,
            module,
            phone,
            text,
            entity=entity,
            author_user_id=author_user_id,
            code=code,
        )


# --- PHP-flavoured value handling --------------------------------------------------------------


def php_empty(value: Any) -> bool:
    """PHP's empty(): null, false, 0, "", "0" and empty arrays."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value in ("", "0")
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, dict | list):
        return not value
    return False


def _text(value: Any) -> str:
    """A scalar as PHP would print it; arrays and null give ""."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, str | int | float):
        return str(value)
    return ""


def _stored(value: Any) -> str | None:
    return None if value is None or _is_group(value) else _text(value)


def _is_group(value: Any) -> bool:
    return isinstance(value, dict | list)


def _entries(value: Any) -> list[Any]:
    """A JSON list, or a form group (keys 0..n, or any keys) in order; anything else is empty."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return []


def _int(value: Any) -> int:
    """PHP's intval() of a parameter: leading digits, else 0."""
    match = _INT.match(_text(value))
    return int(match.group(1)) if match else 0


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text) else None


def _compare(op: str, actual: str, wanted: str) -> bool:
    if op == "%":
        return wanted.casefold() in actual.casefold()
    a_num, w_num = _number(actual), _number(wanted)
    a: Any = a_num if a_num is not None and w_num is not None else actual.casefold()
    w: Any = w_num if a_num is not None and w_num is not None else wanted.casefold()
    if op in ("=", "@"):
        return bool(a == w)
    if actual == "":  # NULL never compares
        return False
    return {">": a > w, ">=": a >= w, "<": a < w, "<=": a <= w}.get(op, False)


def _field_key(name: str, record: Params) -> tuple[int, float, str]:
    """NULLs first, then numbers by value, then strings (MySQL-like ascending order)."""
    value = record.get(name)
    text = _text(value)
    if value is None or text == "":
        return (0, 0.0, "")
    number = _number(text)
    return (1, number, "") if number is not None else (2, 0.0, text.casefold())


def _is_ip(host: str, quality: str) -> bool:
    try:
        return bool(getattr(ipaddress.ip_address(host), quality))
    except ValueError:
        return False


def _now() -> str:
    return datetime.now(MSK).isoformat(timespec="seconds")
