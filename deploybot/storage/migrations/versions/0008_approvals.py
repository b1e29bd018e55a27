"""production safeguards: pending four-eyes approvals, and on each deployment who approved
it, whether a second factor was used, and a break-glass reason

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("assistant", sa.String(32), nullable=False),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("output_channel", sa.String(32), nullable=False),
        sa.Column("reply_to", sa.Text()),
        sa.Column("second_factor", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.Text(), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("reason", sa.Text()),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("told_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_approval_requests_state_expires_at", "approval_requests", ["state", "expires_at"])
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("approved_by", sa.Text()))
        batch.add_column(sa.Column("second_factor", sa.Boolean()))
        batch.add_column(sa.Column("break_glass_reason", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("break_glass_reason")
        batch.drop_column("second_factor")
        batch.drop_column("approved_by")
    op.drop_index("ix_approval_requests_state_expires_at", "approval_requests")
    op.drop_table("approval_requests")
