"""server-side sessions and sign-in failures

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["ledger_users.id"], name=op.f("fk_ledger_sessions_user_id_ledger_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_sessions")),
    )
    with op.batch_alter_table("ledger_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_sessions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_sessions_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "ledger_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_login_failures")),
    )
    with op.batch_alter_table("ledger_login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_login_failures_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_login_failures_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("ledger_login_failures")
    op.drop_table("ledger_sessions")
