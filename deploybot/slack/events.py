"""Which Slack events the bots act on, and as whom. Pure functions over Slack's payloads.

- A user's mention of the bot (app_mention) or direct message is a request from that user.
- A mention in a channel can arrive twice (message.channels and app_mention); the
  channel deduplicates by the message's channel and timestamp, so either may come first.
- A message from a bot or app counts only when its bot_id or app id is on the profile's
  trusted list (a build system such as Jenkins' Slack plugin) and it mentions this bot or
  is a direct message. Every other bot, this one and the other deploybot included, is
  ignored, so the bots never answer each other.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, List, Optional

from deploybot.slack.formatting import typed_text

IGNORED_SUBTYPES = {"message_changed", "message_deleted", "channel_join", "channel_leave", "thread_broadcast"}


@dataclass(frozen=True)
class Request:
    sender: str                 # the Slack user id, or the build system's bot id
    text: str
    channel: str
    ts: str                     # the message's timestamp: its id in the channel
    thread_ts: Optional[str]    # the thread it was written in, if any
    build_system: Optional[str] = None


def own_user_id(envelope: dict) -> Optional[str]:
    """The bot user this event was delivered for."""
    authorizations = envelope.get("authorizations") or [{}]
    return authorizations[0].get("user_id")


def request_from(envelope: dict, trusted: Iterable[str]) -> Optional[Request]:
    """The request an Events API envelope carries, or None when the bot should ignore it."""
    event = envelope.get("event") or {}
    text, channel, ts = event.get("text"), event.get("channel"), event.get("ts")
    if isinstance(text, str):
        text = typed_text(text)  # what the person typed: &gt; is >, <#C…|general> is #general
    if not (isinstance(text, str) and text.strip() and channel and ts) or event.get("subtype") in IGNORED_SUBTYPES:
        return None
    me = own_user_id(envelope)
    direct = event.get("channel_type") == "im"
    bot_id, app_id = event.get("bot_id"), event.get("app_id")
    if bot_id or event.get("subtype") == "bot_message":
        if event.get("user") == me or not ({bot_id, app_id} & set(trusted)):
            return None
        if not (direct or (me and f"<@{me}>" in text)):
            return None
        return Request(bot_id or app_id, strip_mention(text, me), channel, ts, event.get("thread_ts"), bot_id or app_id)
    user = event.get("user")
    if not user or user == me:
        return None
    if event.get("type") == "app_mention" or (event.get("type") == "message" and direct):
        return Request(user, strip_mention(text, me), channel, ts, event.get("thread_ts"))
    return None


def foreign_teams(envelope: dict, event: dict, team_ids: Iterable[str]) -> List[str]:
    """The workspace ids in a request that are not the profile's (none when it names none):
    the envelope's team, its authorizations', and the team of the user who wrote the
    message (Slack Connect channels bring users and messages from other workspaces)."""
    allowed = set(team_ids)
    if not allowed:
        return []
    authorizations = [a for a in envelope.get("authorizations") or [] if isinstance(a, dict)]
    found = [envelope.get("team_id"), *(a.get("team_id") for a in authorizations),
             event.get("team"), event.get("user_team"), event.get("source_team")]
    return sorted({str(team) for team in found if team and team not in allowed})


def strip_mention(text: str, me: Optional[str]) -> str:
    """"<@UMARVIN01> deploy cms" -> "deploy cms"; other mentions stay (they name users)."""
    if me:
        text = re.sub(rf"<@{re.escape(me)}(\|[^>]*)?>[:,]?", " ", text)
    return " ".join(text.split())
