"""Schemathesis against `docs/openapi.yaml` and the running webhook, over real HTTP.

Each operation gets valid and invalid requests, some with the real secret and member_id in the
path so the fuzz reaches past the 401. Whatever comes in, the answer is never a 5xx, and its
status, content type and body are the ones the description documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session, select
from support import APPLICATION_TOKEN, MEMBER_ID, SECRET, SMSRU_KEY, Webhook
from support.databases import examples

from clients.smsru.callbacks import ordered_values, sign
from models import Portal
from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.frame import token as frame_token
from smsbridge.secret import handler_secret

pytestmark = pytest.mark.usefixtures("smsru")

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
SCHEMA = schemathesis.openapi.from_path(SPEC)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = examples(50)
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
Rewrite = Callable[[Case, st.DataObject], None]


def cases(method: str, path: str, real_path: dict[str, str] | None = None) -> st.SearchStrategy:
    """Valid and invalid requests; with `real_path`, half of them carry our real path values."""
    op = SCHEMA[path][method]
    paths = [None, real_path] if real_path else [None]
    strategies = [
        op.as_strategy(generation_mode=mode, path_parameters=values)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for values in paths
    ]
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)


def fuzz(
    webhook: Webhook,
    method: str,
    path: str,
    rewrite: Rewrite | None = None,
    upstream_failure: str | None = None,
    **real: str,
) -> Counter[int]:
    """Fuzz one operation; how many answers of each status it got.

    `upstream_failure` is the reason of the one 5xx an operation documents (install answers 502
    when it stored the portal but the portal refused to register us); any other 5xx fails.
    """
    statuses: Counter[int] = Counter()
    checks = CHECKS if upstream_failure is None else CHECKS[1:]

    @FUZZ
    @given(case=cases(method, path, real or None), data=st.data())
    def run(case: Case, data: st.DataObject) -> None:
        if rewrite is not None:
            rewrite(case, data)
        response = case.call(base_url=webhook.server.url, timeout=30)
        case.validate_response(response, checks=checks)
        if response.status_code >= 500:
            assert response.status_code == 502, response.text
            assert upstream_failure and upstream_failure in response.json()["error"]
        statuses[response.status_code] += 1

    run()
    health = webhook.http.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    print(f"{method} {path}: {sum(statuses.values())} fuzz cases, statuses {dict(statuses)}")
    return statuses


def toward_intake(case: Case, data: st.DataObject) -> None:
    """Sometimes the portal's own auth block and a real number, so that messages get stored."""
    if not isinstance(case.body, dict):
        return
    if data.draw(st.booleans(), label="our auth block"):
        case.body["auth[member_id]"] = MEMBER_ID
        case.body["auth[application_token]"] = APPLICATION_TOKEN
    if data.draw(st.booleans(), label="a real number"):
        case.body["message_to"] = "+79255070602"


def signed(case: Case, data: st.DataObject) -> None:
    """Sometimes a right hash, so that the records reach the database."""
    body = case.body
    if not isinstance(body, dict) or not data.draw(st.booleans(), label="signed"):
        return
    records = {key: value for key, value in body.items() if ordered_values({key: ""})}
    if all(isinstance(value, str) for value in records.values()):
        body["hash"] = sign(SMSRU_KEY, ordered_values(records))


def test_healthz_and_metrics(webhook: Webhook) -> None:
    assert fuzz(webhook, "GET", "/healthz") == {200: 1}  # no parameters: one request to make
    assert fuzz(webhook, "GET", "/metrics") == {200: 1}


def test_handler(webhook: Webhook) -> None:
    path = "/bitrix24/handler/{member_id}/{secret}"
    secret = handler_secret(SECRET, MEMBER_ID)
    statuses = fuzz(webhook, "POST", path, toward_intake, member_id=MEMBER_ID, secret=secret)
    assert statuses.total() == EXAMPLES
    assert {400, 401} <= set(statuses), "the fuzz did not reach past the secret check"
    assert {200, 422} & set(statuses), "no fuzz case was stored"


def test_smsru_callback(webhook: Webhook) -> None:
    statuses = fuzz(webhook, "POST", "/smsru/callback/{secret}", signed, secret=SECRET)
    assert statuses.total() == EXAMPLES
    assert {200, 401, 403} <= set(statuses), "the fuzz did not reach past the signature check"


def test_install(installed: Webhook, bitrix24: PortalEmulator) -> None:
    endpoint = "auth[server_endpoint]"

    def to_the_emulator(case: Case, data: st.DataObject) -> None:
        """Every install names the emulated authorization server: nothing leaves loopback."""
        if isinstance(case.body, dict):
            assume(not any("server_endpoint" in key for key in case.body if key != endpoint))
            if data.draw(st.booleans(), label="the trusted authorization server"):
                case.body[endpoint] = f"{bitrix24.oauth_url}/rest/"
            if data.draw(st.booleans(), label="the installed portal's member_id"):
                case.body["auth[member_id]"] = MEMBER_ID
        else:
            assume("server_endpoint" not in str(case.body))

    statuses = fuzz(installed, "POST", "/bitrix24/install", to_the_emulator, "registration failed")
    assert statuses.total() == EXAMPLES
    assert 403 in statuses, "no forged re-install of the installed portal was tried"
    with Session(installed.engine) as session:
        portal = session.exec(select(Portal).where(Portal.member_id == MEMBER_ID)).one()
    assert portal.application_token == bitrix24.application_token, "a forged install took it"


def test_uninstall_and_update(installed: Webhook, bitrix24: PortalEmulator) -> None:
    """Forged app events, some naming the installed portal: none is believed."""

    def at_the_installed_portal(case: Case, data: st.DataObject) -> None:
        if isinstance(case.body, dict) and data.draw(st.booleans(), label="our member_id"):
            case.body["auth[member_id]"] = MEMBER_ID

    for path in ("/bitrix24/uninstall", "/bitrix24/update"):
        statuses = fuzz(installed, "POST", path, at_the_installed_portal)
        assert statuses.total() == EXAMPLES
        assert {400, 403} <= set(statuses) and 200 not in statuses
    with Session(installed.engine) as session:
        portal = session.exec(select(Portal).where(Portal.member_id == MEMBER_ID)).one()
    assert portal.refresh_token and portal.uninstalled_at is None, "a forged uninstall took it"


def with_page_token(case: Case, data: st.DataObject) -> None:
    """Sometimes a real token of the portal's admin, so that the fuzz reaches the forms."""
    if isinstance(case.body, dict) and data.draw(st.booleans(), label="a real token"):
        case.body["token"] = frame_token.issue(SECRET, MEMBER_ID, 1, True)
        if data.draw(st.booleans(), label="a real action"):
            case.body["action"] = data.draw(st.sampled_from(PAGE_ACTIONS), label="action")


PAGE_ACTIONS = ("key", "sender", "test_mode", "policy", "stop_add", "stop_remove", "stop_import")


def test_app_page(installed: Webhook) -> None:
    for path in ("/bitrix24/app", "/bitrix24/app/install"):
        statuses = fuzz(installed, "POST", path)
        assert statuses.total() == EXAMPLES and not {200} & set(statuses)  # nothing forged gets in
    for path in ("/bitrix24/app/view", "/bitrix24/app/settings", "/bitrix24/app/probe"):
        statuses = fuzz(installed, "POST", path, with_page_token)
        assert statuses.total() == EXAMPLES
        assert {200, 400} & set(statuses), f"{path}: the fuzz did not reach past the token"
    fuzz(installed, "GET", "/bitrix24/app/probe/{pk}")
