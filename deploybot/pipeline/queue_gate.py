"""The queue's rule of the environment gate (issue 24, item 2): while someone else holds the
turn for an app and environment, or waits ahead, nobody jumps the queue. The turn's holder
(and the first one waiting, when nobody holds it) passes; so does everyone when nobody waits."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from deploybot.domain.deploy_queue import QueueStore
from deploybot.domain.deployments import utc
from deploybot.pipeline.gate import Block, Check
from deploybot.storage.database import Database


def queue_check(db: Database) -> Check:
    def check(app: str, environment: str, requester: str, now: datetime) -> Optional[Block]:
        ahead = QueueStore(db).ahead_of(app, environment, requester)
        if ahead is None:
            return None
        opens = utc(ahead.turn_expires_at) if ahead.state == "offered" else None
        return Block("queue", f"{ahead.requested_by} is next for {app} on {environment}", opens_at=opens)
    return check
