"""Locks: no deployments to an environment, or to one app in it, until the owner or an admin
unlocks, or until it expires. A rollback or promotion is a deployment too: a lock stops it the same way."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import List, Optional

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deploybot.domain.deploy_request import RequestRejected
from deploybot.domain.messages import format_duration
from deploybot.domain.deployments import ago, now, utc
from deploybot.domain.lock_details import NO_REASON  # noqa: F401 (what a lock without a reason records)
from deploybot.domain.lock_expiry import lift_expired
from deploybot.storage.database import Database
from deploybot.storage.gates import take_environment_gate
from deploybot.storage.models import Lock

# Reasons and expiries are read from the request's words in deploybot.domain.lock_details.


def scope_of(environment: str, app: Optional[str]) -> str:
    return f"{environment}/{app}" if app else environment


def clock(moment: datetime, zone: tzinfo = timezone.utc) -> str:
    """"2026-11-26 15:02 CET": a lock's times in the bot's time zone (the profile's time_zone), named."""
    local = utc(moment).astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"


def describe(lock: Lock, zone: tzinfo = timezone.utc) -> str:
    """"production is locked by theresa since 2026-11-26 14:02 UTC (2 h ago): release freeze";
    a lock that expires says until when."""
    what = f"{lock.app} on {lock.environment}" if lock.app else lock.environment
    since = utc(lock.locked_at)
    until = f" until {clock(lock.expires_at, zone)}" if lock.expires_at else ""
    return f"{what} is locked by {lock.locked_by} since {clock(since, zone)} ({ago(since)} ago){until}: {lock.reason}"


def locked_text(what: str, reason: str, expires_at: Optional[datetime], zone: tzinfo = timezone.utc) -> str:
    if expires_at is None:
        return f"Locked {what}: no deployments until it is unlocked. Reason: {reason}."
    until = utc(expires_at)
    return (f"Locked {what} until {clock(until, zone)} (in {format_duration((until - now()).total_seconds())}):"
            f" no deployments until then, when I lift the lock and say so here, or until it is unlocked."
            f" Reason: {reason}.")


@dataclass
class Locks:
    db: Database
    zone: tzinfo = timezone.utc  # how lock times are said: the bot's time zone (its profile's time_zone)

    def lock(self, user: str, environment: str, app: Optional[str], reason: str,
             expires_at: Optional[datetime] = None, origin: Optional[dict] = None) -> str:
        """origin: where the lock is set ({assistant, conversation_id, output_channel, reply_to}),
        where its expiry is said."""
        origin = origin or {}
        if expires_at is not None:
            # Stored in UTC: SQLite keeps a datetime's wall-clock time and drops its zone, and
            # every comparison (lift_expired) is with UTC now. Said in self.zone again.
            expires_at = utc(expires_at).astimezone(timezone.utc)
        try:
            with self.db.transaction() as session:
                take_environment_gate(session, environment)  # a deployment starting now waits, or came first
                lift_expired(session)  # an expired lock of the same scope must not stand in the way
                session.add(Lock(scope=scope_of(environment, app), environment=environment, app=app,
                                 reason=reason, locked_by=user, locked_at=now(), expires_at=expires_at,
                                 assistant=origin.get("assistant"), conversation_id=origin.get("conversation_id"),
                                 output_channel=origin.get("output_channel"),
                                 reply_to=json.dumps(origin["reply_to"]) if origin.get("reply_to") else None))
        except IntegrityError:
            existing = self.find(environment, app)
            return f"Already locked: {describe(existing, self.zone)}." if existing else "Someone just changed that lock; try again."
        what = f"{app} on {environment}" if app else environment
        return locked_text(what, reason, expires_at, self.zone)

    def unlock(self, user: str, environment: str, app: Optional[str], is_admin: bool) -> str:
        existing = self.find(environment, app)
        what = f"{app} on {environment}" if app else environment
        if existing is None:
            others = [describe(lock, self.zone) for lock in self.all() if lock.environment == environment and lock.app != app]
            hint = f" ({'; '.join(others)})" if others else ""
            return f"{what} is not locked{hint}."
        if existing.locked_by != user and not is_admin:
            raise RequestRejected(f"Only {existing.locked_by}, who locked {what}, or an admin can unlock it.")
        with self.db.transaction() as session:
            session.execute(delete(Lock).where(Lock.id == existing.id))
        return f"Unlocked {what}: deployments are allowed again."

    def find(self, environment: str, app: Optional[str]) -> Optional[Lock]:
        with self.db.transaction() as session:
            lift_expired(session)
            return session.scalars(select(Lock).where(Lock.scope == scope_of(environment, app))).first()

    def covering(self, environment: str, app: Optional[str] = None) -> List[Lock]:
        """The environment's lock and, with an app, the app's lock there."""
        with self.db.transaction() as session:
            lift_expired(session)
            return covering_locks(session, environment, app)

    def all(self) -> List[Lock]:
        with self.db.transaction() as session:
            lift_expired(session)
            return list(session.scalars(select(Lock).order_by(Lock.id)))

    def check(self, app: str, environment: str) -> None:
        """RequestRejected when a lock stops deploying the app to the environment."""
        with self.db.transaction() as session:
            check_unlocked(session, app, environment, self.zone)


def covering_locks(session: Session, environment: str, app: Optional[str] = None) -> List[Lock]:
    scopes = [scope_of(environment, None)] + ([scope_of(environment, app)] if app else [])
    return list(session.scalars(select(Lock).where(Lock.scope.in_(scopes)).order_by(Lock.id)))


def check_unlocked(session: Session, app: str, environment: str, zone: tzinfo = timezone.utc) -> None:
    """RequestRejected when a lock stops deploying the app to the environment (in the caller's
    transaction: DeploymentStore.begin runs it inside the environment's gate). An expired lock
    is lifted here, so it stops nothing even if the announcer has not come round yet."""
    lift_expired(session)
    locks = covering_locks(session, environment, app)
    if locks:
        raise RequestRejected(f"No: {describe(locks[0], zone)}. The owner or an admin can unlock it.")
