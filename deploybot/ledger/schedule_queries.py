"""The dashboard's reads of scheduled deploys (issue 24, item 3): those still to happen, for the
Now page, and the schedule a deployment came from, for its page. Read-only, as the ledger is."""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from deploybot.storage.models import ScheduledDeploy

WAITING = ("scheduled", "asked")   # as deploybot.pipeline.schedules says


def waiting(session: Session) -> List[ScheduledDeploy]:
    """Every bot's scheduled deploys still to happen, soonest first."""
    return list(session.scalars(select(ScheduledDeploy).where(ScheduledDeploy.state.in_(WAITING))
                                .order_by(ScheduledDeploy.run_at).limit(200)))


def of_deployment(session: Session, deployment_id: int) -> Optional[ScheduledDeploy]:
    """The scheduled deploy this deployment was started from, if it was."""
    return session.scalars(select(ScheduledDeploy).where(ScheduledDeploy.deployment_id == deployment_id)).first()
