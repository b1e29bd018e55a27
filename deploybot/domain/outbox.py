"""The report outbox: every message a deployment owes someone is a row, sent at least once
and said at most once.

- A row is created when its message is due (deploybot.delivery.watcher decides when), once: the
  table has one row per deployment and kind, and a second creator just finds it there.
- A watcher takes a row with a lease: one conditional UPDATE that succeeds only while the
  row is not done and its lease is free or expired, so two watchers (replicas, or a push
  racing a poll) never hold one at the same time. A sender that dies keeps nothing: its
  lease expires and the next round takes the row again. A clean failure releases it at once.
- The report action marks the row "said" (said_at, one conditional UPDATE) before it
  speaks and speaks only if it won. That is the report's idempotency key: a resend stays
  silent whichever Rasa session or replica it lands in.
- Done is final. Marking a report done also records it on the deployment
  (start_reported_at / outcome_reported_at: when it was delivered) and may create the rows
  that follow it, in the same transaction, so a crash cannot lose them.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterable, List, Optional

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from deploybot.domain.deployments import now
from deploybot.storage.database import Database
from deploybot.storage.models import Deployment, ReportOutbox

REPORTS = ("start", "outcome")
MANAGEMENT = "management:"  # + the destination's name
# The deployment column that records when a report was delivered.
DELIVERED_COLUMN = {"start": Deployment.start_reported_at, "outcome": Deployment.outcome_reported_at}


def management_kind(destination: str) -> str:
    return MANAGEMENT + destination


def sender_id() -> str:
    """Who holds a lease: enough to tell replicas and restarts apart in the table."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Outbox:
    db: Database

    # -- rows ------------------------------------------------------------------------

    def add(self, deployment_id: int, kind: str) -> None:
        """The message is due. Idempotent: a row that exists (done or not) stays as it is."""
        if self.row(deployment_id, kind) is not None:
            return
        try:
            with self.db.transaction() as session:
                session.add(ReportOutbox(deployment_id=deployment_id, kind=kind, created_at=now(), attempts=0))
        except IntegrityError:
            pass  # another watcher added it a moment ago

    def row(self, deployment_id: int, kind: str) -> Optional[ReportOutbox]:
        with self.db.transaction() as session:
            return session.scalars(select(ReportOutbox).where(
                ReportOutbox.deployment_id == deployment_id, ReportOutbox.kind == kind)).first()

    def rows(self, deployment_id: int) -> List[ReportOutbox]:
        with self.db.transaction() as session:
            return list(session.scalars(select(ReportOutbox).where(ReportOutbox.deployment_id == deployment_id)
                                        .order_by(ReportOutbox.id)))

    def deployments_with_pending(self, assistant: str) -> List[int]:
        """Deployments of this bot with a message not yet done (e.g. a management post
        retried after its outcome was delivered)."""
        with self.db.transaction() as session:
            return list(session.scalars(
                select(ReportOutbox.deployment_id).distinct()
                .join(Deployment, Deployment.id == ReportOutbox.deployment_id)
                .where(Deployment.assistant == assistant, ReportOutbox.done_at.is_(None))
                .order_by(ReportOutbox.deployment_id)))

    # -- the lease -------------------------------------------------------------------

    def take(self, row_id: int, sender: str, lease_seconds: float) -> bool:
        """True for one taker at a time: the row is not done and nobody holds a live lease."""
        moment = now()
        with self.db.transaction() as session:
            result = session.execute(
                update(ReportOutbox)
                .where(ReportOutbox.id == row_id, ReportOutbox.done_at.is_(None),
                       or_(ReportOutbox.leased_until.is_(None), ReportOutbox.leased_until < moment))
                .values(leased_until=moment + timedelta(seconds=lease_seconds), leased_by=sender,
                        attempts=ReportOutbox.attempts + 1)
            )
            return result.rowcount == 1

    def release(self, row_id: int, sender: str) -> None:
        """The send failed cleanly: the next round may take the row at once."""
        with self.db.transaction() as session:
            session.execute(
                update(ReportOutbox)
                .where(ReportOutbox.id == row_id, ReportOutbox.leased_by == sender, ReportOutbox.done_at.is_(None))
                .values(leased_until=None, leased_by=None)
            )

    def mark_done(self, row_id: int, then: Iterable[str] = ()) -> bool:
        """Delivered. For a report, the deployment records when; `then` are the kinds of the
        rows that follow it (the management posts after an outcome), created in the same
        transaction. True for the one caller that marked it."""
        moment = now()
        with self.db.transaction() as session:
            result = session.execute(
                update(ReportOutbox).where(ReportOutbox.id == row_id, ReportOutbox.done_at.is_(None))
                .values(done_at=moment, leased_until=None)
            )
            if result.rowcount != 1:
                return False
            row = session.get(ReportOutbox, row_id)
            if row.kind in DELIVERED_COLUMN:
                column = DELIVERED_COLUMN[row.kind]
                session.execute(update(Deployment).where(Deployment.id == row.deployment_id, column.is_(None))
                                .values({column: moment}))
            for kind in then:
                session.add(ReportOutbox(deployment_id=row.deployment_id, kind=kind, created_at=moment, attempts=0))
            return True

    # -- the idempotency key of a report -----------------------------------------------

    def mark_said(self, deployment_id: int, report: str) -> bool:
        """The report action is about to say the report: True for exactly one caller, in
        whichever session, replica or resend it runs."""
        with self.db.transaction() as session:
            result = session.execute(
                update(ReportOutbox)
                .where(and_(ReportOutbox.deployment_id == deployment_id, ReportOutbox.kind == report,
                            ReportOutbox.said_at.is_(None)))
                .values(said_at=now())
            )
            return result.rowcount == 1

    def is_said(self, row_id: int) -> bool:
        with self.db.transaction() as session:
            return session.scalar(select(ReportOutbox.said_at).where(ReportOutbox.id == row_id)) is not None
