"""lock expiry: a lock may expire by itself (expires_at) and remembers where it was set, so
that its lifting is said there, once (lifted_locks.said_at)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("locks") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("assistant", sa.String(32)))
        batch.add_column(sa.Column("conversation_id", sa.String(255)))
        batch.add_column(sa.Column("output_channel", sa.String(32)))
        batch.add_column(sa.Column("reply_to", sa.Text()))
    op.create_index("ix_locks_expires_at", "locks", ["expires_at"])
    op.create_table(
        "lifted_locks",
        sa.Column("id", sa.Integer(), primary_key=True),
        # Not unique: SQLite reuses the ids of deleted locks. The DELETE that lifts a lock
        # succeeds once, which is what makes a lock lifted once.
        sa.Column("lock_id", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("app", sa.String(64)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("locked_by", sa.String(64), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assistant", sa.String(32)),
        sa.Column("conversation_id", sa.String(255)),
        sa.Column("output_channel", sa.String(32)),
        sa.Column("reply_to", sa.Text()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("said_at", sa.DateTime(timezone=True), index=True),
    )


def downgrade() -> None:
    op.drop_table("lifted_locks")
    op.drop_index("ix_locks_expires_at", table_name="locks")
    with op.batch_alter_table("locks") as batch:
        for column in ("reply_to", "output_channel", "conversation_id", "assistant", "expires_at"):
            batch.drop_column(column)
