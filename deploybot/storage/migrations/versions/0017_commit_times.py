"""commit times: the oldest commit of each deployment's Jenkins change sets, for DORA's lead
time for changes (issue 25)

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("commit_id", sa.String(64)))
        batch.add_column(sa.Column("commit_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("commit_at")
        batch.drop_column("commit_id")
