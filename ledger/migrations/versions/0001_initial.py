"""initial ledger schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 17:01:38.852374
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ledger_meta")),
    )
    op.create_table(
        "ledger_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_outbox")),
    )
    with op.batch_alter_table("ledger_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_outbox_published_at"), ["published_at"], unique=False)

    op.create_table(
        "ledger_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_units")),
        sa.UniqueConstraint("name", name=op.f("uq_ledger_units_name")),
    )
    op.create_table(
        "ledger_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["ledger_units.id"], name=op.f("fk_ledger_users_unit_id_ledger_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_users")),
        sa.UniqueConstraint("username", name=op.f("uq_ledger_users_username")),
    )
    op.create_table(
        "ledger_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["ledger_users.id"], name=op.f("fk_ledger_api_tokens_user_id_ledger_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_ledger_api_tokens_token_hash")),
    )
    op.create_table(
        "ledger_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=False),
        sa.Column("case_type", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(length=30), nullable=False),
        sa.Column("risk_level", sa.String(length=10), nullable=False),
        sa.Column("region", sa.String(length=50), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("alert_id", sa.String(length=64), nullable=True),
        sa.Column("post_ids", sa.JSON(), nullable=False),
        sa.Column("post_urls", sa.JSON(), nullable=False),
        sa.Column("petitioner", sa.String(length=64), nullable=False),
        sa.Column("petitioner_phone", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("time_limit_days", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("extension_pending", sa.Boolean(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("extended_days", sa.Integer(), nullable=False),
        sa.Column("supervise_count", sa.Integer(), nullable=False),
        sa.Column("returned_count", sa.Integer(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["ledger_users.id"], name=op.f("fk_ledger_cases_created_by_id_ledger_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["ledger_units.id"], name=op.f("fk_ledger_cases_unit_id_ledger_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_ledger_cases_number")),
    )
    with op.batch_alter_table("ledger_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_cases_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_cases_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_cases_event_id"), ["event_id"], unique=False)
        batch_op.create_index("ix_ledger_cases_status_unit", ["status", "unit_id"], unique=False)

    op.create_table(
        "ledger_case_co_units",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ledger_cases.id"], name=op.f("fk_ledger_case_co_units_case_id_ledger_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["ledger_units.id"], name=op.f("fk_ledger_case_co_units_unit_id_ledger_units")),
        sa.PrimaryKeyConstraint("case_id", "unit_id", name=op.f("pk_ledger_case_co_units")),
    )
    op.create_table(
        "ledger_commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("fulfilment", sa.Text(), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evidence_links", sa.JSON(), nullable=False),
        sa.Column("disclosure_channel", sa.String(length=100), nullable=False),
        sa.Column("disclosure_url", sa.String(length=500), nullable=False),
        sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revisit_result", sa.Text(), nullable=False),
        sa.Column("satisfaction", sa.String(length=10), nullable=False),
        sa.Column("revisited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("supervise_count", sa.Integer(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ledger_cases.id"], name=op.f("fk_ledger_commitments_case_id_ledger_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["ledger_units.id"], name=op.f("fk_ledger_commitments_unit_id_ledger_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_commitments")),
    )
    with op.batch_alter_table("ledger_commitments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_commitments_case_id"), ["case_id"], unique=False)

    op.create_table(
        "ledger_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["ledger_commitments.id"],
            name=op.f("fk_ledger_attachments_commitment_id_ledger_commitments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["ledger_users.id"], name=op.f("fk_ledger_attachments_uploaded_by_id_ledger_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_attachments")),
    )
    with op.batch_alter_table("ledger_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_attachments_commitment_id"), ["commitment_id"], unique=False)

    op.create_table(
        "ledger_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["ledger_users.id"], name=op.f("fk_ledger_audit_actor_id_ledger_users")),
        sa.ForeignKeyConstraint(["case_id"], ["ledger_cases.id"], name=op.f("fk_ledger_audit_case_id_ledger_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["commitment_id"], ["ledger_commitments.id"], name=op.f("fk_ledger_audit_commitment_id_ledger_commitments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_audit")),
    )
    with op.batch_alter_table("ledger_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_audit_case_id"), ["case_id"], unique=False)

    op.create_table(
        "ledger_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ledger_cases.id"], name=op.f("fk_ledger_reminders_case_id_ledger_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["ledger_commitments.id"],
            name=op.f("fk_ledger_reminders_commitment_id_ledger_commitments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["ledger_units.id"], name=op.f("fk_ledger_reminders_unit_id_ledger_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_reminders")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_reminders_key")),
    )
    with op.batch_alter_table("ledger_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_reminders_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_reminders_case_id"))

    op.drop_table("ledger_reminders")
    with op.batch_alter_table("ledger_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_audit_case_id"))

    op.drop_table("ledger_audit")
    with op.batch_alter_table("ledger_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_attachments_commitment_id"))

    op.drop_table("ledger_attachments")
    with op.batch_alter_table("ledger_commitments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_commitments_case_id"))

    op.drop_table("ledger_commitments")
    op.drop_table("ledger_case_co_units")
    with op.batch_alter_table("ledger_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_cases_status_unit")
        batch_op.drop_index(batch_op.f("ix_ledger_cases_event_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_cases_due_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_cases_alert_id"))

    op.drop_table("ledger_cases")
    op.drop_table("ledger_api_tokens")
    op.drop_table("ledger_users")
    op.drop_table("ledger_units")
    with op.batch_alter_table("ledger_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_outbox_published_at"))

    op.drop_table("ledger_outbox")
    op.drop_table("ledger_meta")
