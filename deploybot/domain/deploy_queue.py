"""The deploy queue (issue 24, item 2): people waiting for an app and environment that was busy
or locked, and their turns. Nothing here deploys: a turn is a question the requester answers.

- Joining, leaving and the order are rows in deploy_queue (QueueStore), in order of id.
- QueueTurns, one per action server for its bot, gives the first waiting person the turn when
  the app and environment are free (no lock, no active deployment), passes an unanswered turn
  on when it expires, and notes which deployment a turn's yes started. Every change is claimed
  with a conditional UPDATE, so two replicas never give, pass or send the same turn twice.
- The turn is said in the conversation the person queued from (Rasa's trigger_intent with
  EXTERNAL_queue_turn, as the lock expiry does); the action asks there (actions/queue.py).

Kuberpult removed its queue because queued versions deployed themselves when a lock was lifted,
and people wondered why things changed: here a turn only ever asks.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from sqlalchemy import select, update

from deploybot.domain.conversation_triggers import every, trigger_intent
from deploybot.domain.deployments import active_key, now, utc
from deploybot.domain.lock_expiry import lift_expired
from deploybot.domain.locks import covering_locks
from deploybot.storage.database import Database
from deploybot.storage.models import Deployment, QueueEntry

log = logging.getLogger(__name__)
QUEUE_TURN_INTENT = "EXTERNAL_queue_turn"
ACTIVE = ("waiting", "offered")
RESEND_AFTER = timedelta(seconds=30)   # a turn not yet asked (Rasa or the actions down) is sent again
GIVE_UP_AFTER = timedelta(days=1)      # a skipped person nobody could tell for a day is not told any more
Audit = Callable[..., None]            # Permissions.audit(actor, action, outcome, **details)


def ordinal(place: int) -> str:
    suffix = "th" if 10 <= place % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(place % 10, "th")
    return f"{place}{suffix}"


def in_order(rows: List[QueueEntry]) -> List[QueueEntry]:
    """The turn's holder first, then everyone waiting in the order they queued."""
    return sorted(rows, key=lambda row: (row.state != "offered", row.id))


class QueueStore:
    def __init__(self, db: Database):
        self.db = db

    def line(self, app: str, environment: str) -> List[QueueEntry]:
        """Who waits for an app and environment, the turn's holder first."""
        with self.db.transaction() as session:
            return in_order(list(session.scalars(select(QueueEntry).where(
                QueueEntry.app == app, QueueEntry.environment == environment, QueueEntry.state.in_(ACTIVE)))))

    def lines(self, environments: List[str]) -> Dict[Tuple[str, str], List[QueueEntry]]:
        """Every queue in these environments, by (app, environment)."""
        with self.db.transaction() as session:
            rows = list(session.scalars(select(QueueEntry).where(
                QueueEntry.environment.in_(environments), QueueEntry.state.in_(ACTIVE)).order_by(QueueEntry.id)))
        found: Dict[Tuple[str, str], List[QueueEntry]] = {}
        for row in rows:
            found.setdefault((row.app, row.environment), []).append(row)
        return {key: in_order(rows) for key, rows in sorted(found.items())}

    def ahead_of(self, app: str, environment: str, requester: str) -> Optional[QueueEntry]:
        """Whoever goes before this requester for the app and environment: the turn's holder,
        or the first one waiting; None when that is the requester (or nobody waits)."""
        line = self.line(app, environment)
        if not line or line[0].requested_by == requester:
            return None
        return line[0]

    def join(self, assistant: str, requester: str, app: str, version: str, environment: str,
             where: Mapping[str, object]) -> Tuple[QueueEntry, int, bool]:
        """Queues the request (or finds the requester already waiting for that app and
        environment: the version is updated); the entry, its place (1 = next) and whether it is new."""
        with self.db.transaction() as session:
            mine = session.scalars(select(QueueEntry).where(
                QueueEntry.app == app, QueueEntry.environment == environment, QueueEntry.requested_by == requester,
                QueueEntry.state.in_(ACTIVE))).first()
            new = mine is None
            if new:
                mine = QueueEntry(assistant=assistant, app=app, environment=environment, version=version,
                                  requested_by=requester, state="waiting", queued_at=now(),
                                  conversation_id=str(where["conversation_id"]), output_channel=str(where["output_channel"] or "rest"),
                                  reply_to=json.dumps(where["reply_to"]) if where.get("reply_to") else None,
                                  asked_in=json.dumps(where.get("asked_in") or {}))
                session.add(mine)
            else:
                mine.version = version
            session.flush()
            session.expunge(mine)
        line = self.line(app, environment)
        place = next(index for index, row in enumerate(line, 1) if row.id == mine.id)
        return mine, place, new

    def leave(self, requester: str, environments: List[str]) -> List[QueueEntry]:
        """Takes the requester out of every queue in these environments; the entries left."""
        with self.db.transaction() as session:
            rows = list(session.scalars(select(QueueEntry).where(
                QueueEntry.requested_by == requester, QueueEntry.environment.in_(environments),
                QueueEntry.state.in_(ACTIVE))))
            left = [row for row in rows if session.execute(
                update(QueueEntry).where(QueueEntry.id == row.id, QueueEntry.state.in_(ACTIVE))
                .values(state="left", ended_at=now())).rowcount == 1]
            for row in left:
                session.expunge(row)
            return left

    def decline(self, requester: str, app: str, environment: str) -> Optional[QueueEntry]:
        """The turn's holder said no: the turn passes on (the loop gives it to the next person)."""
        with self.db.transaction() as session:
            row = session.scalars(select(QueueEntry).where(
                QueueEntry.requested_by == requester, QueueEntry.app == app, QueueEntry.environment == environment,
                QueueEntry.state == "offered")).first()
            if row is None or session.execute(update(QueueEntry).where(QueueEntry.id == row.id, QueueEntry.state == "offered")
                                              .values(state="declined", ended_at=now(), told_at=now())).rowcount != 1:
                return None
            session.expunge(row)
            return row

    def get(self, entry_id: int) -> Optional[QueueEntry]:
        with self.db.transaction() as session:
            row = session.get(QueueEntry, entry_id)
            if row is not None:
                session.expunge(row)
            return row

    def claim(self, entry_id: int, state: str, column: str) -> bool:
        """Marks the turn asked (asked_at) or the skip told (told_at): True for exactly one caller."""
        with self.db.transaction() as session:
            return session.execute(update(QueueEntry).where(
                QueueEntry.id == entry_id, QueueEntry.state == state, getattr(QueueEntry, column).is_(None))
                .values({column: now()})).rowcount == 1

    def drop(self, entry_id: int) -> bool:
        """A turn whose request is no longer valid (the app left the catalog) leaves the queue (told already)."""
        with self.db.transaction() as session:
            return session.execute(update(QueueEntry).where(QueueEntry.id == entry_id, QueueEntry.state.in_(ACTIVE))
                                   .values(state="dropped", ended_at=now(), told_at=now())).rowcount == 1

    def from_queue(self, deployment_id: int) -> Optional[QueueEntry]:
        """The queue entry whose turn started this deployment, if any (the deployment page says so)."""
        with self.db.transaction() as session:
            row = session.scalars(select(QueueEntry).where(QueueEntry.deployment_id == deployment_id)).first()
            if row is not None:
                session.expunge(row)
            return row


@dataclass
class QueueTurns:
    """The background loop: turns given, turns passed on, turns used, turns said."""
    db: Database
    rasa_urls: Mapping[str, str]     # assistant id -> Rasa base URL
    token: Optional[str]
    assistant: str
    turn_seconds: float
    audit: Audit
    may_deploy: Callable[[str, str], bool]   # (user, app): a revoked grant loses its place (Permissions.may_deploy)
    poll_seconds: float = 5.0
    timeout: float = 30.0

    async def run(self) -> None:
        await every(self.poll_seconds, self.round, "queue-turns")

    def round(self, moment: Optional[datetime] = None) -> None:
        moment = moment or now()
        self.note_started(moment)
        self.drop_revoked(moment)
        self.pass_expired(moment)
        self.give_turns(moment)
        for row in self.due(moment):
            self.send(row)

    def _mine(self, session, *where):
        return list(session.scalars(select(QueueEntry).where(QueueEntry.assistant == self.assistant, *where)
                                    .order_by(QueueEntry.id)))

    def note_started(self, moment: datetime) -> None:
        """A turn whose holder started the deployment (after a yes, through the whole pipeline)
        is used: the entry leaves the queue, naming the deployment."""
        said = []
        with self.db.transaction() as session:
            for row in self._mine(session, QueueEntry.state == "offered"):
                started = session.scalars(select(Deployment).where(
                    Deployment.requested_by == row.requested_by, Deployment.app == row.app,
                    Deployment.environment == row.environment, Deployment.assistant == self.assistant,
                    Deployment.confirmed_at >= utc(row.offered_at)).order_by(Deployment.id)).first()
                if started is not None and session.execute(
                        update(QueueEntry).where(QueueEntry.id == row.id, QueueEntry.state == "offered")
                        .values(state="deployed", deployment_id=started.id, ended_at=moment)).rowcount == 1:
                    said.append((row, "deployed", f"the turn's yes started deployment #{started.id}"))
        self.audited(said)

    def drop_revoked(self, moment: datetime) -> None:
        """Whoever may no longer deploy the app (a grant revoked meanwhile) leaves the queue and is
        told; a turn they held passes on. (Their yes would be refused anyway: action_deploy checks.)"""
        with self.db.transaction() as session:
            rows = self._mine(session, QueueEntry.state.in_(ACTIVE))
        said = []
        for row in rows:
            if self.may_deploy(row.requested_by, row.app):
                continue
            with self.db.transaction() as session:
                if session.execute(update(QueueEntry).where(QueueEntry.id == row.id, QueueEntry.state.in_(ACTIVE))
                                   .values(state="dropped", ended_at=moment, sent_at=None)).rowcount == 1:
                    said.append((row, "dropped", "may no longer deploy the app: left the queue"))
        self.audited(said)

    def pass_expired(self, moment: datetime) -> None:
        """An unanswered turn passes on; the skipped person is told (send)."""
        said = []
        with self.db.transaction() as session:
            for row in self._mine(session, QueueEntry.state == "offered", QueueEntry.turn_expires_at <= moment):
                if session.execute(update(QueueEntry).where(QueueEntry.id == row.id, QueueEntry.state == "offered")
                                   .values(state="expired", ended_at=moment, sent_at=None)).rowcount == 1:
                    said.append((row, "expired", "no answer in time: the turn passed on"))
        self.audited(said)

    def give_turns(self, moment: datetime) -> None:
        """The first person waiting for a free app and environment, where nobody holds the turn,
        gets it: their turn is claimed (waiting -> offered) by one replica only."""
        said = []
        with self.db.transaction() as session:
            lift_expired(session, moment)
            rows = self._mine(session, QueueEntry.state.in_(ACTIVE))
            lines: Dict[Tuple[str, str], List[QueueEntry]] = {}
            for row in rows:
                lines.setdefault((row.app, row.environment), []).append(row)
            for (app, environment), line in lines.items():
                if any(row.state == "offered" for row in line) or not self.free(session, app, environment):
                    continue
                first = line[0]
                expires = moment + timedelta(seconds=self.turn_seconds)
                if session.execute(update(QueueEntry).where(QueueEntry.id == first.id, QueueEntry.state == "waiting")
                                   .values(state="offered", offered_at=moment, turn_expires_at=expires,
                                           sent_at=None)).rowcount == 1:
                    said.append((first, "turn", f"{app} {first.version} on {environment} is free: the turn was offered"))
        self.audited(said)

    def audited(self, said) -> None:
        """After the transaction (SQLite allows one writer): each change in the audit log."""
        for row, outcome, detail in said:
            self.audit(row.requested_by, "queue", outcome, app=row.app, environment=row.environment, detail=detail)

    @staticmethod
    def free(session, app: str, environment: str) -> bool:
        active = session.scalars(select(Deployment.id).where(Deployment.active_key == active_key(app, environment))).first()
        return active is None and not covering_locks(session, environment, app)

    def due(self, moment: datetime) -> List[QueueEntry]:
        """Turns not yet asked, and skips not yet told, each sent at most once per RESEND_AFTER,
        and by one replica: each row is claimed by a conditional UPDATE of its sent_at in a
        transaction of its own (a write first, so SQLite and PostgreSQL both let one win)."""
        with self.db.transaction() as session:
            rows = self._mine(session, QueueEntry.state.in_(("offered", "expired", "dropped")))
            due = [row for row in rows
                   if (row.asked_at is None if row.state == "offered" else
                       row.told_at is None and utc(row.ended_at) > moment - GIVE_UP_AFTER)
                   and (row.sent_at is None or utc(row.sent_at) < moment - RESEND_AFTER)]
        return [row for row in due if self._claim(row, moment)]

    def _claim(self, row: QueueEntry, moment: datetime) -> bool:
        unsent = QueueEntry.sent_at.is_(None) if row.sent_at is None else QueueEntry.sent_at == row.sent_at
        with self.db.transaction() as session:
            claimed = session.execute(update(QueueEntry).where(QueueEntry.id == row.id, unsent)
                                      .values(sent_at=moment)).rowcount == 1
        if claimed:
            row.sent_at = moment
        return claimed

    def send(self, row: QueueEntry) -> bool:
        return trigger_intent(self.rasa_urls[self.assistant], self.token, row.conversation_id, row.output_channel,
                              QUEUE_TURN_INTENT, {"queue_turn": str(row.id)}, self.timeout)
