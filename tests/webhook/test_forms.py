import pytest

from webhook.forms import FormError, as_list, parse_php_form


def test_nested_fields_as_php_reads_them() -> None:
    body = (
        b"module_id=crm&bindings%5B0%5D%5BOWNER_TYPE_ID%5D=1&bindings[0][OWNER_ID]=98"
        b"&document_id[0]=crm&document_id[2]=LEAD_98&auth[member_id]=abc&x[]=1&x[]=2&empty="
    )
    assert parse_php_form(body) == {
        "module_id": "crm",
        "bindings": {"0": {"OWNER_TYPE_ID": "1", "OWNER_ID": "98"}},
        "document_id": {"0": "crm", "2": "LEAD_98"},
        "auth": {"member_id": "abc"},
        "x": {"0": "1", "1": "2"},
        "empty": "",
    }


def test_utf8_values() -> None:
    form = parse_php_form("message_body=Привет+мир%21".encode())
    assert form["message_body"] == "Привет мир!"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"a=1&a[b]=2", "both a value and a group"),
        (b"a[b]=2&a=1", "both a value and a group"),
        (b"\xff=1", "not valid UTF-8"),
        (b"a=%FF", "not valid UTF-8"),
        (b"[x]=1", "malformed field name"),
        (b"a[b=1", "malformed field name"),
        (b"a[1][2][3][4][5]=1", "nested too deeply"),
        (b"&".join(b"f%d=1" % n for n in range(600)), "more than 500 fields"),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(FormError, match=reason):
        parse_php_form(body)


def test_as_list_orders_numeric_keys() -> None:
    assert as_list({"10": "c", "2": "b", "0": "a"}) == ["a", "b", "c"]
    with pytest.raises(FormError):
        as_list({"x": "1"})
    with pytest.raises(FormError):
        as_list("scalar")
