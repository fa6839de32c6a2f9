"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 21:51:08.253984
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("client_endpoint", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("access_token", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("refresh_token", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("access_expires_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("application_token", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("smsru_api_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("smsru_sender", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("paused_until", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pause_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portals_member_id"), ["member_id"], unique=True)

    op.create_table(
        "settings",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("portal_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("provider_code", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("module_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("bindings", sa.JSON(), nullable=True),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("document_id", sa.JSON(), nullable=True),
        sa.Column("document_type", sa.JSON(), nullable=True),
        sa.Column("author_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("recipient_raw", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sms_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("send_code", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cost", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("accepted_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("final_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal_id", "message_id", name="uq_messages_portal_message"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_portal_id"), ["portal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_sms_id"), ["sms_id"], unique=False)
        batch_op.create_index(
            "ix_messages_state_next_attempt", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "status_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "message_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("smsru_code", sa.Integer(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("observed_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["messages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_log_message_pk"), ["message_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("status_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_log_message_pk"))

    op.drop_table("status_log")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_state_next_attempt")
        batch_op.drop_index(batch_op.f("ix_messages_sms_id"))
        batch_op.drop_index(batch_op.f("ix_messages_portal_id"))

    op.drop_table("messages")
    op.drop_table("settings")
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portals_member_id"))

    op.drop_table("portals")
