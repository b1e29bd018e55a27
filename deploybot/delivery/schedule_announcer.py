"""At a scheduled deploy's time, its conversation hears of it (issue 24, item 3).

One announcer per action server, for its bot. Each round it finds the scheduled deploys whose
time has come, and the asked ones whose last yes did not come in time, and sends each to the
requester's conversation with Rasa's trigger_intent (as LockExpiryAnnouncer does). It decides
nothing: the action (actions/schedules.py) claims the row (deploybot.pipeline.schedules.move)
before it speaks and speaks only if it won, so two replicas, or a send repeated after a
restart, give one question and one start. Nothing ever deploys from here.
"""
from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Optional

from deploybot.domain.deployments import now
from deploybot.pipeline import schedules
from deploybot.storage.database import Database
from deploybot.storage.models import ScheduledDeploy

log = logging.getLogger(__name__)
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
        loop = asyncio.get_running_loop()
        rounds = ThreadPoolExecutor(max_workers=1, thread_name_prefix="schedules")
        while True:
            try:
                await loop.run_in_executor(rounds, self.round)
            except Exception:  # never let one bad round stop it
                log.exception("scheduled deploys round failed")
            await asyncio.sleep(self.poll_seconds)

    def round(self) -> None:
        for row in schedules.due(self.db, self.assistant, now(), self.answer_within):
            self.send(row)

    def send(self, row: ScheduledDeploy) -> bool:
        conversation = urllib.parse.quote(row.conversation_id, safe="")
        query = {"output_channel": row.output_channel or "rest"}
        if self.token:
            query["token"] = self.token
        url = f"{self.rasa_urls[self.assistant]}/conversations/{conversation}/trigger_intent?{urllib.parse.urlencode(query)}"
        body = {"name": SCHEDULED_DEPLOY_INTENT, "entities": {"schedule": row.id}}
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=self.timeout).close()
        except (urllib.error.URLError, OSError) as error:
            log.warning("could not tell conversation of scheduled deploy %s: %s", row.id, error)
            return False
        return True
