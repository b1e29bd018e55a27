"""held for code: a deploy (or an approval) waiting for its two-factor code is a row with the
request, no longer a conversation slot (issue 23)

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_for_code",
        sa.Column("assistant", sa.String(32), primary_key=True),
        sa.Column("conversation_id", sa.String(255), primary_key=True),
        sa.Column("purpose", sa.String(16), primary_key=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("held", sa.Text, nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("held_for_code")
