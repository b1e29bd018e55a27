"""The requester's latest confirmed request in one conversation with one bot: what a late
correction ("make it 1.0.4" after the yes) starts a new request from."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import Deployment


def last_confirmed(db: Database, assistant: str, conversation_id: str, requested_by: str) -> Optional[Deployment]:
    with db.transaction() as session:
        return session.scalars(
            select(Deployment)
            .where(Deployment.assistant == assistant, Deployment.conversation_id == conversation_id,
                   Deployment.requested_by == requested_by)
            .order_by(Deployment.id.desc())
            .limit(1)
        ).first()
