"""two-factor enrolments: each user's authenticator secret (encrypted) and code state

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "two_factor_enrolments",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("last_step", sa.Integer()),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failures_since", sa.DateTime(timezone=True)),
        sa.Column("locked_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("two_factor_enrolments")
