"""comments in the portal's language

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 10:00:00.000000

A refusal's comment on the CRM timeline is written in the portal's language (`portals.language`,
from its install event's LANGUAGE_ID) and kept on the message (`messages.comment`) when the
refusal is recorded. Messages refused before keep their English error as the comment.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (constant defaults): SQLite need not rebuild the tables.
    op.add_column(
        "portals",
        sa.Column(
            "language",
            sqlmodel.sql.sqltypes.AutoString(length=8),
            nullable=False,
            server_default="ru",
        ),
    )
    op.add_column("messages", sa.Column("comment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("comment")
    with op.batch_alter_table("portals") as batch_op:
        batch_op.drop_column("language")
