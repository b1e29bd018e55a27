"""Slack users: mentions and handles to user ids, user ids to display names.

Grants and admins are stored by Slack user id, which never changes; people see names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Optional

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
MENTION = re.compile(r"^<@([UW][A-Z0-9]{6,})(?:\|[^>]*)?>$")
# Ids in texts have a digit: "UNREACHABLE" is a word, "U0THERESA1" is a user.
USER_ID_IN_TEXT = re.compile(r"\b[UW](?=[A-Z0-9]*\d)[A-Z0-9]{8,11}\b")


def display_name_of(user: dict) -> str:
    """The name Slack shows for a users.info user."""
    profile = user.get("profile") or {}
    return profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or user["id"]


@dataclass
class SlackDirectory:
    client: WebClient
    _names: Dict[str, str] = field(default_factory=dict)

    def resolve(self, written: str) -> Optional[str]:
        """The user id a mention, id or handle stands for; None when no such user exists."""
        written = written.strip().lstrip("@")
        match = MENTION.match(written)
        candidate = match.group(1) if match else written
        if USER_ID.match(candidate):
            return candidate if self.display_name(candidate) is not None else None
        wanted = candidate.lower()
        for page in self.client.users_list(limit=200):
            for member in page["members"]:
                if member.get("deleted"):
                    continue
                profile = member.get("profile") or {}
                names = {member.get("name"), profile.get("display_name"), profile.get("display_name_normalized"),
                         profile.get("real_name"), member.get("real_name")}
                if wanted in {n.lower() for n in names if n}:
                    return member["id"]
        return None

    def display_name(self, user_id: str) -> Optional[str]:
        """The name people see, or None when Slack knows no such user."""
        if user_id not in self._names:
            try:
                self._names[user_id] = display_name_of(self.client.users_info(user=user_id)["user"])
            except SlackApiError:
                return None
        return self._names[user_id]

    def humanize(self, text: str) -> str:
        """Replaces the Slack user ids in a text with display names."""
        return USER_ID_IN_TEXT.sub(lambda m: self.display_name(m.group(0)) or m.group(0), text)
