"""Which Slack events the bots act on, and as whom. Pure functions over Slack's payloads.

- A user's mention of the bot (app_mention, or the `message` event the same mention also
  arrives as) or direct message is a request from that user.
- A mention in a channel can arrive twice (message.channels and app_mention); the
  channel deduplicates by the message's channel and timestamp, so either may come first.
- A person's plain reply in a thread (a `message` with `thread_ts`, no mention; also one
  sent "also to the channel", subtype thread_broadcast) is a request only where the bot is
  talking with that person: the Request says so (plain_reply) and the channel checks it
  against what it recorded when the bot posted in that thread.
- An edit (`message_changed` with the new message's `edited`, or an `app_mention` sent
  again with `edited` and the original ts) is marked as one (edited): the channel answers
  it and does nothing else. Edits Slack makes by itself (unfurls, reply counts) carry no
  `edited` and are ignored, as are edits by bots.
- A message from a bot or app counts only when its bot_id or app id (bot_profile.app_id,
  or a top-level app_id) is on the profile's trusted list (a build system such as
  Jenkins' Slack plugin) and it mentions this bot or is a direct message. Every other bot,
  this one and the other deploybot included, is ignored, so the bots never answer each
  other; bots never count by a plain reply in a thread.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable, List, Optional, Set

from deploybot.adapters.slack.formatting import typed_text

EDITED = "message_changed"
# The subtypes of what people write (None: an ordinary message). Joins, deletions, topic
# changes and the like are not requests.
PEOPLES_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}


@dataclass(frozen=True)
class Request:
    sender: str                 # the Slack user id, or the build system's bot id
    text: str
    channel: str
    ts: str                     # the message's timestamp: its id in the channel
    thread_ts: Optional[str]    # the thread it was written in, if any
    build_system: Optional[str] = None
    plain_reply: bool = False   # a reply in a thread without a mention: counts only in the sender's conversation there
    edited: Optional[str] = None  # the edit's timestamp when this is an edited message: answered, never acted on


def own_user_id(envelope: dict) -> Optional[str]:
    """The bot user this event was delivered for."""
    authorizations = envelope.get("authorizations") or [{}]
    return authorizations[0].get("user_id")


def request_from(envelope: dict, trusted: Iterable[str]) -> Optional[Request]:
    """The request an Events API envelope carries, or None when the bot should ignore it."""
    event = envelope.get("event") or {}
    if not isinstance(event, dict):
        return None
    if event.get("subtype") == EDITED:
        return edit_from(envelope, event)
    return message_from(envelope, event, trusted)


def edit_from(envelope: dict, event: dict) -> Optional[Request]:
    """A person's edit of a message addressed to the bot; the new message is under `message`."""
    new = event.get("message")
    if not (isinstance(new, dict) and edit_ts(new)):
        return None  # Slack's own changes: link unfurls, a parent's reply count
    flattened = {**new, "type": "message", "channel": event.get("channel"), "channel_type": event.get("channel_type")}
    if is_from_a_bot(flattened):
        return None  # a build system updating its status line is not a request
    return message_from(envelope, flattened, trusted=())


def message_from(envelope: dict, event: dict, trusted: Iterable[str]) -> Optional[Request]:
    text, channel, ts = event.get("text"), event.get("channel"), event.get("ts")
    if isinstance(text, str):
        text = typed_text(text)  # what the person typed: &gt; is >, <#C…|general> is #general
    if not (isinstance(text, str) and text.strip() and channel and ts):
        return None
    me = own_user_id(envelope)
    if is_from_a_bot(event):
        return build_system_request(envelope, event, text, set(trusted))
    user, kind, thread = event.get("user"), event.get("type"), event.get("thread_ts")
    if event.get("subtype") not in PEOPLES_SUBTYPES or not user or user == me:
        return None
    request = Request(user, strip_mention(text, me), channel, ts, thread, edited=edit_ts(event))
    if kind == "app_mention" or (kind == "message" and (is_direct(event) or mentions(text, me))):
        return request
    if kind == "message" and thread and thread != ts:  # thread_ts == ts is the thread's parent
        return replace(request, plain_reply=True)
    return None


def build_system_request(envelope: dict, event: dict, text: str, trusted: Set[str]) -> Optional[Request]:
    """A trusted build system's message that mentions this bot or is a direct message."""
    me = own_user_id(envelope)
    bot_id = event.get("bot_id")
    ids = {i for i in (bot_id, app_id_of(event)) if i}
    if event.get("user") == me or envelope.get("api_app_id") in ids or not ids & trusted:
        return None  # this bot itself, or a bot nobody trusted (the other deploybot among them)
    if not (is_direct(event) or mentions(text, me)):
        return None
    sender = bot_id or app_id_of(event)
    return Request(sender, strip_mention(text, me), event["channel"], event["ts"], event.get("thread_ts"), sender)


def is_from_a_bot(event: dict) -> bool:
    """Apps' messages have a bot_id and a bot_profile (and often a user too)."""
    return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message")


def app_id_of(event: dict) -> Optional[str]:
    """The app that posted a message: bot_profile.app_id (a top-level app_id is not always there)."""
    profile = event.get("bot_profile")
    return (profile.get("app_id") if isinstance(profile, dict) else None) or event.get("app_id")


def edit_ts(message: dict) -> Optional[str]:
    edited = message.get("edited")
    return str(edited["ts"]) if isinstance(edited, dict) and edited.get("ts") else None


def is_direct(event: dict) -> bool:
    return event.get("channel_type") == "im"


def mentions(text: str, me: Optional[str]) -> bool:
    return bool(me) and re.search(rf"<@{re.escape(me)}(\|[^>]*)?>", text) is not None


def foreign_teams(envelope: dict, event: dict, team_ids: Iterable[str]) -> List[str]:
    """The workspace ids in a request that are not the profile's (none when it names none):
    the envelope's team, its authorizations', and the team of the user who wrote the
    message, or the edited message (Slack Connect channels bring users and messages from
    other workspaces)."""
    allowed = set(team_ids)
    if not allowed:
        return []
    authorizations = [a for a in envelope.get("authorizations") or [] if isinstance(a, dict)]
    edited = event.get("message") if isinstance(event.get("message"), dict) else {}
    found = [envelope.get("team_id"), *(a.get("team_id") for a in authorizations),
             *(written.get(key) for written in (event, edited) for key in ("team", "user_team", "source_team"))]
    return sorted({str(team) for team in found if team and team not in allowed})


def strip_mention(text: str, me: Optional[str]) -> str:
    """"<@UMARVIN01> deploy cms" -> "deploy cms"; other mentions stay (they name users)."""
    if me:
        text = re.sub(rf"<@{re.escape(me)}(\|[^>]*)?>[:,]?", " ", text)
    return " ".join(text.split())
