"""Locks that expire lift themselves, and the bot says so where the lock was set, once.

- An expired lock stops nothing, even before it is lifted: every lock check lifts expired
  locks first, in its own transaction (lift_expired), so the expiry is exact to the second.
- Lifting moves the lock into lifted_locks, in one transaction: the DELETE that removes it
  succeeds for one caller only, so a lock is lifted (and later announced) once, whichever
  replica or check gets there first.
- The announcer (one per action server, for its bot) lifts what has expired and sends each
  lifted lock not yet said to the conversation where it was set (Rasa's trigger_intent, as
  the deployment reports go); the report action marks it said just before it speaks and
  speaks only if it won, so a resend stays silent (deploybot.domain.outbox does the same for builds).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Mapping, Optional

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from deploybot.domain.conversation_triggers import every, trigger_intent
from deploybot.domain.deployments import now, utc
from deploybot.storage.database import Database
from deploybot.storage.models import LiftedLock, Lock

LOCK_EXPIRED_INTENT = "EXTERNAL_lock_expired"
RESEND_AFTER = timedelta(seconds=30)   # a send that was not said (Rasa or the actions down) is retried
GIVE_UP_AFTER = timedelta(days=1)      # an announcement nobody could hear for a day is not sent any more


def lift_expired(session: Session, moment: Optional[datetime] = None) -> List[LiftedLock]:
    """Lifts every expired lock, in the caller's transaction; the ones this call lifted."""
    moment = moment or now()
    lifted = []
    for lock in session.scalars(select(Lock).where(Lock.expires_at.is_not(None), Lock.expires_at <= moment)).all():
        if session.execute(delete(Lock).where(Lock.id == lock.id)).rowcount != 1:
            continue  # someone else lifted it a moment ago
        row = LiftedLock(lock_id=lock.id, environment=lock.environment, app=lock.app, reason=lock.reason,
                         locked_by=lock.locked_by, locked_at=lock.locked_at, expires_at=lock.expires_at,
                         lifted_at=moment, assistant=lock.assistant, conversation_id=lock.conversation_id,
                         output_channel=lock.output_channel, reply_to=lock.reply_to)
        session.add(row)
        lifted.append(row)
    return lifted


def mark_said(db: Database, lifted_id: int) -> bool:
    """The report action is about to say it: True for exactly one caller."""
    with db.transaction() as session:
        result = session.execute(update(LiftedLock).where(LiftedLock.id == lifted_id, LiftedLock.said_at.is_(None))
                                 .values(said_at=now()))
        return result.rowcount == 1


def get_lifted(db: Database, lifted_id: int) -> Optional[LiftedLock]:
    with db.transaction() as session:
        return session.get(LiftedLock, lifted_id)


@dataclass
class LockExpiryAnnouncer:
    db: Database
    rasa_urls: Mapping[str, str]     # assistant id -> Rasa base URL
    token: Optional[str]
    assistant: str
    poll_seconds: float = 5.0
    timeout: float = 30.0

    async def run(self) -> None:
        await every(self.poll_seconds, self.round, "lock-expiry")

    def round(self) -> None:
        moment = now()
        with self.db.transaction() as session:
            lift_expired(session, moment)
        for row in self.due(moment):
            self.send(row)

    def due(self, moment: datetime) -> List[LiftedLock]:
        """This bot's lifted locks not yet said, each at most once per RESEND_AFTER."""
        with self.db.transaction() as session:
            rows = list(session.scalars(
                select(LiftedLock).where(
                    LiftedLock.assistant == self.assistant, LiftedLock.said_at.is_(None),
                    LiftedLock.conversation_id.is_not(None), LiftedLock.lifted_at > moment - GIVE_UP_AFTER)
                .order_by(LiftedLock.id)))
            due = [row for row in rows if row.sent_at is None or utc(row.sent_at) < moment - RESEND_AFTER]
            for row in due:
                row.sent_at = moment
            return due

    def send(self, row: LiftedLock) -> bool:
        return trigger_intent(self.rasa_urls[self.assistant], self.token, row.conversation_id, row.output_channel,
                              LOCK_EXPIRED_INTENT, {"lock": str(row.id)}, self.timeout)

