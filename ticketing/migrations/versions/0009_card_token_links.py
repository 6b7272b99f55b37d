"""card token links

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card_token_links",
        sa.Column("token", sa.String(length=80), nullable=False),
        sa.Column("first_token", sa.String(length=80), nullable=False),
        sa.Column("previous_token", sa.String(length=80), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_card_token_links")),
    )
    with op.batch_alter_table("card_token_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_card_token_links_first_token"), ["first_token"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("card_token_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_token_links_first_token"))
    op.drop_table("card_token_links")
