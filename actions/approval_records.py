"""The approval requests as the actions read and audit them (deploybot.policy.approvals keeps them):
shared by the approvals dialogue (actions/approvals.py) and what a "no" withdraws (actions/held.py)."""
import os

from actions.context import catalog, database, permissions, profiles
from deploybot.domain import messages
from deploybot.policy.approvals import ApprovalStore, RequesterNotifier
from deploybot.domain.deploy_request import DeployRequest
from deploybot.domain.profiles import rasa_urls


def store() -> ApprovalStore:
    return ApprovalStore(database())


def notifier() -> RequesterNotifier:
    # This bot's Rasa API token (deploybot.cli.stack sets it), as the watcher's reports use it.
    return RequesterNotifier(rasa_urls(profiles()), os.environ.get("DEPLOYBOT_API_TOKEN"))


def audit(actor: str, outcome: str, detail: str, row=None) -> None:
    permissions().audit(actor, "approval", outcome, detail=detail[:500],
                        app=getattr(row, "app", None), environment=getattr(row, "environment", None),
                        target_user=getattr(row, "requested_by", None))


def what_of(row) -> str:
    return messages.restate(DeployRequest(row.app, row.version, row.environment), catalog())
