"""What the attack tests check after each attempt: that nothing happened (no deployment, no
Jenkins build, no grant, nothing said that belongs to someone else) and that the refusal is
in the audit log."""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import AuditEntry, Grant
from tests.support import audit_entries, deployments


def last_audit_id(stack) -> int:
    with Database(stack.database_url()).transaction() as session:
        return max(session.scalars(select(AuditEntry.id)), default=0)


def refused(stack, action: str, since: int, actor: Optional[str] = None, containing: str = "") -> List[AuditEntry]:
    """The refusals of this kind since `since`; asserts there is at least one."""
    found = [e for e in audit_entries(stack, actor, action, since) if e.outcome == "refused" and containing in (e.detail or "")]
    assert found, f"no refused {action} by {actor} containing {containing!r} in the audit log: " \
                  f"{[(e.actor, e.action, e.outcome, e.detail) for e in audit_entries(stack, since=since)]}"
    return found


def grants_of(stack, user: str) -> List[str]:
    with Database(stack.database_url()).transaction() as session:
        return list(session.scalars(select(Grant.app).where(Grant.user_id == user)))


def builds_with(stack, parameter: str, value: str) -> List[dict]:
    """The Jenkins builds (and queue items) the emulator received with this parameter value."""
    return [b for b in stack.jenkins.control("GET", "/builds") if str(b["parameters"].get(parameter)) == value]


def nothing_deployed(stack, *, requested_by: Optional[str] = None, version: Optional[str] = None) -> None:
    if requested_by is not None:
        assert deployments(stack, requested_by=requested_by) == []
        assert builds_with(stack, "REQUESTED_BY", requested_by) == []
    if version is not None:
        assert deployments(stack, version=version) == []
        assert builds_with(stack, "VERSION", version) == []


def user_texts(tracker: dict) -> List[str]:
    return [e.get("text") or "" for e in tracker["events"] if e["event"] == "user"]


def holds(path, secret: str) -> bool:
    """Whether a file's bytes contain a secret in plain text."""
    try:
        return secret.encode() in path.read_bytes()
    except FileNotFoundError:  # SQLite's rollback journal comes and goes
        return False
