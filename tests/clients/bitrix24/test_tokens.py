"""refresh_tokens against httpx.MockTransport, with the documented and reported OAuth replies."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from support import RECORDED as RECORDINGS_ROOT

from clients.bitrix24.errors import Bitrix24Unavailable, OAuthError
from clients.bitrix24.tokens import TokenPair, refresh_tokens

RECORDED = RECORDINGS_ROOT / "bitrix24"
OAUTH_URL = "https://oauth.bitrix.info"
CLIENT_ID = "local.5f0c2c8a1b2c34.12345678"
CLIENT_SECRET = "Sx9LqYwW1oPzT7rEeFhGjKl2MnBvC3xZaQ4sDf5GhJk6LzXcVb"
REFRESH_TOKEN = "3s6lr4kr3cv2od4v853gvrchb875bwxb-old"


def load(name: str) -> dict[str, Any]:
    path = RECORDED / name
    assert path.is_file(), f"recorded Bitrix24 payload missing at {path}"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def refresh(
    body: bytes | str | dict[str, Any], status: int = 200, seen: list[httpx.Request] | None = None
) -> TokenPair:
    content = json.dumps(body).encode() if isinstance(body, dict) else body

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, content=content)

    async def main() -> TokenPair:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await refresh_tokens(http, OAUTH_URL, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)

    return asyncio.run(main())


def test_documented_refresh_reply() -> None:
    body = load("docs/docs_oauth_refresh_response.json")["body_json"]
    seen: list[httpx.Request] = []
    pair = refresh(body, seen=seen)
    assert pair == TokenPair(
        access_token="ydtj8pho532wydb5ixk78ol7uqlb7sch",
        refresh_token="3s6lr4kr3cv2od4v853gvrchb875bwxb",
        expires_at=datetime(2026, 6, 1, 13, 9, 42, tzinfo=UTC),
        client_endpoint="https://portal.bitrix24.com/rest/",
        member_id="a223c6b3710f85df22e9377d6c4f7553",
        domain="portal.bitrix24.com",  # the portal, not the reply's "oauth.bitrix.info"
    )
    assert pair.expires_at.timestamp() == body["expires"]


def test_request_is_a_post_form_with_nothing_secret_in_the_url() -> None:
    body = load("docs/docs_oauth_refresh_response.json")["body_json"]
    seen: list[httpx.Request] = []
    refresh(body, seen=seen)
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://oauth.bitrix.info/oauth/token/"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }


def test_httpx_request_log_holds_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    body = load("docs/docs_oauth_refresh_response.json")["body_json"]
    with caplog.at_level(logging.DEBUG, logger="httpx"):  # whatever an earlier test configured
        refresh(body)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "oauth/token" in logged  # httpx did log the request
    assert CLIENT_SECRET not in logged and REFRESH_TOKEN not in logged


@pytest.mark.parametrize("index", [0, 1])
def test_reported_refresh_replies(index: int) -> None:
    item = load("rest/oauth_token_responses_observed.json")["items"][index]
    body = item["body_json"]
    pair = refresh(item["body_text"] or body)
    assert pair.access_token == body["access_token"]
    assert pair.refresh_token == body["refresh_token"]
    assert pair.expires_at == datetime.fromtimestamp(body["expires"], UTC)
    assert pair.client_endpoint == body["client_endpoint"]
    assert pair.domain == httpx.URL(body["client_endpoint"]).host
    assert pair.member_id == body["member_id"]


def test_expires_in_when_there_is_no_expires() -> None:
    body = load("docs/docs_oauth_refresh_response.json")["body_json"]
    del body["expires"]
    before = datetime.now(UTC)
    pair = refresh(body)
    assert before + timedelta(seconds=3600) <= pair.expires_at
    assert pair.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)


def oauth_error(error: str) -> OAuthError:
    body = {"error": error, "error_description": f"refused {REFRESH_TOKEN} {CLIENT_SECRET}"}
    with pytest.raises(OAuthError) as caught:
        refresh(body, status=400 if error != "invalid_client" else 401)
    return caught.value


@pytest.mark.parametrize("code", load("docs/docs_errors.json")["oauth_server_errors"]["codes"])
def test_oauth_errors(code: str) -> None:
    error = oauth_error(code)
    assert error.error == code
    assert error.revoked is (code in {"invalid_grant", "invalid_client", "PAYMENT_REQUIRED"})
    for text in (str(error), repr(error), str(error.args)):
        assert REFRESH_TOKEN not in text and CLIENT_SECRET not in text


def test_documented_payment_required_body() -> None:
    body = load("docs/docs_errors.json")["oauth_server_errors"]["example_body"]
    with pytest.raises(OAuthError) as caught:
        refresh(body, status=400)
    assert str(caught.value) == "PAYMENT_REQUIRED: Payment required"
    assert caught.value.revoked


def test_oauth_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(oauth_error("invalid_grant")))
    assert isinstance(error, OAuthError) and error.revoked
    assert error.description == "refused *** ***"


@pytest.mark.parametrize(
    ("status", "body", "maybe_processed"),
    [
        (502, b"<html>Bad Gateway</html>", False),
        (200, b"not json", True),
        (200, b'["a list"]', True),
        (200, b'{"access_token": "x", "expires_in": 3600}', True),  # no refresh token
        (
            200,
            b'{"access_token": "", "refresh_token": "r", "client_endpoint": "e", "expires": 1}',
            True,
        ),
    ],
)
def test_unusable_replies(status: int, body: bytes, maybe_processed: bool) -> None:
    with pytest.raises(Bitrix24Unavailable) as caught:
        refresh(body, status)
    assert caught.value.maybe_processed is maybe_processed
    assert caught.value.status == status


@pytest.mark.parametrize(
    ("exc_type", "maybe_processed"), [(httpx.ConnectError, False), (httpx.ReadTimeout, True)]
)
def test_transport_failures(exc_type: type[httpx.TransportError], maybe_processed: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"failed with {REFRESH_TOKEN} and {CLIENT_SECRET}", request=request)

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            await refresh_tokens(http, OAUTH_URL + "/", CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)

    with pytest.raises(Bitrix24Unavailable) as caught:
        asyncio.run(main())
    error = caught.value
    assert error.maybe_processed is maybe_processed
    assert error.__cause__ is None and error.__suppress_context__
    for text in (str(error), repr(error)):
        assert REFRESH_TOKEN not in text and CLIENT_SECRET not in text
        assert exc_type.__name__ in text


def test_token_pair_repr_hides_the_tokens() -> None:
    pair = TokenPair("access-SECRET-1", "refresh-SECRET-2", datetime.now(UTC), "https://p/rest/")
    for text in (repr(pair), str(pair)):
        assert "SECRET" not in text
        assert "https://p/rest/" in text
