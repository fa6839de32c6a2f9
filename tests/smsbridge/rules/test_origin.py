import pytest

from smsbridge.rules.origin import Kind, Source, classify_origin, crm_entity


@pytest.mark.parametrize(
    ("module_id", "kind", "source"),
    [
        ("crm", Kind.TRANSACTIONAL, Source.CARD),
        ("bizproc", Kind.TRANSACTIONAL, Source.ROBOT),
        ("sender", Kind.MARKETING, Source.CAMPAIGN),
        ("SENDER", Kind.MARKETING, Source.CAMPAIGN),
        ("tasks", Kind.TRANSACTIONAL, Source.OTHER),
        (None, Kind.TRANSACTIONAL, Source.OTHER),
    ],
)
def test_classify_origin(module_id: str | None, kind: Kind, source: Source) -> None:
    assert classify_origin(module_id) == (kind, source)


@pytest.mark.parametrize(
    ("bindings", "document_id", "entity"),
    [
        (None, ["crm", "CCrmDocumentDeal", "DEAL_7"], ("deal", 7)),
        (None, ["crm", "CCrmDocumentLead", "LEAD_98"], ("lead", 98)),
        ([{"OWNER_TYPE_ID": "3", "OWNER_ID": "123"}], None, ("contact", 123)),
        ([{"OWNER_TYPE_ID": "1", "OWNER_ID": "98"}], None, ("lead", 98)),
        (
            [{"OWNER_TYPE_ID": "9", "OWNER_ID": "1"}, {"OWNER_TYPE_ID": "2", "OWNER_ID": "5"}],
            None,
            ("deal", 5),
        ),
        (None, ["crm", "X", "SMART_1"], None),
        ([{"OWNER_TYPE_ID": "2", "OWNER_ID": "x"}], None, None),
        (None, None, None),
    ],
)
def test_crm_entity(
    bindings: list[dict[str, str]] | None, document_id: list[str] | None, entity: object
) -> None:
    assert crm_entity(bindings, document_id) == entity
