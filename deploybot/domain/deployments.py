"""Deployment records: every step from the yes to the reported outcome, in the database.

The database is the single source of truth shared by every action server and watcher:
- at most one active deployment per app and environment (a unique key, so two replicas
  can never both start one);
- state changes only move forward (each update names the states it may leave);
- each report is a row of the report outbox, leased to one watcher at a time (deploybot.domain.outbox);
  start_reported_at and outcome_reported_at say when it was delivered.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, List, Optional

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deploybot.domain.catalog import Catalog
from deploybot.domain.deploy_request import DeployRequest, RequestRejected
from deploybot.storage.database import Database
from deploybot.storage.gates import take_environment_gate
from deploybot.storage.models import Deployment

ACTIVE_STATES = ("confirmed", "queued", "running")
FINAL_STATES = ("succeeded", "failed", "aborted", "timed_out", "failed_to_start")
# What a finished Jenkins build's result means for the deployment.
STATE_OF_RESULT = {"SUCCESS": "succeeded", "ABORTED": "aborted"}  # anything else failed


def now() -> datetime:
    return datetime.now(timezone.utc)


def utc(moment: Optional[datetime]) -> Optional[datetime]:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def ago(moment: datetime, at: Optional[datetime] = None) -> str:
    """A rough age for people: "45 sec", "2 min", "3 h"."""
    seconds = max(0, int(((at or now()) - utc(moment)).total_seconds()))
    if seconds < 60:
        return f"{seconds} sec"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


class AlreadyDeploying(RequestRejected):
    """Another deployment of the app to the environment is active."""


def active_key(app: str, environment: str) -> str:
    return f"{app}/{environment}"


@dataclass
class NewDeployment:
    assistant: str
    request: DeployRequest
    kind: str                 # deploy, rollback, promotion
    requested_by: str
    conversation_id: str
    output_channel: str
    requested_at: datetime
    reply_to: Optional[dict] = None   # Slack: {"channel", "thread_ts"} of the request
    # Production safeguards (issue 14): approved_by, second_factor, break_glass_reason columns.
    safeguards: Optional[dict] = None
    batch_id: Optional[str] = None    # one app of several confirmed with one yes (deploybot.domain.batch_store)


@dataclass
class DeploymentStore:
    db: Database
    catalog: Catalog

    # -- creating ------------------------------------------------------------------

    def begin(self, new: NewDeployment, check: Optional[Callable[[Session], None]] = None) -> Deployment:
        """Records a confirmed deployment; AlreadyDeploying when one is active. check runs in
        the same transaction, after the environment's gate is taken (the lock check), and
        may refuse with RequestRejected: nothing is recorded then."""
        request = new.request
        record = Deployment(
            assistant=new.assistant, app=request.app, environment=request.environment,
            version=request.version, kind=new.kind, requested_by=new.requested_by,
            state="confirmed", active_key=active_key(request.app, request.environment),
            jenkins_job=self.catalog.app(request.app).jenkins_job,
            conversation_id=new.conversation_id, output_channel=new.output_channel,
            reply_to=json.dumps(new.reply_to) if new.reply_to else None,
            requested_at=new.requested_at, confirmed_at=now(), batch_id=new.batch_id, **(new.safeguards or {}),
        )
        try:
            with self.db.transaction() as session:
                take_environment_gate(session, request.environment)
                if check is not None:
                    check(session)
                record.confirmed_at = now()  # inside the gate: orders it against locks
                session.add(record)
        except IntegrityError:
            active = self.active_for(request.app, request.environment)
            raise AlreadyDeploying(self.describe_active(active) if active else
                                   "Another deployment of that app just finished starting; try again.") from None
        return record

    def describe_active(self, active: Deployment) -> str:
        """"cms is already being deployed to staging by theresa (build #41, started 2 min ago).\""""
        if active.build_number is not None:
            where = f"build #{active.build_number}, started {ago(active.started_at or active.queued_at)} ago"
        elif active.queue_id is not None:
            where = f"waiting in the Jenkins queue for {ago(active.queued_at)}"
        else:
            where = f"being handed to Jenkins, confirmed {ago(active.confirmed_at)} ago"
        return (f"{active.app} is already being deployed to {active.environment} by {active.requested_by}"
                f" (version {active.version}, {where}).")

    # -- state changes: each returns whether it applied -------------------------------

    def mark_queued(self, deployment_id: int, queue_id: int) -> bool:
        return self._move(deployment_id, ("confirmed",), state="queued", queue_id=queue_id, queued_at=now())

    def mark_running(self, deployment_id: int, build_number: int, build_url: str,
                     estimated_duration_ms: Optional[int], started_at: datetime) -> bool:
        return self._move(deployment_id, ("confirmed", "queued"), state="running", build_number=build_number,
                          build_url=build_url, estimated_duration_ms=estimated_duration_ms, started_at=started_at)

    def mark_finished(self, deployment_id: int, state: str, **details) -> bool:
        """Ends an active deployment (state is one of FINAL_STATES) and frees its app and environment."""
        assert state in FINAL_STATES, state
        details.setdefault("finished_at", now())
        return self._move(deployment_id, ACTIVE_STATES, state=state, active_key=None, **details)

    def annotate(self, deployment_id: int, **values) -> None:
        """Details that do not change the state: who cancelled, a better error text."""
        with self.db.transaction() as session:
            session.execute(update(Deployment).where(Deployment.id == deployment_id).values(**values))

    def _move(self, deployment_id: int, from_states, **values) -> bool:
        with self.db.transaction() as session:
            result = session.execute(
                update(Deployment)
                .where(Deployment.id == deployment_id, Deployment.state.in_(from_states))
                .values(**values)
            )
            return result.rowcount == 1

    # -- questions ---------------------------------------------------------------------

    def get(self, deployment_id: int) -> Optional[Deployment]:
        with self.db.transaction() as session:
            return session.get(Deployment, deployment_id)

    def active_for(self, app: str, environment: str) -> Optional[Deployment]:
        with self.db.transaction() as session:
            return session.scalars(
                select(Deployment).where(Deployment.active_key == active_key(app, environment))
            ).first()

    def active(self, app: Optional[str] = None, environment: Optional[str] = None) -> List[Deployment]:
        with self.db.transaction() as session:
            query = select(Deployment).where(Deployment.state.in_(ACTIVE_STATES))
            return list(session.scalars(_filtered(query, app, environment).order_by(Deployment.id)))

    def needing_attention(self, assistant: str) -> List[Deployment]:
        """Unfinished deployments, and finished ones whose outcome is not reported yet."""
        with self.db.transaction() as session:
            return list(session.scalars(
                select(Deployment)
                .where(Deployment.assistant == assistant)
                .where(or_(Deployment.state.in_(ACTIVE_STATES), Deployment.outcome_reported_at.is_(None)))
                .order_by(Deployment.id)
            ))

    def builds_of_job(self, job: str) -> set:
        """The build numbers of this Jenkins job that a deployment record already owns."""
        with self.db.transaction() as session:
            query = select(Deployment.build_number).where(Deployment.jenkins_job == job, Deployment.build_number.is_not(None))
            return set(session.scalars(query))

    def history(self, app: Optional[str] = None, environment: Optional[str] = None, limit: int = 10) -> List[Deployment]:
        with self.db.transaction() as session:
            query = _filtered(select(Deployment), app, environment)
            return list(session.scalars(query.order_by(Deployment.id.desc()).limit(limit)))

    def successes(self, app: str, environment: str, limit: int = 20) -> List[Deployment]:
        """The latest successful deployments, newest first."""
        with self.db.transaction() as session:
            query = _filtered(select(Deployment), app, environment).where(Deployment.state == "succeeded")
            return list(session.scalars(query.order_by(Deployment.id.desc()).limit(limit)))

    def current_version(self, app: str, environment: str) -> Optional[str]:
        """What the last successful deployment put there."""
        latest = self.successes(app, environment, limit=1)
        return latest[0].version if latest else None

    def previous_version(self, app: str, environment: str) -> Optional[tuple]:
        """(current, previous): the version a rollback returns to is the last success before
        the current version was deployed, with a different version."""
        successes = self.successes(app, environment)
        if not successes:
            return None
        current = successes[0].version
        previous = next((d.version for d in successes[1:] if d.version != current), None)
        return (current, previous) if previous else None


def _filtered(query, app: Optional[str], environment: Optional[str]):
    if app:
        query = query.where(Deployment.app == app)
    if environment:
        query = query.where(Deployment.environment == environment)
    return query
