"""Freezes set in chat by an admin ("freeze production from Friday 18:00 until Monday 08:00:
release weekend"): rows in chat_freezes, read back as deploybot.domain.freezes.Freeze so that
the gate treats them like freezes.yml's. Lifting one keeps its row (lifted_at, lifted_by)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from deploybot.domain.deployments import utc
from deploybot.domain.freezes import Freeze
from deploybot.storage.database import Database
from deploybot.storage.models import ChatFreeze


def as_freeze(row: ChatFreeze, zone: tzinfo) -> Freeze:
    return Freeze(row.environment, row.reason, zone, apps=(row.app,) if row.app else (),
                  period=(utc(row.starts_at), utc(row.ends_at)), source="set in chat", chat_id=row.id, set_by=row.set_by)


def standing_in(session: Session, now: datetime, zone: tzinfo) -> List[Freeze]:
    """The chat freezes not lifted and not over at `now`, in the caller's session."""
    rows = session.scalars(select(ChatFreeze).where(ChatFreeze.lifted_at.is_(None))
                           .where(ChatFreeze.ends_at > now.astimezone(timezone.utc)).order_by(ChatFreeze.starts_at))
    return [as_freeze(row, zone) for row in rows if utc(row.ends_at) > now]


@dataclass
class ChatFreezes:
    db: Database
    zone: tzinfo = timezone.utc   # how their times are said: the bot's time zone

    def add(self, user: str, environment: str, app: Optional[str], reason: str, starts_at: datetime,
            ends_at: datetime, now: datetime) -> Freeze:
        """Stored in UTC (SQLite drops zones); the caller checked that the user is an admin."""
        with self.db.transaction() as session:
            row = ChatFreeze(environment=environment, app=app, reason=reason, set_by=user, set_at=now.astimezone(timezone.utc),
                             starts_at=starts_at.astimezone(timezone.utc), ends_at=ends_at.astimezone(timezone.utc))
            session.add(row)
            session.flush()
            return as_freeze(row, self.zone)

    def standing(self, now: datetime) -> List[Freeze]:
        """Every chat freeze not lifted and not over at `now` (running or to come)."""
        with self.db.transaction() as session:
            return standing_in(session, now, self.zone)

    def lift(self, user: str, environment: str, app: Optional[str], now: datetime) -> List[Freeze]:
        """Lifts the standing chat freezes on the environment (on the app, when one is named,
        else all of the environment's); returns those lifted."""
        with self.db.transaction() as session:
            rows = [row for row in session.scalars(select(ChatFreeze).where(ChatFreeze.lifted_at.is_(None))
                                                   .where(ChatFreeze.environment == environment))
                    if utc(row.ends_at) > now and (app is None or row.app in (None, app))]
            for row in rows:
                row.lifted_at, row.lifted_by = now.astimezone(timezone.utc), user
            return [as_freeze(row, self.zone) for row in rows]
