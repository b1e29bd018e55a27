"""Locks: no deployments to an environment, or to one app in it, until the owner or an admin
unlocks. A rollback or promotion is a deployment too: a lock stops it the same way."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deploybot.deploy_request import RequestRejected
from deploybot.deployments import ago, now, utc
from deploybot.storage.database import Database
from deploybot.storage.gates import take_environment_gate
from deploybot.storage.models import Lock

NO_REASON = "no reason given"
MAX_REASON = 300
# "lock prod because of the incident", "freeze shop on live, black friday is coming"
REASON = re.compile(r"\b(?:because(?: of)?|reason:?|due to)\s+(?P<reason>.+)|[,;:—]\s+(?P<after>.+)", re.IGNORECASE)
BOT_ADDRESS = re.compile(r"^\s*@?(?:marvin|bender)\b[\s,:]*", re.IGNORECASE)


def reason_from_text(text: str) -> str:
    """The reason a lock request gives in its own words, or NO_REASON."""
    match = REASON.search(BOT_ADDRESS.sub("", text or ""))
    if not match:
        return NO_REASON
    reason = (match.group("reason") or match.group("after")).strip(" .!")
    return reason[:MAX_REASON] or NO_REASON


def scope_of(environment: str, app: Optional[str]) -> str:
    return f"{environment}/{app}" if app else environment


def describe(lock: Lock) -> str:
    """"production is locked by theresa since 2026-11-26 14:02 UTC (2 h ago): release freeze"."""
    what = f"{lock.app} on {lock.environment}" if lock.app else lock.environment
    since = utc(lock.locked_at)
    return f"{what} is locked by {lock.locked_by} since {since:%Y-%m-%d %H:%M} UTC ({ago(since)} ago): {lock.reason}"


@dataclass
class Locks:
    db: Database

    def lock(self, user: str, environment: str, app: Optional[str], reason: str) -> str:
        try:
            with self.db.transaction() as session:
                take_environment_gate(session, environment)  # a deployment starting now waits, or came first
                session.add(Lock(scope=scope_of(environment, app), environment=environment, app=app,
                                 reason=reason, locked_by=user, locked_at=now()))
        except IntegrityError:
            existing = self.find(environment, app)
            return f"Already locked: {describe(existing)}." if existing else "Someone just changed that lock; try again."
        what = f"{app} on {environment}" if app else environment
        return f"Locked {what}: no deployments until it is unlocked. Reason: {reason}."

    def unlock(self, user: str, environment: str, app: Optional[str], is_admin: bool) -> str:
        existing = self.find(environment, app)
        what = f"{app} on {environment}" if app else environment
        if existing is None:
            others = [describe(lock) for lock in self.all() if lock.environment == environment and lock.app != app]
            hint = f" ({'; '.join(others)})" if others else ""
            return f"{what} is not locked{hint}."
        if existing.locked_by != user and not is_admin:
            raise RequestRejected(f"Only {existing.locked_by}, who locked {what}, or an admin can unlock it.")
        with self.db.transaction() as session:
            session.execute(delete(Lock).where(Lock.id == existing.id))
        return f"Unlocked {what}: deployments are allowed again."

    def find(self, environment: str, app: Optional[str]) -> Optional[Lock]:
        with self.db.transaction() as session:
            return session.scalars(select(Lock).where(Lock.scope == scope_of(environment, app))).first()

    def covering(self, environment: str, app: Optional[str] = None) -> List[Lock]:
        """The environment's lock and, with an app, the app's lock there."""
        with self.db.transaction() as session:
            return covering_locks(session, environment, app)

    def all(self) -> List[Lock]:
        with self.db.transaction() as session:
            return list(session.scalars(select(Lock).order_by(Lock.id)))

    def check(self, app: str, environment: str) -> None:
        """RequestRejected when a lock stops deploying the app to the environment."""
        with self.db.transaction() as session:
            check_unlocked(session, app, environment)


def covering_locks(session: Session, environment: str, app: Optional[str] = None) -> List[Lock]:
    scopes = [scope_of(environment, None)] + ([scope_of(environment, app)] if app else [])
    return list(session.scalars(select(Lock).where(Lock.scope.in_(scopes)).order_by(Lock.id)))


def check_unlocked(session: Session, app: str, environment: str) -> None:
    """RequestRejected when a lock stops deploying the app to the environment (in the caller's
    transaction: DeploymentStore.begin runs it inside the environment's gate)."""
    locks = covering_locks(session, environment, app)
    if locks:
        raise RequestRejected(f"No: {describe(locks[0])}. The owner or an admin can unlock it.")
