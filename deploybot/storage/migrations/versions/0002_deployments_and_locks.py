"""deployments and locks

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assistant", sa.String(32), nullable=False),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("active_key", sa.String(97)),
        sa.Column("jenkins_job", sa.String(255), nullable=False),
        sa.Column("queue_id", sa.Integer()),
        sa.Column("build_number", sa.Integer()),
        sa.Column("build_url", sa.String(1024)),
        sa.Column("estimated_duration_ms", sa.Integer()),
        sa.Column("jenkins_result", sa.String(16)),
        sa.Column("error", sa.Text()),
        sa.Column("console_tail", sa.Text()),
        sa.Column("cancelled_by", sa.String(64)),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("output_channel", sa.String(32), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("start_reported_at", sa.DateTime(timezone=True)),
        sa.Column("outcome_reported_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("active_key", name="uq_deployments_active_key"),
    )
    op.create_index("ix_deployments_state", "deployments", ["state"])
    op.create_index("ix_deployments_app_environment", "deployments", ["app", "environment"])
    op.create_table(
        "locks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(97), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("app", sa.String(64)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("locked_by", sa.String(64), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("scope", name="uq_locks_scope"),
    )


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_table("deployments")
