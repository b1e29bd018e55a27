"""Slack retries events and may deliver one message as two events: each is handled once.
And the threads where the bot is talking with someone, whose plain replies there count.

The record is in deploybot's database, so it holds across restarts and across Rasa
replicas. Slack retries for at most about an hour; entries older than a day are removed.

Conversations share the table under their own key prefix (CONVERSATION). A day is long
enough for them: every post of the bot into the thread renews the entry, a question
expires after minutes (confirmation_timeout) and a build's report comes within its
build_timeout (30 minutes); a thread quiet for a day is over, and a mention starts it again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from deploybot.domain.deployments import now
from deploybot.storage.database import Database
from deploybot.storage.models import SlackDelivery

KEEP = timedelta(days=1)
CLEAN_EVERY = 500  # deliveries between removals of old entries
CONVERSATION = "conversation:"  # + channel:thread_ts:person


def conversation_key(channel: str, thread_ts: str, person: str) -> str:
    return f"{CONVERSATION}{channel}:{thread_ts}:{person}"[:255]


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

    def remember_conversation(self, channel: str, thread_ts: str, person: str) -> None:
        """The bot posted into this thread for this person: their plain replies there count."""
        key = conversation_key(channel, thread_ts, person)
        try:
            with self.db.transaction() as session:
                renewed = session.execute(update(SlackDelivery).where(SlackDelivery.key == key).values(received_at=now()))
                if not renewed.rowcount:
                    session.add(SlackDelivery(key=key, received_at=now()))
        except IntegrityError:
            pass  # another replica recorded it at the same moment

    def in_conversation(self, channel: str, thread_ts: str, person: str) -> bool:
        """Whether the bot posted into this thread for this person within the last day."""
        key = conversation_key(channel, thread_ts, person)
        with self.db.transaction() as session:
            found = session.scalar(select(SlackDelivery.id).where(SlackDelivery.key == key,
                                                                  SlackDelivery.received_at >= now() - KEEP))
        return found is not None

    def forget_old(self) -> None:
        with self.db.transaction() as session:
            session.execute(delete(SlackDelivery).where(SlackDelivery.received_at < now() - KEEP))
