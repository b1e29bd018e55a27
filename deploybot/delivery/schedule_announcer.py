"""At a scheduled deploy's time, its conversation hears of it (issue 24, item 3).

One announcer per action server, for its bot. Each round it finds the scheduled deploys whose
time has come, and the asked ones whose last yes did not come in time, and sends each to the
requester's conversation with Rasa's trigger_intent (as LockExpiryAnnouncer does). It decides
nothing: the action (actions/schedules.py) claims the row (deploybot.pipeline.schedules.move)
before it speaks and speaks only if it won, so two replicas, or a send repeated after a
restart, give one question and one start. Nothing ever deploys from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Optional

from deploybot.domain.conversation_triggers import every, trigger_intent
from deploybot.domain.deployments import now
from deploybot.pipeline import schedules
from deploybot.storage.database import Database
from deploybot.storage.models import ScheduledDeploy

SCHEDULED_DEPLOY_INTENT = "EXTERNAL_scheduled_deploy"


@dataclass
class ScheduleAnnouncer:
    db: Database
    rasa_urls: Mapping[str, str]     # assistant id -> Rasa base URL
    token: Optional[str]
    assistant: str
    answer_within: timedelta         # the confirmation timeout: the last yes must come within it
    poll_seconds: float = 5.0
    timeout: float = 30.0

    async def run(self) -> None:
        await every(self.poll_seconds, self.round, "schedules")

    def round(self) -> None:
        for row in schedules.due(self.db, self.assistant, now(), self.answer_within):
            self.send(row)

    def send(self, row: ScheduledDeploy) -> bool:
        return trigger_intent(self.rasa_urls[self.assistant], self.token, row.conversation_id, row.output_channel,
                              SCHEDULED_DEPLOY_INTENT, {"schedule": row.id}, self.timeout)
