"""deployment batches: several apps confirmed with one yes, each its own deployment, summed up once

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment_batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("assistant", sa.String(32), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("not_started", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("output_channel", sa.String(32), nullable=False),
        sa.Column("reply_to", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summarized_at", sa.DateTime(timezone=True)),
    )
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("batch_id", sa.String(64)))
        batch.create_foreign_key("fk_deployments_batch_id", "deployment_batches", ["batch_id"], ["id"])
    op.create_index("ix_deployments_batch_id", "deployments", ["batch_id"])
    with op.batch_alter_table("approval_requests") as batch:
        batch.add_column(sa.Column("batch_id", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("batch_id")
    op.drop_index("ix_deployments_batch_id", table_name="deployments")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_constraint("fk_deployments_batch_id", type_="foreignkey")
        batch.drop_column("batch_id")
    op.drop_table("deployment_batches")
