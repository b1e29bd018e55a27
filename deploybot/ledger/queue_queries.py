"""The deploy queue in the dashboard (issue 24, item 2): who waits for what now (the Now page),
and whether a deployment came from a queue turn (its page). Read-only."""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from deploybot.storage.models import QueueEntry


def waiting(session: Session) -> List[QueueEntry]:
    """Everyone waiting, by app and environment, the turn's holder first, then in order."""
    rows = session.scalars(select(QueueEntry).where(QueueEntry.state.in_(("waiting", "offered")))).all()
    return sorted(rows, key=lambda row: (row.app, row.environment, row.state != "offered", row.id))


def from_queue(session: Session, deployment_id: int) -> Optional[QueueEntry]:
    return session.scalars(select(QueueEntry).where(QueueEntry.deployment_id == deployment_id)).first()
