"""Slack users: mentions and handles to user ids, user ids to display names.

Grants and admins are stored by Slack user id, which never changes; people see names.
Names are not identities: a display name or real name is editable and not unique, so
someone who renames themselves "Theresa" must not receive Theresa's grant. A grant, revoke
or permission question therefore names exactly one person: an @mention (its id), or a
handle (the unique username) that exactly one member has. Anything else is answered with
"Which one? @mention them", never guessed.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
MENTION = re.compile(r"^<@([UW][A-Z0-9]{6,})(?:\|[^>]*)?>$")
# Ids in texts have a digit: "UNREACHABLE" is a word, "U0THERESA1" is a user. An id in
# parentheses is shown as it is: "Theresa (U0THERESA1)" names the person both ways; and a
# mention, <@U0THERESA1>, is left to Slack, which shows it as the person's name.
USER_ID_IN_TEXT = re.compile(r"(?<![(@])\b[UW](?=[A-Z0-9]*\d)[A-Z0-9]{8,11}\b")
# users.list is a low-rate method (about 20 calls a minute): its pages are kept this long,
# and a name nobody in them goes by is looked up again only if they are older than this.
MEMBERS_TTL_SECONDS = 300.0
MISS_REFRESH_SECONDS = 10.0


def display_name_of(user: dict) -> str:
    """The name Slack shows for a users.info user."""
    profile = user.get("profile") or {}
    return profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or user["id"]


def names_of(member: dict) -> set:
    """Every name a member goes by, lowercased: handle, display names and real names."""
    profile = member.get("profile") or {}
    names = (member.get("name"), member.get("real_name"), profile.get("display_name"),
             profile.get("display_name_normalized"), profile.get("real_name"), profile.get("real_name_normalized"))
    return {n.lower() for n in names if n}


@dataclass(frozen=True)
class Resolution:
    """Exactly one user, or what to tell the person who wrote the name."""

    user_id: Optional[str] = None
    problem: Optional[str] = None


class DirectoryUnavailable(Exception):
    """Slack did not answer a users.list call."""


@dataclass
class SlackDirectory:
    client: WebClient
    _names: Dict[str, str] = field(default_factory=dict)
    _members: Tuple[float, List[dict]] = (0.0, [])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, written: str) -> Resolution:
        """The one user a mention, id or handle stands for."""
        written = written.strip().lstrip("@")
        match = MENTION.match(written)
        candidate = match.group(1) if match else written
        if USER_ID.match(candidate):
            if self.display_name(candidate) is None:
                return Resolution(problem=f"I can't find a Slack user {candidate}.")
            return Resolution(candidate)
        wanted = candidate.lower()
        try:
            by_any_name = [m for m in self.members() if wanted in names_of(m)]
            if not by_any_name:  # maybe someone who joined since the list was fetched
                by_any_name = [m for m in self.members(MISS_REFRESH_SECONDS) if wanted in names_of(m)]
        except DirectoryUnavailable:
            return Resolution(problem=f"I can't look up “{written}” in Slack right now: @mention them instead.")
        by_handle = [m for m in by_any_name if (m.get("name") or "").lower() == wanted]
        if len(by_handle) == 1 and len(by_any_name) == 1:  # one handle, and nobody else goes by it
            return Resolution(by_handle[0]["id"])
        if by_any_name:
            return Resolution(problem=f"“{written}” is not one person's Slack handle (display names can be anyone's)."
                                      " Which one? @mention them.")
        return Resolution(problem=f"I can't find a Slack user called “{written}”.")

    def resolve_handles(self, entries: Iterable[str]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
        """(ids, entries that name no one) for a list of ids and handles, such as the admins."""
        ids, unknown = [], []
        for entry in entries:
            found = self.resolve(entry)
            (ids.append(found.user_id) if found.user_id else unknown.append(entry))
        return tuple(ids), tuple(unknown)

    def members(self, max_age: float = MEMBERS_TTL_SECONDS) -> List[dict]:
        """The workspace's active people (no bots), from users.list at most max_age seconds ago."""
        with self._lock:
            fetched_at, members = self._members
            if time.monotonic() - fetched_at < max_age:
                return members
            try:
                members = [m for page in self.client.users_list(limit=200) for m in page["members"]
                           if not m.get("deleted") and not m.get("is_bot")]
            except (SlackApiError, OSError) as error:
                log.warning("users.list failed: %s", getattr(error, "response", {}).get("error") if isinstance(error, SlackApiError) else error)
                raise DirectoryUnavailable() from None
            self._members = (time.monotonic(), members)
            return members

    def display_name(self, user_id: str) -> Optional[str]:
        """The name people see, or None when Slack knows no such user."""
        if user_id not in self._names:
            try:
                self._names[user_id] = display_name_of(self.client.users_info(user=user_id)["user"])
            except (SlackApiError, OSError):  # unknown to Slack, or Slack unreachable: no name to show
                return None
        return self._names[user_id]

    def shown_as(self, user_id: str) -> str:
        """"Theresa (U0THERESA1)": the name people know and the id that counts."""
        return f"{self.display_name(user_id) or user_id} ({user_id})"

    def humanize(self, text: str) -> str:
        """Replaces the Slack user ids in a text with display names."""
        return USER_ID_IN_TEXT.sub(lambda m: self.display_name(m.group(0)) or m.group(0), text)
