"""rider cards

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rider_cards",
        sa.Column("card_token", sa.String(length=80), nullable=False),
        sa.Column("card_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("card_token", name=op.f("pk_rider_cards")),
        sa.UniqueConstraint("card_id", name=op.f("uq_rider_cards_card_id")),
    )
    with op.batch_alter_table("rider_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rider_cards_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rider_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rider_cards_user_id"))
    op.drop_table("rider_cards")
