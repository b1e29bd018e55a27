"""The management channel: production successes are also posted where managers read them.

A notifier has a name (its destination, for the report outbox) and one method,
post(channel, text), that answers whether the post was delivered; the watcher retries one
that was not (deploybot.domain.outbox). Locally the post goes to a log file
(var/log/management.log, one JSON object per line) and, when the terminal chat runs, to
its management view. Slack gets its own notifier. AllOf combines them; each destination
is delivered, and retried, on its own, so a failing Slack never writes the log twice.
"""
from __future__ import annotations

import errno
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Optional, Protocol, Sequence

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def post(self, channel: str, text: str) -> bool: ...


@dataclass
class LogFileNotifier:
    path: Path
    name: str = "log"

    def post(self, channel: str, text: str) -> bool:
        entry = {"at": datetime.now(timezone.utc).isoformat(), "channel": channel, "text": text}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as file:
                file.write(json.dumps(entry) + "\n")
        except OSError as error:
            log.warning("could not write the management post to %s (%s); trying again next round", self.path, error)
            return False
        return True


@dataclass
class CallbackNotifier:
    """Posts like Rasa's callback channel does, {recipient_id, text}: the terminal chat shows it."""

    url: str
    timeout: float = 5.0
    name: str = "chat"

    @property
    def shown_url(self) -> str:
        """The URL for log lines: without its query, which carries the chat's key."""
        return self.url.split("?", 1)[0]

    def post(self, channel: str, text: str) -> bool:
        body = json.dumps({"recipient_id": channel, "text": text}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=self.timeout).close()
        except (urllib.error.URLError, OSError) as error:
            if nobody_listening(error):
                # No terminal chat is running: the view has no reader to deliver to, and the
                # log file has the post. Retrying would keep the row open for ever.
                log.info("management view at %s not running; the post is in the log file", self.shown_url)
                return True
            log.warning("management view at %s did not take the post (%s); trying again next round", self.shown_url, error)
            return False
        return True


def nobody_listening(error: Exception) -> bool:
    reason = getattr(error, "reason", error)
    return isinstance(reason, ConnectionRefusedError) or getattr(reason, "errno", None) == errno.ECONNREFUSED


@dataclass
class AllOf:
    notifiers: Sequence[Notifier]

    def post(self, channel: str, text: str) -> bool:
        delivered = [notifier.post(channel, text) for notifier in self.notifiers]
        return all(delivered)


def destinations(notifier: Notifier) -> Dict[str, Notifier]:
    """Each single destination by its name (AllOf flattened): the outbox has a row for each."""
    if isinstance(notifier, AllOf):
        found: Dict[str, Notifier] = {}
        for part in notifier.notifiers:
            found.update(destinations(part))
        return found
    return {getattr(notifier, "name", "management"): notifier}


def local_notifier(var_dir: Path, callback_url: Optional[str]) -> Notifier:
    notifiers = [LogFileNotifier(var_dir / "log" / "management.log")]
    if callback_url:
        notifiers.append(CallbackNotifier(callback_url))
    return AllOf(notifiers)
