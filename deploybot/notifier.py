"""The management channel: production successes are also posted where managers read them.

A notifier has one method, post(channel, text). Locally the post goes to a log file
(var/log/management.log, one JSON object per line) and, when the terminal chat runs, to
its management view. Slack gets its own notifier.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Protocol, Sequence

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def post(self, channel: str, text: str) -> None: ...


@dataclass
class LogFileNotifier:
    path: Path

    def post(self, channel: str, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"at": datetime.now(timezone.utc).isoformat(), "channel": channel, "text": text}
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(json.dumps(entry) + "\n")


@dataclass
class CallbackNotifier:
    """Posts like Rasa's callback channel does, {recipient_id, text}: the terminal chat shows it."""

    url: str
    timeout: float = 5.0

    def post(self, channel: str, text: str) -> None:
        body = json.dumps({"recipient_id": channel, "text": text}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=self.timeout).close()
        except (urllib.error.URLError, OSError) as error:
            log.info("management view at %s not reachable (%s); the post is in the log file", self.url, error)


@dataclass
class AllOf:
    notifiers: Sequence[Notifier]

    def post(self, channel: str, text: str) -> None:
        for notifier in self.notifiers:
            notifier.post(channel, text)


def local_notifier(var_dir: Path, callback_url: Optional[str]) -> Notifier:
    notifiers = [LogFileNotifier(var_dir / "log" / "management.log")]
    if callback_url:
        notifiers.append(CallbackNotifier(callback_url))
    return AllOf(notifiers)
