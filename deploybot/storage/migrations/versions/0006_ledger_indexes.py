"""ledger indexes: the dashboard's history, "now" matrix and metrics stay quick on a large ledger

Revision ID: 0006
Revises: 0005

- requested_at: periods (history date filter, metrics, exports);
- requested_by: the history's person filter and its list of people;
- (app, environment, state, id): what each app runs in each environment, the latest
  success found without reading the others;
- audit_log (action, at): the audit log filtered by action.
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_deployments_requested_at", "deployments", ["requested_at"]),
    ("ix_deployments_requested_by", "deployments", ["requested_by"]),
    ("ix_deployments_app_environment_state_id", "deployments", ["app", "environment", "state", "id"]),
    ("ix_audit_log_action_at", "audit_log", ["action", "at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
