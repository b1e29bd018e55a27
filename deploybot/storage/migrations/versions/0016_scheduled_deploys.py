"""scheduled deploys: a deploy confirmed now to start later, with the safeguards it passed
(issue 24, item 3)

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_deploys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("assistant", sa.String(32), nullable=False),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("output_channel", sa.String(32), nullable=False),
        sa.Column("reply_to", sa.Text),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed", sa.String(64), nullable=False),
        sa.Column("second_factor", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("approved_by", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("asked_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("ended_by", sa.String(64)),
        sa.Column("outcome", sa.Text),
        sa.Column("deployment_id", sa.Integer),
    )
    op.create_index("ix_scheduled_deploys_state_run_at", "scheduled_deploys", ["state", "run_at"])
    # A scheduled deploy that waits for approvals keeps its start with them.
    op.add_column("approval_requests", sa.Column("start_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("start_at")
    op.drop_index("ix_scheduled_deploys_state_run_at", table_name="scheduled_deploys")
    op.drop_table("scheduled_deploys")
