"""The second factor stage's waiting room (issue 23): what waits for a two-factor code after
the yes, kept in the database with the request, not in the conversation's slots.

Two kinds, at most one of each per conversation, so that neither displaces the other (a code
goes to the one asked for last):
- DEPLOY: the requester's confirmed deploy or batch, held for their code;
- APPROVE: an approver's approval, held for their own code (approver_two_factor).

A newer hold of the same kind replaces the older one; the code, "no", a correction or a
failed check drops it. A hold older than LIFETIME_SECONDS is gone: the conversation's Rasa
session (session_expiration_time in domain.yml) would have ended it when it was a slot, and
its code would have come far too late anyway.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import delete, select

from deploybot.storage.database import Database
from deploybot.storage.models import HeldForCode

DEPLOY = "deploy"
APPROVE = "approve"
LIFETIME_SECONDS = 60 * 60


@dataclass
class Holds:
    db: Database
    assistant: str

    def get(self, conversation_id: str, purpose: str) -> Optional[dict]:
        """What this conversation holds for a code, of this kind; None when nothing (or only a
        hold past its lifetime, which is dropped)."""
        with self.db.transaction() as session:
            row = session.execute(select(HeldForCode).where(*self._key(conversation_id, purpose))).scalar_one_or_none()
            if row is None:
                return None
            held = json.loads(row.held)
            if time.time() - float(held.get("asked_at") or 0) > LIFETIME_SECONDS:
                session.delete(row)
                return None
            return held

    def put(self, conversation_id: str, purpose: str, requested_by: str, held: dict) -> None:
        """Holds it, in place of what this conversation held of this kind before."""
        with self.db.transaction() as session:
            session.execute(delete(HeldForCode).where(*self._key(conversation_id, purpose)))
            session.add(HeldForCode(assistant=self.assistant, conversation_id=conversation_id, purpose=purpose,
                                    requested_by=requested_by, held=json.dumps(held),
                                    held_at=datetime.now(timezone.utc)))

    def drop(self, conversation_id: str, purpose: str) -> None:
        with self.db.transaction() as session:
            session.execute(delete(HeldForCode).where(*self._key(conversation_id, purpose)))

    def _key(self, conversation_id: str, purpose: str) -> tuple:
        return (HeldForCode.assistant == self.assistant, HeldForCode.conversation_id == conversation_id,
                HeldForCode.purpose == purpose)
