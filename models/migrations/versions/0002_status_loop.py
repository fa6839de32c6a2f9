"""status loop

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 22:07:47.560582

New NOT NULL columns get server defaults so that tables with rows migrate.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("push_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("pushed_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("push_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("next_push_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("push_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("polls", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("next_poll_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_messages_next_poll_at"), ["next_poll_at"], unique=False
        )
        batch_op.create_index(
            "ix_messages_portal_push", ["portal_id", "push_pending", "next_push_at"], unique=False
        )

    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rate_per_second", sa.Float(), nullable=False, server_default="2")
        )
        batch_op.add_column(
            sa.Column("rate_burst", sa.Integer(), nullable=False, server_default="50")
        )
        batch_op.add_column(sa.Column("rate_tat", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("push_claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("push_lease_until", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("auth_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.drop_column("auth_error")
        batch_op.drop_column("push_lease_until")
        batch_op.drop_column("push_claimed_by")
        batch_op.drop_column("rate_tat")
        batch_op.drop_column("rate_burst")
        batch_op.drop_column("rate_per_second")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_portal_push")
        batch_op.drop_index(batch_op.f("ix_messages_next_poll_at"))
        batch_op.drop_column("next_poll_at")
        batch_op.drop_column("polls")
        batch_op.drop_column("push_error")
        batch_op.drop_column("next_push_at")
        batch_op.drop_column("push_attempts")
        batch_op.drop_column("pushed_status")
        batch_op.drop_column("push_pending")
