"""What the attack tests check after each attempt: that nothing happened (no deployment, no
Jenkins build, no grant, nothing said that belongs to someone else) and that the refusal is
in the audit log."""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import AuditEntry, Deployment, Grant


def audit(stack, actor: Optional[str] = None, action: Optional[str] = None, since: int = 0) -> List[AuditEntry]:
    """Audit entries after id `since` (see last_audit_id), by actor and action."""
    with Database(stack.database_url()).transaction() as session:
        query = select(AuditEntry).where(AuditEntry.id > since).order_by(AuditEntry.id)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def last_audit_id(stack) -> int:
    with Database(stack.database_url()).transaction() as session:
        return max(session.scalars(select(AuditEntry.id)), default=0)


def refused(stack, action: str, since: int, actor: Optional[str] = None, containing: str = "") -> List[AuditEntry]:
    """The refusals of this kind since `since`; asserts there is at least one."""
    found = [e for e in audit(stack, actor, action, since) if e.outcome == "refused" and containing in (e.detail or "")]
    assert found, f"no refused {action} by {actor} containing {containing!r} in the audit log: " \
                  f"{[(e.actor, e.action, e.outcome, e.detail) for e in audit(stack, since=since)]}"
    return found


def deployments_of(stack, **where) -> List[Deployment]:
    with Database(stack.database_url()).transaction() as session:
        query = select(Deployment).order_by(Deployment.id)
        for column, value in where.items():
            query = query.where(getattr(Deployment, column) == value)
        return list(session.scalars(query))


def grants_of(stack, user: str) -> List[str]:
    with Database(stack.database_url()).transaction() as session:
        return list(session.scalars(select(Grant.app).where(Grant.user_id == user)))


def builds_with(stack, parameter: str, value: str) -> List[dict]:
    """The Jenkins builds (and queue items) the emulator received with this parameter value."""
    return [b for b in stack.jenkins.control("GET", "/builds") if str(b["parameters"].get(parameter)) == value]


def nothing_deployed(stack, *, requested_by: Optional[str] = None, version: Optional[str] = None) -> None:
    if requested_by is not None:
        assert deployments_of(stack, requested_by=requested_by) == []
        assert builds_with(stack, "REQUESTED_BY", requested_by) == []
    if version is not None:
        assert deployments_of(stack, version=version) == []
        assert builds_with(stack, "VERSION", version) == []


def user_texts(tracker: dict) -> List[str]:
    return [e.get("text") or "" for e in tracker["events"] if e["event"] == "user"]
