"""flows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 22:28:23.383457
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "stop_list",
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("entity_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("flag_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("flag_written_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("flag_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_messages_accepted_at", ["accepted_at"], unique=False)
        batch_op.create_index(
            "ix_messages_portal_flag", ["portal_id", "flag_pending"], unique=False
        )

    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "timezone",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="Europe/Moscow",
            )
        )
        batch_op.add_column(sa.Column("sent_flag_retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.drop_column("sent_flag_retention_days")
        batch_op.drop_column("timezone")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_portal_flag")
        batch_op.drop_index("ix_messages_accepted_at")
        batch_op.drop_column("flag_error")
        batch_op.drop_column("flag_written_at")
        batch_op.drop_column("flag_pending")
        batch_op.drop_column("entity_id")
        batch_op.drop_column("entity_type")

    op.drop_table("stop_list")
    op.drop_table("checkpoints")
