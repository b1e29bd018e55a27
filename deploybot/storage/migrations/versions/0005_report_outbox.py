"""report outbox: each report and management post is a row with a lease

Revision ID: 0005
Revises: 0004

Deployments reported before this migration have no rows: their start_reported_at and
outcome_reported_at say they are done, and the watcher creates rows only for reports
still due.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deployment_id", sa.Integer(), sa.ForeignKey("deployments.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leased_until", sa.DateTime(timezone=True)),
        sa.Column("leased_by", sa.String(128)),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("said_at", sa.DateTime(timezone=True)),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("deployment_id", "kind", name="uq_report_outbox_deployment_kind"),
    )
    op.create_index("ix_report_outbox_done_at", "report_outbox", ["done_at"])


def downgrade() -> None:
    op.drop_index("ix_report_outbox_done_at", table_name="report_outbox")
    op.drop_table("report_outbox")
