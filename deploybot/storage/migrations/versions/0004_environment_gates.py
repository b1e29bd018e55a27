"""environment gates: lock changes and deployment starts in one environment take turns

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "environment_gates",
        sa.Column("environment", sa.String(32), primary_key=True),
        sa.Column("turns", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("environment_gates")
