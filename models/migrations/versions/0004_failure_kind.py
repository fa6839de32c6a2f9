"""failure kind

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00.000000

`messages.failure`: why a failed message failed, written where it fails from now on. Failed rows
stored before are given theirs once, here, from their error text as it was worded until now (the
prefixes the daily report used to parse); a text none of them matches stays without a kind.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The error texts written before this revision, by their first characters → their kind.
PREFIXES = (
    ("message_to:", "invalid_number"),
    ("message_body is empty", "empty_text"),
    ("text needs", "too_long"),
    ("the send was interrupted", "interrupted"),
    ("gave up:", "gave_up"),
    ("SMS.ru's reply has no result", "no_result"),
)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failure", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    messages = sa.table(
        "messages",
        sa.column("state", sa.String),
        sa.column("send_code", sa.Integer),
        sa.column("error", sa.Text),
        sa.column("failure", sa.String),
    )
    error = messages.c.error
    kind = sa.case(
        (messages.c.send_code.is_not(None), "refused"),  # SMS.ru's code says why
        *((sa.func.substr(error, 1, len(prefix)) == prefix, kind) for prefix, kind in PREFIXES),
        else_=None,
    )
    op.execute(messages.update().where(messages.c.state == "failed").values(failure=kind))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("failure")
