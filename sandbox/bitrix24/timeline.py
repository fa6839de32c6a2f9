"""CRM timeline comments: `crm.timeline.comment.add` (fields ENTITY_ID, ENTITY_TYPE, COMMENT).

The reply is the new comment's id, an integer; a missing field is refused as the CRM refuses
bad parameters (400 with its message). Tests read what the manager would see with `comments`.
"""

from __future__ import annotations

from typing import NamedTuple

from sandbox.bitrix24.rest import Caller, Outcome, Params, RestError

ENTITY_TYPES = frozenset({"lead", "deal", "contact", "company", "quote", "order"})


class Comment(NamedTuple):
    id: int
    entity_type: str
    entity_id: int
    text: str
    author_id: int


class Timeline:
    def __init__(self) -> None:
        self.comments: list[Comment] = []

    def comment_add(self, caller: Caller, params: Params) -> Outcome:
        fields = params.get("FIELDS")
        if not isinstance(fields, dict):
            raise RestError("ERROR_CORE", "The parameter 'fields' must be array.")
        fields = {str(key).upper(): value for key, value in fields.items()}
        entity_type = str(fields.get("ENTITY_TYPE") or "").lower()
        entity_id = str(fields.get("ENTITY_ID") or "")
        text = str(fields.get("COMMENT") or "")
        if entity_type not in ENTITY_TYPES or not entity_id.isdigit() or int(entity_id) <= 0:
            raise RestError("ERROR_CORE", "Not found owner entity")
        if not text.strip():
            raise RestError("ERROR_CORE", "Empty comment message")
        comment = Comment(len(self.comments) + 1, entity_type, int(entity_id), text, caller.user_id)
        self.comments.append(comment)
        return Outcome(comment.id)
