"""retired keys

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:00:00.000000

The SMS.ru keys a portal sent with before its admin changed the key, kept while the messages
sent with them may still be polled or called back about.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "retired_smsru_keys",
        sa.Column(
            "portal_id",
            sa.Integer(),
            sa.ForeignKey("portals.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("fingerprint", _STR(length=64), nullable=False),
        sa.Column("api_id", _STR(length=255), nullable=False),
        sa.Column("retired_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("portal_id", "fingerprint"),
    )
    op.create_index("ix_retired_smsru_keys_retired_at", "retired_smsru_keys", ["retired_at"])


def downgrade() -> None:
    op.drop_table("retired_smsru_keys")
