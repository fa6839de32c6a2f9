"""refresh lease: one process refreshes a portal's tokens, without a lock held across the call

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "refresh_claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("refresh_lease_until", models.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.drop_column("refresh_lease_until")
        batch_op.drop_column("refresh_claimed_by")
