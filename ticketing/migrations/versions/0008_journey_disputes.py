"""journey disputes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.String(length=36), nullable=False),
        sa.Column("card_token", sa.String(length=80), nullable=False),
        sa.Column("service_day", sa.Date(), nullable=False),
        sa.Column("leg_id", sa.Integer(), nullable=False),
        sa.Column("leg_index", sa.Integer(), nullable=False),
        sa.Column("charge_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=320), nullable=True),
        sa.Column("reply", sa.String(length=1000), nullable=True),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("refund_minor", sa.Integer(), nullable=True),
        sa.Column("refund_attempt", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name=op.f("uq_disputes_user_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_refund_id"), ["refund_id"], unique=False)
        # One open dispute per leg: a partial unique index (both backends have them).
        batch_op.create_index(
            batch_op.f("ix_disputes_leg_id_open"),
            ["leg_id"],
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_leg_id_open"))
        batch_op.drop_index(batch_op.f("ix_disputes_refund_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_status"))
        batch_op.drop_index(batch_op.f("ix_disputes_user_id"))
    op.drop_table("disputes")
