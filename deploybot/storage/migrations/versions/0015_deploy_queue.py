"""deploy queue: people waiting for a busy or locked app and environment, and their turns
(issue 24, item 2)

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deploy_queue",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("assistant", sa.String(32), nullable=False),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("output_channel", sa.String(32), nullable=False),
        sa.Column("reply_to", sa.Text),
        sa.Column("asked_in", sa.Text),
        sa.Column("offered_at", sa.DateTime(timezone=True)),
        sa.Column("turn_expires_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("asked_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("told_at", sa.DateTime(timezone=True)),
        sa.Column("deployment_id", sa.Integer, sa.ForeignKey("deployments.id")),
    )


def downgrade() -> None:
    op.drop_table("deploy_queue")
