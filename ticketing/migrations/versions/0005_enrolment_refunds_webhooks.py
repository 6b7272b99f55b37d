"""stripe enrolment, refunds and webhooks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_enrolments",
        sa.Column("card_token", sa.String(length=80), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.String(length=8192), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("card_token", name=op.f("pk_pending_enrolments")),
    )
    op.create_table(
        "enrolment_declines",
        sa.Column("card_token", sa.String(length=80), nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column("decline_code", sa.String(length=64), nullable=False),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("card_token", "gateway", name=op.f("pk_enrolment_declines")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_refunds_charge_id"), ["charge_id"], unique=False)
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=200), nullable=True))
    # "partially_refunded" does not fit the 16 characters of a charge's status.
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=16),
            type_=sa.String(length=32),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=32),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_column("outcome")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_charge_id"))
        batch_op.drop_column("updated_at")
        batch_op.drop_column("requested_by")
    op.drop_table("enrolment_declines")
    op.drop_table("pending_enrolments")
