import json
import re

import pytest
from support import RECORDED as RECORDINGS_ROOT

from models import Message
from models.types import max_length
from webhook.forms import parse_php_form
from webhook.handler_request import HandlerRequest, RequestError

RECORDED = RECORDINGS_ROOT / "bitrix24"


def recorded_form(name: str) -> dict[str, str]:
    return json.loads((RECORDED / "docs" / name).read_text())["form_fields"]


def parse(fields: dict[str, str]) -> HandlerRequest:
    from urllib.parse import urlencode

    return HandlerRequest.from_form(parse_php_form(urlencode(fields).encode()))


def test_crm_card_send_from_the_documentation() -> None:
    request = parse(recorded_form("docs_messageservice_handler_crm_print_r.json"))
    assert request.message_id == "72dd742c8270db0ddbbab92f98877537"
    assert request.code == "example"
    assert request.module_id == "crm"
    assert request.bindings == [{"OWNER_TYPE_ID": "1", "OWNER_ID": "98"}]
    assert request.text == "test message"
    assert request.phone == "+1**********"
    assert request.auth is None


def test_bizproc_send_from_the_documentation() -> None:
    request = parse(recorded_form("docs_messageservice_handler_bizproc_print_r.json"))
    assert request.module_id == "bizproc"
    assert request.workflow_id == "59ce38567ff2a5.26351167"
    assert request.document_id == ["crm", "CCrmDocumentLead", "LEAD_98"]
    assert request.document_type == ["crm", "CCrmDocumentLead", "LEAD"]
    assert request.bindings is None


def test_properties_stand_in_for_missing_top_level_fields() -> None:
    fields = recorded_form("docs_messageservice_handler_tutorial.json")
    del fields["message_to"], fields["message_body"]
    request = parse(fields)
    assert request.phone == "+19990000000"
    assert request.text == "Your confirmation code: 1234"


def test_auth_block_is_kept() -> None:
    fields = recorded_form("docs_messageservice_handler_tutorial.json")
    fields |= {"auth[member_id]": "m1", "auth[application_token]": "t1", "auth[user_id]": "7"}
    assert parse(fields).auth == {"member_id": "m1", "application_token": "t1", "user_id": "7"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"message_id": None}, "message_id is missing"),
        ({"message_id": "has spaces in it"}, "message_id must be"),
        ({"code": None}, "code is missing"),
        ({"code": "no/slash"}, "not a valid provider CODE"),
        ({"type": "EMAIL"}, "is not SMS"),
        ({"message_to": "9" * 65}, "longer than 64"),
        ({"message_body": "x" * 5001}, "longer than 5000"),
        ({"bindings[0]": "scalar"}, "bindings"),
        ({"document_id[x]": "crm"}, "document_id"),
        ({"auth": "scalar"}, "auth must be a group"),
        ({"message_id[0]": "x"}, "message_id must be a single value"),
    ],
)
def test_malformed_requests(change: dict[str, str | None], reason: str) -> None:
    fields: dict[str, str] = recorded_form("docs_messageservice_handler_tutorial.json")
    if "bindings[0]" in change:
        fields = {k: v for k, v in fields.items() if not k.startswith("bindings")}
    if "message_id[0]" in change:
        del fields["message_id"]
    for key, value in change.items():
        if value is None:
            fields.pop(key)
        else:
            fields[key] = value
    with pytest.raises(RequestError, match=reason):
        parse(fields)


@pytest.mark.parametrize(
    ("field", "column", "character", "reason"),
    [
        ("message_id", Message.message_id, "a", "message_id must be 1–{limit} letters"),
        ("code", Message.provider_code, "a", "code is not a valid provider CODE"),
        ("message_to", Message.recipient_raw, "9", "message_to is longer than {limit}"),
        ("module_id", Message.module_id, "m", "module_id is longer than {limit}"),
        ("auth[user_id]", Message.author_id, "7", "auth[user_id] is longer than {limit}"),
    ],
)
def test_a_value_the_column_holds_is_taken_and_a_longer_one_refused(
    field: str, column: object, character: str, reason: str
) -> None:
    """The limits are the table's: what passes the check can be stored, and nothing is cut."""
    limit = max_length(column)
    fields = recorded_form("docs_messageservice_handler_tutorial.json")
    parse(fields | {field: character * limit})
    with pytest.raises(RequestError, match=re.escape(reason.format(limit=limit))):
        parse(fields | {field: character * (limit + 1)})


def test_a_long_workflow_id_is_cut_to_what_the_column_holds() -> None:
    """Only Bitrix24's own bookkeeping, never compared: cut rather than refuse the message."""
    fields = recorded_form("docs_messageservice_handler_bizproc_print_r.json")
    request = parse(fields | {"workflow_id": "w" * 100})
    assert request.workflow_id == "w" * max_length(Message.workflow_id)
