"""app page

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 03:00:00.000000

The app's page inside Bitrix24: a portal's own test mode (NULL follows SMSRU_TEST) and when
SMS.ru last called back about the account it sends with.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("portals") as batch_op:
        batch_op.add_column(sa.Column("smsru_test", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("last_callback_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("portals") as batch_op:
        batch_op.drop_column("last_callback_at")
        batch_op.drop_column("smsru_test")
