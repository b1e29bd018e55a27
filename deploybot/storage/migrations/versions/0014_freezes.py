"""chat freezes: freeze windows an admin sets in chat (issue 24); freezes.yml's are no rows

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_freezes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("environment", sa.String(32), nullable=False, index=True),
        sa.Column("app", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(64)),
        sa.Column("lifted_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("chat_freezes")
