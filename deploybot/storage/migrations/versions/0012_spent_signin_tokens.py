"""spent sign-in tokens: the dashboard's one-time links stay spent across its restarts

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spent_signin_tokens",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("spent_signin_tokens")
