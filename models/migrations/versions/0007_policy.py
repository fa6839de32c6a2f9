"""policy

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 10:00:00.000000

Message policy: the stop list becomes per portal (entries stored before keep applying to every
portal: portal_id NULL), a consent table with its evidence, the portals' policy settings, the
outbox index the lanes claim by, and the timeline comment a refusal leaves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.rename_table("stop_list", "stop_list_0003")
    op.create_table(
        "stop_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "portal_id",
            sa.Integer(),
            sa.ForeignKey("portals.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("phone", _STR(length=20), nullable=False),
        sa.Column("reason", _STR(length=500), nullable=False),
        sa.Column("origin", _STR(length=16), nullable=False, server_default="manual"),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal_id", "phone", name="uq_stop_list_portal_phone"),
    )
    op.create_index("ix_stop_list_portal_id", "stop_list", ["portal_id"])
    op.create_index("ix_stop_list_phone", "stop_list", ["phone"])
    op.execute(
        "INSERT INTO stop_list (portal_id, phone, reason, origin, created_at) "
        "SELECT NULL, phone, reason, 'manual', created_at FROM stop_list_0003"
    )
    op.drop_table("stop_list_0003")

    op.create_table(
        "consent",
        sa.Column(
            "portal_id",
            sa.Integer(),
            sa.ForeignKey("portals.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("phone", _STR(length=20), nullable=False),
        sa.Column("given_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entity_type", _STR(length=16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("synced_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("portal_id", "phone"),
    )

    # Plain ADD COLUMN (constant defaults): SQLite need not rebuild portals, which rows of other
    # tables reference.
    for column in _portal_columns():
        op.add_column("portals", column)
    op.add_column(
        "messages", sa.Column("comment_pending", sa.Boolean(), nullable=False, server_default="0")
    )
    op.create_index(
        "ix_messages_state_kind_next_attempt", "messages", ["state", "kind", "next_attempt_at"]
    )
    op.create_index("ix_messages_portal_recipient", "messages", ["portal_id", "recipient"])


def _portal_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("marketing_consent", _STR(length=16), nullable=False, server_default="off"),
        sa.Column("marketing_daytime", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("marketing_pace", sa.Integer(), nullable=False, server_default="6000"),
        sa.Column("marketing_next_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("transactional_ttl", sa.Integer(), nullable=True),
        sa.Column("transactional_stop_list", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("duplicate_window", sa.Integer(), nullable=False, server_default="600"),
        sa.Column("consent_synced_to", models.types.UTCDateTime(timezone=True), nullable=True),
    ]


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_portal_recipient")
        batch_op.drop_index("ix_messages_state_kind_next_attempt")
        batch_op.drop_column("comment_pending")
    with op.batch_alter_table("portals", schema=None) as batch_op:
        for column in (
            "consent_synced_to",
            "duplicate_window",
            "transactional_stop_list",
            "transactional_ttl",
            "marketing_next_at",
            "marketing_pace",
            "marketing_daytime",
            "marketing_consent",
        ):
            batch_op.drop_column(column)
    op.drop_table("consent")
    op.create_table(
        "stop_list_0006",
        sa.Column("phone", _STR(length=20), nullable=False),
        sa.Column("reason", _STR(length=500), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    op.execute(
        "INSERT INTO stop_list_0006 (phone, reason, created_at) "
        "SELECT phone, MIN(reason), MIN(created_at) FROM stop_list GROUP BY phone"
    )
    op.drop_table("stop_list")
    op.rename_table("stop_list_0006", "stop_list")
