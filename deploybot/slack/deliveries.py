"""Slack retries events and may deliver one message as two events: each is handled once.

The record is in deploybot's database, so it holds across restarts and across Rasa
replicas. Slack retries for at most about an hour; entries older than a day are removed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Iterable

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from deploybot.deployments import now
from deploybot.storage.database import Database
from deploybot.storage.models import SlackDelivery

KEEP = timedelta(days=1)
CLEAN_EVERY = 500  # deliveries between removals of old entries


@dataclass
class Deliveries:
    db: Database
    recorded: int = 0

    def first_time(self, keys: Iterable[str]) -> bool:
        """Records the keys; False when any of them was recorded before."""
        self.recorded += 1
        if self.recorded % CLEAN_EVERY == 0:
            self.forget_old()
        try:
            with self.db.transaction() as session:
                for key in keys:
                    session.add(SlackDelivery(key=key[:255], received_at=now()))
        except IntegrityError:
            return False
        return True

    def forget_old(self) -> None:
        with self.db.transaction() as session:
            session.execute(delete(SlackDelivery).where(SlackDelivery.received_at < now() - KEEP))
