"""tenants: each portal's authorization server, HANDLER upgrade, uninstall, retention; the key
each message was sent with

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "oauth_server",
                sqlmodel.sql.sqltypes.AutoString(length=255),
                nullable=False,
                server_default="",
            )
        )
        # Portals installed before per-portal HANDLER secrets still have the old URL registered:
        # it is accepted until their provider is registered again. A literal default ('1' is
        # true on both backends): an expression would make SQLite rebuild the table, which its
        # foreign keys refuse once messages exist.
        batch_op.add_column(
            sa.Column("legacy_handler", sa.Boolean(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("uninstalled_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("retention_days", sa.Integer(), nullable=False, server_default="180")
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("smsru_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("erased_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("smsru_key")
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
        batch_op.drop_column("uninstalled_at")
        batch_op.drop_column("legacy_handler")
        batch_op.drop_column("oauth_server")
