"""Read-only questions to deploybot's database: the history of deployments with filters and
pages, what runs where now, one deployment's timeline, and the audit log.

Every function takes a Session and only selects. The indexes that keep them quick on a
large ledger are in migration 0006.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deploybot.domain.deployments import ACTIVE_STATES, FINAL_STATES, utc
from deploybot.ledger.periods import Period
from deploybot.storage.models import AuditEntry, Deployment, DeploymentBatch, Lock

PAGE_SIZE = 50
STATES = ACTIVE_STATES + FINAL_STATES


@dataclass(frozen=True)
class DeploymentFilter:
    """What the history page and the exports narrow the deployments to; None: any."""
    app: Optional[str] = None
    environment: Optional[str] = None
    person: Optional[str] = None       # who asked
    state: Optional[str] = None
    period: Optional[Period] = None    # by the moment of the request

    def apply(self, query):
        for column, value in ((Deployment.app, self.app), (Deployment.environment, self.environment),
                              (Deployment.requested_by, self.person), (Deployment.state, self.state)):
            if value:
                query = query.where(column == value)
        if self.period is not None:
            query = query.where(Deployment.requested_at >= self.period.start,
                                Deployment.requested_at < self.period.end)
        return query


@dataclass
class Page:
    rows: list           # deployments or audit entries
    number: int          # 1-based
    total: int           # rows matching the filter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def newest_first(session: Session, model, where, page: int) -> Page:
    """One page of the filtered rows of a table (deployments, audit log), newest first; a
    page number past the end shows the last page."""
    total = session.scalar(where.apply(select(func.count(model.id))))
    number = min(max(1, page), max(1, -(-total // PAGE_SIZE)))
    # The page's ids first, then its rows: skipping thousands of ids reads only the index
    # (on PostgreSQL the whole rows would be read and thrown away: 365 ms for page 1000).
    ids = list(session.scalars(where.apply(select(model.id)).order_by(model.id.desc())
                               .offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    rows = session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id.desc())) if ids else []
    return Page(list(rows), number, total)


def oldest_first(session: Session, model, where, batch: int = 2000):
    """Every filtered row of a table, oldest first, read in batches by id (for exports)."""
    last_id = 0
    while True:
        query = where.apply(select(model)).where(model.id > last_id).order_by(model.id).limit(batch)
        rows = list(session.scalars(query))
        yield from rows
        if len(rows) < batch:
            return
        last_id = rows[-1].id


def history(session: Session, where: DeploymentFilter, page: int = 1) -> Page:
    """The deployments matching the filter, newest first, PAGE_SIZE at a time."""
    return newest_first(session, Deployment, where, page)


def deployments(session: Session, where: DeploymentFilter, batch: int = 2000):
    """Every matching deployment, oldest first (for exports)."""
    return oldest_first(session, Deployment, where, batch)


def people(session: Session) -> List[str]:
    """Everyone who ever asked for a deployment, for the history page's filter."""
    return list(session.scalars(select(Deployment.requested_by).distinct().order_by(Deployment.requested_by)))


# -- now ------------------------------------------------------------------------------

@dataclass
class Cell:
    """What one app runs in one environment, and what is happening to it."""
    app: str
    environment: str
    current: Optional[Deployment] = None     # the last successful deployment
    active: Optional[Deployment] = None      # confirmed, queued or running
    locks: List[Lock] = field(default_factory=list)

    def progress(self, at: datetime) -> Optional[int]:
        """Percent of Jenkins' estimate that a running build has used (capped at 99)."""
        active = self.active
        if active is None or active.started_at is None or not active.estimated_duration_ms:
            return None
        elapsed_ms = (at - utc(active.started_at)).total_seconds() * 1000
        return max(0, min(99, int(100 * elapsed_ms / active.estimated_duration_ms)))


def now_matrix(session: Session, apps: Sequence[str], environments: Sequence[str],
               at: Optional[datetime] = None) -> Dict[tuple, Cell]:
    """{(app, environment): Cell} for every app and environment of the catalog. A lock past its
    expiry stops nothing (deploybot.domain.locks lifts it at the next check), so it is not shown."""
    at = at or datetime.now(timezone.utc)
    cells = {(app, env): Cell(app, env) for app in apps for env in environments}
    for (app, env), cell in cells.items():
        # One indexed lookup per cell (app, environment, state, id): quick at any ledger size.
        cell.current = session.scalars(
            select(Deployment).where(Deployment.app == app, Deployment.environment == env,
                                     Deployment.state == "succeeded").order_by(Deployment.id.desc()).limit(1)
        ).first()
    for active in session.scalars(select(Deployment).where(Deployment.state.in_(ACTIVE_STATES))):
        if (active.app, active.environment) in cells:
            cells[(active.app, active.environment)].active = active
    for lock in session.scalars(select(Lock).order_by(Lock.locked_at)):
        if lock.expires_at is not None and utc(lock.expires_at) <= at:
            continue
        for (app, env), cell in cells.items():
            if lock.environment == env and lock.app in (None, app):
                cell.locks.append(lock)
    return cells


# -- one deployment ---------------------------------------------------------------------

@dataclass
class Step:
    state: str
    at: Optional[datetime]


@dataclass
class Timeline:
    deployment: Deployment
    steps: List[Step]
    approval: Optional[AuditEntry]      # the grant that let the requester deploy the app, if one was needed
    reply_to: Dict[str, str]            # where in the channel the conversation was (Slack channel, thread)
    # The other deployments confirmed with the same yes (several apps in one request), and
    # the apps of that request that never became a deployment, with why.
    batch_mates: List[Deployment] = field(default_factory=list)
    batch_not_started: Dict[str, str] = field(default_factory=dict)


def timeline(session: Session, deployment_id: int) -> Optional[Timeline]:
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        return None
    steps = [Step("requested", deployment.requested_at), Step("confirmed", deployment.confirmed_at)]
    if deployment.queued_at:
        steps.append(Step("queued", deployment.queued_at))
    if deployment.started_at:
        steps.append(Step("running", deployment.started_at))
    if deployment.state in FINAL_STATES:
        steps.append(Step(deployment.state, deployment.finished_at))
    approval = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "grant", AuditEntry.outcome == "done",
                                 AuditEntry.target_user == deployment.requested_by,
                                 AuditEntry.app == deployment.app, AuditEntry.at <= deployment.requested_at)
        .order_by(AuditEntry.at.desc()).limit(1)
    ).first()
    try:
        reply_to = json.loads(deployment.reply_to) if deployment.reply_to else {}
    except ValueError:
        reply_to = {}
    mates, not_started = [], {}
    if deployment.batch_id:
        mates = list(session.scalars(select(Deployment).where(
            Deployment.batch_id == deployment.batch_id, Deployment.id != deployment.id).order_by(Deployment.id)))
        batch = session.get(DeploymentBatch, deployment.batch_id)
        try:
            not_started = json.loads(batch.not_started) if batch is not None else {}
        except ValueError:
            not_started = {}
    return Timeline(deployment, steps, approval, reply_to if isinstance(reply_to, dict) else {}, mates,
                    not_started if isinstance(not_started, dict) else {})


# -- audit log ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilter:
    actor: Optional[str] = None
    action: Optional[str] = None
    outcome: Optional[str] = None
    app: Optional[str] = None
    period: Optional[Period] = None

    def apply(self, query):
        for column, value in ((AuditEntry.actor, self.actor), (AuditEntry.action, self.action),
                              (AuditEntry.outcome, self.outcome), (AuditEntry.app, self.app)):
            if value:
                query = query.where(column == value)
        if self.period is not None:
            query = query.where(AuditEntry.at >= self.period.start, AuditEntry.at < self.period.end)
        return query


def audit_log(session: Session, where: AuditFilter, page: int = 1) -> Page:
    return newest_first(session, AuditEntry, where, page)


def audit_entries(session: Session, where: AuditFilter, batch: int = 2000):
    """Every matching audit entry, oldest first (for exports)."""
    return oldest_first(session, AuditEntry, where, batch)


def audit_actions(session: Session) -> List[str]:
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
