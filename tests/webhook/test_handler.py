"""The Bitrix24 handler over real HTTP: what it stores, what it refuses, and what it answers.

A repeated message_id is tested in test_intake.py (stored once) and test_sender.py (concurrent
repeats over HTTP: one row, one send)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from support import MEMBER_ID, SECRET, Webhook

from models import StatusLog
from sandbox.bitrix24.messages import Author, encode, message_fields
from smsbridge.endpoints import handler_path, portal_handler_path

pytestmark = pytest.mark.usefixtures("smsru")


def test_crm_card_send_is_stored_with_its_bindings(webhook: Webhook) -> None:
    response = webhook.post_message(
        "crm", "+7 (925) 507-06-02", "Заказ принят", entity=("lead", 98)
    )
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    [message] = webhook.messages()
    assert message.recipient == "+79255070602"
    assert message.recipient_raw == "+7 (925) 507-06-02"
    assert (message.kind, message.source, message.module_id) == ("transactional", "card", "crm")
    assert message.bindings == [{"OWNER_TYPE_ID": "1", "OWNER_ID": "98"}]
    assert (message.encoding, message.segments) == ("ucs2", 1)
    assert message.provider_code == "smsru"
    assert message.author_id == "1"
    with Session(webhook.engine) as session:
        [entry] = session.exec(select(StatusLog).where(StatusLog.source == "handler")).all()
    assert (entry.message_pk, entry.source, entry.state) == (message.id, "handler", "queued")


def test_robot_send_keeps_its_document(webhook: Webhook) -> None:
    text = "Your order has shipped. " * 8  # 192 GSM-7 characters: two segments
    assert (
        webhook.post_message("bizproc", "89161234567", text, entity=("deal", 7)).status_code == 200
    )
    [message] = webhook.messages()
    assert (message.kind, message.source) == ("transactional", "robot")
    assert message.document_id == ["crm", "CCrmDocumentDeal", "DEAL_7"]
    assert message.document_type == ["crm", "CCrmDocumentDeal", "DEAL"]
    assert message.workflow_id
    assert (message.recipient, message.encoding, message.segments) == ("+79161234567", "gsm7", 2)


def test_marketing_send_without_an_author(webhook: Webhook) -> None:
    response = webhook.post_message("sender", "+79031234567", "Скидка 20%", author=False)
    assert response.status_code == 200
    [message] = webhook.messages()
    assert (message.kind, message.source, message.author_id) == ("marketing", "campaign", None)


def test_wrong_secret_is_refused_and_nothing_stored(webhook: Webhook) -> None:
    body = encode(message_fields("crm", "+79255070602", "hi"))
    response = webhook.post_form(body, handler_path(MEMBER_ID, "not-the-secret"))
    assert response.status_code == 401
    assert "secret" in response.json()["error"]
    assert SECRET not in response.text
    assert webhook.messages() == []


def test_wrong_application_token_is_refused_and_nothing_stored(webhook: Webhook) -> None:
    forged = Author(MEMBER_ID, "0" * 32)
    response = webhook.post_form(encode(message_fields("crm", "+79255070602", "hi", author=forged)))
    assert response.status_code == 403
    assert "application_token" in response.json()["error"]
    assert webhook.messages() == []


def test_auth_of_another_portal_is_refused(webhook: Webhook) -> None:
    other = Author("f" * 32, "51856fefc120afa4b628cc82d3935cce")
    response = webhook.post_form(encode(message_fields("crm", "+79255070602", "hi", author=other)))
    assert response.status_code == 403
    assert webhook.messages() == []


def test_unknown_portal(webhook: Webhook) -> None:
    body = encode(message_fields("crm", "+79255070602", "hi"))
    response = webhook.post_form(body, portal_handler_path("0" * 32, SECRET))
    assert response.status_code == 404
    assert "portal" in response.json()["error"]


MALFORMED = [
    b"",
    b"message_id=",
    b"\xff\xfe\x00garbage",
    b"message_id=abc&code=smsru&message_to=%FF%FE",
    b"message_id=abc&message_id[x]=1",
    b"message_id=abc&code=smsru&type=MMS&message_to=%2B79255070602&message_body=hi",
    b"message_id=a b c&code=smsru&message_to=1&message_body=x",
    b"code=smsru&message_to=%2B79255070602&message_body=hi",
    b"message_id=abc&code=sms/ru&message_to=%2B79255070602&message_body=hi",
    b"message_id=abc&code=smsru&auth=1&message_to=%2B79255070602&message_body=hi",
    b"a[[b]]=1",
    b"=&=&=",
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_bodies_get_a_400_with_a_reason(webhook: Webhook, body: bytes) -> None:
    response = webhook.post_form(body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]
    assert webhook.messages() == []


def test_wrong_content_type_and_oversized_bodies(webhook: Webhook) -> None:
    as_json = webhook.http.post(webhook.handler_url, json={"message_id": "abc"})
    assert as_json.status_code == 415
    huge = webhook.post_form(b"message_body=" + b"x" * 70_000)
    assert huge.status_code == 413
    assert webhook.messages() == []


def test_service_stays_healthy_after_bad_input(webhook: Webhook) -> None:
    for body in MALFORMED:
        webhook.post_form(body)
    assert webhook.http.get("/healthz").json() == {
        "status": "ok",
        "database": "ok",
        "sender": "running",
        "pusher": "running",
    }
    assert webhook.post_message().status_code == 200


@pytest.mark.parametrize(
    ("phone", "text", "reason", "failure"),
    [
        ("not a phone", "hi", "message_to: not a phone number", "invalid_number"),
        ("+7 925", "hi", "message_to: not a valid phone number", "invalid_number"),
        # Keypad letters are not guessed into digits (+79992221234 is a stranger).
        ("+7999abc1234", "hi", "message_to: has letters: not a phone number", "invalid_number"),
        ("+79255070602", "", "the text is empty", "empty_text"),
        (
            "+79255070602",
            "ж" * 540,
            "the text needs 9 SMS (ucs2); SMS.ru sends at most 8",
            "too_long",
        ),
    ],
)
def test_unsendable_content_is_stored_as_failed(
    webhook: Webhook, smsru: object, phone: str, text: str, reason: str, failure: str
) -> None:
    response = webhook.post_message("crm", phone, text)
    assert response.status_code == 422
    assert response.json()["error"] == reason
    [message] = webhook.messages()
    assert (message.state, message.error, message.failure) == ("failed", reason, failure)
    assert message.final_at is not None


def test_unknown_paths_and_methods(webhook: Webhook) -> None:
    assert webhook.http.get("/nope").status_code == 404
    assert webhook.http.get(webhook.handler_url).status_code == 405
