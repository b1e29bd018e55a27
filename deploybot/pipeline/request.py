"""One request type: a batch of one or more items for one environment (a single app is a batch
of one), with who asked, where, when, and how it came in."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping, Optional, Tuple

from deploybot.domain.deploy_request import DeployRequest


@dataclass(frozen=True)
class Item:
    app: str
    version: str
    kind: str = "deploy"                  # deploy, rollback, promotion
    promoted_from: Optional[str] = None


@dataclass(frozen=True)
class Request:
    assistant: str
    environment: str
    items: Tuple[Item, ...]
    requester: str
    conversation_id: str
    output_channel: str                    # where it was asked: slack, rest, terminal chat
    reply_to: Optional[Mapping]            # Slack: the request's channel and thread (reply_target)
    requested_at: datetime                 # when the question was asked (the yes is bound to it)
    via_build_system: Optional[str] = None
    break_glass_reason: Optional[str] = None
    batch_id: Optional[str] = None         # several apps confirmed with one yes (deploybot.domain.batch_store)
    start_at: Optional[datetime] = None    # a scheduled deploy: cleared now, stored, started then (schedules.py)

    def deploy_request(self, item: Item) -> DeployRequest:
        return DeployRequest(item.app, item.version, self.environment)


def reply_target(on_slack: bool, metadata: Mapping) -> Optional[dict]:
    """Where a request's reports go on Slack: its channel and thread (the one place that says so)."""
    if not on_slack:
        return None
    return {"channel": metadata.get("out_channel"), "thread_ts": metadata.get("thread_id")}


def at(timestamp: float) -> datetime:
    """A moment the dialogue keeps as epoch seconds (a slot), as the database keeps it."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)
