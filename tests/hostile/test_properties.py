"""Hostile input, property by property: the form parsers, then the endpoints over real HTTP.

Whatever arrives, the answer is a 2xx or a 4xx with a reason, nothing forged is stored or
applied, and the service stays healthy. The HTTP properties run a few dozen derandomized
examples against one running webhook each, so they are repeatable and quick.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from support import (
    APPLICATION_TOKEN,
    MEMBER_ID,
    SECRET,
    SMSRU_KEY,
    Webhook,
    signed_callback,
)
from support.databases import examples

from clients.smsru.callbacks import sign, status_record
from models import Message, Portal, StatusLog
from models.types import utcnow
from sandbox.bitrix24.messages import FORM_CONTENT_TYPE, Author, encode, message_fields
from smsbridge.endpoints import callback_path, handler_path, portal_handler_path
from webhook.forms import MAX_BODY, FormError, parse_php_form
from webhook.handler_request import HandlerRequest, RequestError

pytestmark = pytest.mark.usefixtures("smsru")

INT4_MAX = 2**31 - 1
PURE = settings(max_examples=400, derandomize=True, database=None, deadline=None)
OVER_HTTP = settings(
    max_examples=examples(40),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FIELDS = (
    "message_id",
    "code",
    "type",
    "message_to",
    "message_body",
    "module_id",
    "ts",
    "workflow_id",
    "bindings[0][OWNER_TYPE_ID]",
    "bindings[0][OWNER_ID]",
    "bindings[]",
    "document_id[0]",
    "document_id[2]",
    "properties[phone_number]",
    "properties[message_text]",
    "auth[member_id]",
    "auth[application_token]",
    "auth[user_id]",
)
PLAUSIBLE = ("smsru", "SMS", "sms", "+79255070602", "89161234567", "crm", "bizproc", "sender")
BAD_ESCAPES = ("%", "%G1", "%FF", "%C3", "%ED%A0%80", "%C0%AF", "%E9", "%%", "%2")

# --- strategies -----------------------------------------------------------------------------

key_parts = st.text(max_size=6)
bracketed_keys = st.builds(
    lambda base, parts: base + "".join(f"[{part}]" for part in parts),
    st.sampled_from(("auth", "bindings", "properties", "document_id", "x")) | key_parts,
    st.lists(key_parts, max_size=6),
)
form_keys = st.sampled_from(FIELDS) | bracketed_keys | st.text(max_size=12)
form_values = (
    st.text(max_size=40)
    | st.sampled_from(PLAUSIBLE)
    | st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)
    | st.integers(-(10**20), 10**20).map(str)
    | st.builds(lambda n: "ж" * n, st.integers(0, 6000))
)
form_pairs = st.lists(st.tuples(form_keys, form_values), max_size=14)


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    """A form-ish body: encoded pairs with bad escapes spliced in, raw bytes, or both."""
    body = urlencode(draw(form_pairs)).encode()
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from(BAD_ESCAPES)).encode() + body[at:]
    raw = draw(st.binary(max_size=64))
    return draw(st.sampled_from((body, raw, body + b"&" + raw)))


nested_forms = st.dictionaries(
    st.sampled_from(FIELDS) | st.sampled_from(("bindings", "auth", "properties")) | key_parts,
    st.recursive(
        form_values,
        lambda children: st.dictionaries(key_parts | st.integers(0, 3).map(str), children),
        max_leaves=8,
    ),
    max_size=10,
)


# --- the parsers ----------------------------------------------------------------------------


def _shape_ok(node: object, depth: int = 0) -> bool:
    if isinstance(node, str):
        return True
    return (
        isinstance(node, dict)
        and depth <= 5
        and all(isinstance(k, str) and _shape_ok(v, depth + 1) for k, v in node.items())
    )


@PURE
@given(body=st.binary(max_size=300) | hostile_bodies())
def test_php_form_parser_refuses_only_with_form_error(body: bytes) -> None:
    try:
        form = parse_php_form(body)
    except FormError as exc:
        assert str(exc)
        return
    assert isinstance(form, dict) and _shape_ok(form)


NO_NUL = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))


@PURE
@given(pairs=st.lists(st.tuples(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), NO_NUL)))
def test_flat_forms_read_back_as_written(pairs: list[tuple[str, str]]) -> None:
    assert parse_php_form(urlencode(pairs).encode()) == dict(pairs)


@PURE
@given(before=NO_NUL, after=NO_NUL)
def test_a_nul_anywhere_is_refused(before: str, after: str) -> None:
    with pytest.raises(FormError, match="NUL"):
        parse_php_form(urlencode({"message_body": before + "\x00" + after}).encode())


@settings(PURE, max_examples=250)
@given(form=nested_forms)
def test_handler_request_refuses_only_with_request_error(form: dict[str, Any]) -> None:
    try:
        request = HandlerRequest.from_form(form)
    except RequestError as exc:
        assert str(exc)
        return
    assert request.message_id and len(request.message_id) <= 64
    assert len(request.phone) <= 64 and len(request.text) <= 5000


# --- the handler over HTTP ------------------------------------------------------------------


def post(webhook: Webhook, path: str, body: bytes | Iterator[bytes]) -> httpx.Response:
    """A form POST on a connection of its own (a refused body may leave one unusable)."""
    with httpx.Client(base_url=webhook.server.url, timeout=30.0) as http:
        return http.post(path, content=body, headers={"Content-Type": FORM_CONTENT_TYPE})


def message_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Message)).one()


def assert_healthy(webhook: Webhook) -> None:
    health = webhook.http.get("/healthz")
    assert (health.status_code, health.json()["status"]) == (200, "ok"), health.text


def test_handler_answers_any_body_with_200_or_4xx(webhook: Webhook) -> None:
    statuses: set[int] = set()

    @OVER_HTTP
    @given(body=hostile_bodies())
    def run(body: bytes) -> None:
        response = post(webhook, webhook.handler_url, body)
        assert response.status_code in {200, 400, 403, 413, 422}, response.text
        answer = response.json()
        assert answer["ok"] is (response.status_code == 200)
        assert response.status_code == 200 or answer["error"]
        statuses.add(response.status_code)

    run()
    assert 400 in statuses
    assert_healthy(webhook)
    assert webhook.post_message().status_code == 200


secrets = st.text(min_size=1, max_size=80).filter(
    lambda s: "/" not in s and s.strip(".") != "" and s != SECRET
)


def test_forged_secrets_are_401(webhook: Webhook) -> None:
    body = encode(message_fields("crm", "+79255070602", "hi"))
    callback = urlencode(signed_callback([status_record("1-1", 103)])).encode()

    @OVER_HTTP
    @given(secret=secrets)
    def run(secret: str) -> None:
        for path, form in (
            (handler_path(MEMBER_ID, quote(secret, safe="")), body),
            (callback_path(quote(secret, safe="")), callback),
        ):
            response = post(webhook, path, form)
            assert response.status_code == 401, (path, response.text)
            assert SECRET not in response.text

    run()
    assert message_count(webhook.engine) == 0


def test_forged_auth_blocks_are_403_and_store_nothing(webhook: Webhook) -> None:
    # (A NUL anywhere is a malformed request, 400, before any check: test_a_nul_anywhere_….)
    tokens = NO_NUL.filter(lambda t: len(t) <= 64 and t != APPLICATION_TOKEN)
    members = NO_NUL.filter(lambda m: 1 <= len(m) <= 64 and m != MEMBER_ID)
    forged = st.builds(Author, st.just(MEMBER_ID), tokens) | st.builds(
        Author, members, st.just(APPLICATION_TOKEN)
    )

    @OVER_HTTP
    @given(author=forged)
    def run(author: Author) -> None:
        body = encode(message_fields("crm", "+79255070602", "hi", author=author))
        response = post(webhook, webhook.handler_url, body)
        assert response.status_code == 403, response.text
        assert APPLICATION_TOKEN not in response.text

    run()
    assert message_count(webhook.engine) == 0


# --- the SMS.ru callback over HTTP ----------------------------------------------------------


def sent_messages(engine: Engine, portal: Portal, count: int) -> list[str]:
    """Rows as the sender leaves them after SMS.ru took them; their sms_ids."""
    sms_ids = [f"{uuid.uuid4().int % 10**6:06d}-{n}" for n in range(count)]
    with Session(engine) as session:
        for sms_id in sms_ids:
            session.add(
                Message(
                    portal_id=portal.id,
                    message_id=uuid.uuid4().hex,
                    provider_code="smsru",
                    kind="transactional",
                    source="card",
                    recipient="+79255070602",
                    recipient_raw="+79255070602",
                    text="hi",
                    encoding="gsm7",
                    segments=1,
                    state="sent",
                    sms_id=sms_id,
                    sent_at=utcnow(),
                )
            )
        session.commit()
    return sms_ids


def statuses_of(engine: Engine, sms_ids: list[str]) -> dict[str, tuple[Any, ...]]:
    with Session(engine) as session:
        rows = session.exec(select(Message).where(col(Message.sms_id).in_(sms_ids))).all()
        return {
            row.sms_id or "": (row.state, row.status_code, row.final_at, row.cost, row.error)
            for row in rows
        }


def callback_log(engine: Engine) -> list[tuple[int, bool]]:
    with Session(engine) as session:
        query = (
            select(StatusLog.id, StatusLog.applied)
            .where(StatusLog.source == "callback")
            .order_by(col(StatusLog.id))
        )
        return [(row[0], row[1]) for row in session.exec(query).all()]


SMSRU_CODES = st.sampled_from((-1, 100, 101, 102, 103, 104, 105, 106, 107, 108, 150, 999))
records = st.one_of(
    st.builds(
        lambda sms_id, code, at: f"sms_status\n{sms_id}\n{code}\n{at}",
        st.text(max_size=20),
        SMSRU_CODES | st.integers(-(10**6), 10**6),
        st.integers(-(10**12), 10**12) | st.text(max_size=12),
    ),
    st.builds(lambda at: f"test\n{at}", st.integers(0, 2**40)),
    st.text(max_size=60),
)


@st.composite
def callback_bodies(draw: st.DrawFn) -> bytes:
    """Signed records (reaching the database), unsigned forms, or raw bytes."""
    values = draw(st.lists(records, max_size=8))
    form = {f"data[{n}]": value for n, value in enumerate(values)}
    if draw(st.booleans()):
        form["hash"] = sign(SMSRU_KEY, values)
    elif draw(st.booleans()):
        form["hash"] = draw(st.text(max_size=70))
    body = urlencode(form).encode()
    return draw(st.sampled_from((body, draw(st.binary(max_size=64)), body + b"&" + body)))


def test_callback_answers_any_body_with_100_or_4xx(webhook: Webhook) -> None:
    answers: set[int] = set()

    @OVER_HTTP
    @given(body=callback_bodies())
    def run(body: bytes) -> None:
        response = post(webhook, callback_path(SECRET), body)
        assert response.status_code in {200, 400, 403, 413}, response.text
        if response.status_code == 200:
            assert response.text == "100"
        else:
            assert response.json()["error"]
        answers.add(response.status_code)

    run()
    assert {200, 400, 403} <= answers
    assert_healthy(webhook)


def test_forged_hashes_are_403_and_change_nothing(webhook: Webhook, portal: Portal) -> None:
    [sms_id] = sent_messages(webhook.engine, portal, 1)
    values = [status_record(sms_id, 103)]
    right = sign(SMSRU_KEY, values)
    before = statuses_of(webhook.engine, [sms_id])
    hashes = (
        st.text(max_size=80)
        | st.from_regex(r"[0-9a-f]{64}", fullmatch=True)
        | st.text(max_size=20).map(lambda key: sign(key, values))
    ).filter(lambda h: h.strip().lower() != right)

    @OVER_HTTP
    @given(forged=hashes)
    def run(forged: str) -> None:
        form = {"data[0]": values[0], "hash": forged}
        response = post(webhook, callback_path(SECRET), urlencode(form).encode())
        assert response.status_code == 403, response.text

    run()
    assert statuses_of(webhook.engine, [sms_id]) == before
    assert callback_log(webhook.engine) == []


def test_a_replayed_callback_changes_nothing(webhook: Webhook, portal: Portal) -> None:
    @OVER_HTTP
    @given(codes=st.lists(SMSRU_CODES, min_size=1, max_size=5), unknown=st.booleans())
    def run(codes: list[int], unknown: bool) -> None:
        sms_ids = sent_messages(webhook.engine, portal, len(codes))
        values = [status_record(s, c) for s, c in zip(sms_ids, codes, strict=True)]
        if unknown:
            values.append(status_record("000000-404", 103))
        body = urlencode(signed_callback(values)).encode()
        first = post(webhook, callback_path(SECRET), body)
        assert (first.status_code, first.text) == (200, "100")
        after_first = statuses_of(webhook.engine, sms_ids)
        logged = callback_log(webhook.engine)
        again = post(webhook, callback_path(SECRET), body)
        assert (again.status_code, again.text) == (200, "100")
        assert statuses_of(webhook.engine, sms_ids) == after_first
        replayed = callback_log(webhook.engine)[len(logged) :]
        assert replayed and not any(applied for _, applied in replayed)

    run()


# --- sizes and encodings, on every form endpoint --------------------------------------------

ENDPOINTS = {
    "handler": portal_handler_path(MEMBER_ID, SECRET),
    "callback": callback_path(SECRET),
    "install": "/bitrix24/install",
}


def chunks(body: bytes, size: int = 8192) -> Iterator[bytes]:
    """The body without a Content-Length: httpx sends a generator chunked."""
    for at in range(0, len(body), size):
        yield body[at : at + size]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bodies_over_64_kib_are_413(webhook: Webhook, endpoint: str) -> None:
    path = ENDPOINTS[endpoint]

    @settings(OVER_HTTP, max_examples=examples(10))
    @given(size=st.integers(MAX_BODY + 1, 2 * MAX_BODY), streamed=st.booleans())
    def run(size: int, streamed: bool) -> None:
        body = b"message_body=" + b"x" * (size - len(b"message_body="))
        response = post(webhook, path, chunks(body) if streamed else body)
        assert response.status_code == 413, response.text
        assert str(MAX_BODY) in response.json()["error"]

    run()
    at_the_limit = b"message_body=" + b"x" * (MAX_BODY - len(b"message_body="))
    assert post(webhook, path, chunks(at_the_limit)).status_code == 400
    assert message_count(webhook.engine) == 0


latin1 = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), min_size=1).map(
    lambda text: text.encode("latin-1")
)
not_utf8 = (latin1 | st.binary(min_size=1, max_size=40)).filter(lambda raw: not _is_utf8(raw))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bodies_not_in_utf8_are_400(webhook: Webhook, endpoint: str) -> None:
    path = ENDPOINTS[endpoint]
    valid = {
        "handler": urlencode(message_fields("crm", "+79255070602", "hi")),
        "callback": urlencode(signed_callback([status_record("1-1", 103)])),
        "install": "event=ONAPPINSTALL",
    }[endpoint].encode()

    @OVER_HTTP
    @given(bad=not_utf8)
    def run(bad: bytes) -> None:
        for body in (valid + b"&message_body=" + bad, bad + b"=1&" + valid):
            response = post(webhook, path, body)
            assert response.status_code == 400, response.text
            assert "UTF-8" in response.json()["error"] or "form" in response.json()["error"]

    run()
    if endpoint != "callback":  # parse_qsl there replaces bad escapes; the hash then fails
        escaped = valid + b"&message_body=caf%E9"
        assert post(webhook, path, escaped).status_code == 400
    assert message_count(webhook.engine) == 0


# --- found by fuzzing: each was a 500 or a PostgreSQL-only 503 (a lost message) -------------

OWNER = "message_id=found{n}&code=smsru&message_to=%2B79255070602&message_body=hi"


HANDLER_BUGS = [
    pytest.param(
        "&bindings[0][OWNER_TYPE_ID]=2&bindings[0][OWNER_ID]=%C2%B2",
        id="superscript-owner-id",
    ),
    pytest.param(
        "&bindings[0][OWNER_TYPE_ID]=2&bindings[0][OWNER_ID]=999999999999",
        id="entity-id-beyond-int4",
    ),
    pytest.param(
        "&message_body=h%00i",
        id="nul-in-text",
    ),
    pytest.param(
        "&module_id=" + "x" * 65,
        id="module-id-too-long",
    ),
]


@pytest.mark.parametrize("extra", HANDLER_BUGS)
def test_found_handler_inputs_get_no_5xx(webhook: Webhook, extra: str) -> None:
    response = post(webhook, webhook.handler_url, (OWNER.format(n=1) + extra).encode())
    assert response.status_code < 500, response.text


INSTALL_BUGS = [
    pytest.param(
        {"auth[expires_in]": "²"},
        id="superscript-expires-in",
    ),
    pytest.param(
        {"auth[expires_in]": "9" * 30},
        id="huge-expires-in",
    ),
    pytest.param(
        {"auth[member_id]": "m" * 65},
        id="member-id-too-long",
    ),
    pytest.param(
        {"auth[refresh_token]": "r\x00r"},
        id="nul-in-token",
    ),
]


@pytest.mark.parametrize("fields", INSTALL_BUGS)
def test_found_install_inputs_get_no_500(
    installed: Webhook, bitrix24: Any, fields: dict[str, str]
) -> None:
    form = {
        "event": "ONAPPINSTALL",
        "auth[member_id]": "another-portal",
        "auth[access_token]": "forged-access",
        "auth[refresh_token]": "forged-refresh",
        "auth[application_token]": "forged-app",
        "auth[client_endpoint]": bitrix24.client_endpoint,
    }
    response = post(installed, "/bitrix24/install", urlencode(form | fields).encode())
    assert response.status_code in {200, 400, 403, 502}, response.text


def test_found_signed_callback_with_a_huge_code(webhook: Webhook, portal: Portal) -> None:
    [sms_id] = sent_messages(webhook.engine, portal, 1)
    body = urlencode(signed_callback([f"sms_status\n{sms_id}\n{'9' * 30}\n1"])).encode()
    response = post(webhook, callback_path(SECRET), body)
    assert (response.status_code, response.text) == (200, "100")
