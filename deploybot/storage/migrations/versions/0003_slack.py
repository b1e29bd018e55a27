"""slack: handled deliveries, and where a deployment's reports go in Slack

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key", name="uq_slack_deliveries_key"),
    )
    op.create_index("ix_slack_deliveries_received_at", "slack_deliveries", ["received_at"])
    with op.batch_alter_table("deployments") as table:
        table.add_column(sa.Column("reply_to", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as table:
        table.drop_column("reply_to")
    op.drop_table("slack_deliveries")
