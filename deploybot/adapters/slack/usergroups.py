"""Slack user groups as approvers (apps.yml `approvers: ["@sre-oncall", "S0123ABC"]`): who is
in a group, from Slack, kept briefly.

- An entry is a group when it is a handle with its @ (`@sre-oncall`) or a group id (`S...`);
  every other entry is a person (a user id, or a terminal chat name).
- Handles are resolved with usergroups.list (disabled groups are not listed, so they approve
  nothing), members with usergroups.users.list. Both answers are kept GROUPS_TTL_SECONDS:
  usergroups.list is a low-rate method (Tier 2, about 20 calls a minute), and who is on call
  changes, so not for long. Failures are not kept.
- A group Slack cannot resolve (no such group, a missing scope, no answer) is
  GroupUnresolvable, whose message says why: the caller refuses, never allows.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, Tuple

from slack_sdk import WebClient

from deploybot.policy.approvals import GroupUnresolvable  # policy's exception: this adapter implements approvals.Groups
from deploybot.domain.catalog import GROUP_HANDLE, GROUP_ID, is_group  # noqa: F401 (is_group: for callers)
from deploybot.adapters.slack import web_api

GROUPS_TTL_SECONDS = 60.0
MISS_REFRESH_SECONDS = 10.0   # a handle not in the list is looked up again only after this


@dataclass
class UserGroups:
    client: WebClient
    clock: Callable[[], float] = time.monotonic
    _handles: Tuple[float, Dict[str, str]] = (float("-inf"), {})
    _members: Dict[str, Tuple[float, FrozenSet[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def members(self, entry: str) -> FrozenSet[str]:
        """The user ids in the group an approvers entry names; GroupUnresolvable when Slack cannot say."""
        with self._lock:
            group_id = entry if GROUP_ID.match(entry) else self._id_of(entry)
            fetched_at, members = self._members.get(group_id, (float("-inf"), frozenset()))
            if self.clock() - fetched_at < GROUPS_TTL_SECONDS:
                return members
            answer = self._call("usergroups.users.list", {"usergroup": group_id}, entry)
            users = answer.get("users")
            if not isinstance(users, list) or not all(isinstance(user, str) for user in users):
                raise GroupUnresolvable(f"Slack gave no member list for the user group {entry}.")
            members = frozenset(users)
            self._members[group_id] = (self.clock(), members)
            return members

    def _id_of(self, entry: str) -> str:
        handle = GROUP_HANDLE.match(entry)
        if not handle:
            raise GroupUnresolvable(f"{entry} is not a Slack user group handle (@ and lowercase letters, digits, - . _).")
        fetched_at, handles = self._handles
        age = self.clock() - fetched_at
        if age >= GROUPS_TTL_SECONDS or (handle.group(1) not in handles and age >= MISS_REFRESH_SECONDS):
            groups = self._call("usergroups.list", {}, entry).get("usergroups")
            if not isinstance(groups, list):
                raise GroupUnresolvable(f"Slack gave no list of user groups to find {entry} in.")
            handles = {g["handle"]: g["id"] for g in groups
                       if isinstance(g, dict) and isinstance(g.get("handle"), str) and isinstance(g.get("id"), str)}
            self._handles = (self.clock(), handles)
        if handle.group(1) not in handles:
            raise GroupUnresolvable(f"Slack has no (enabled) user group {entry}.")
        return handles[handle.group(1)]

    def _call(self, method: str, arguments: dict, entry: str) -> dict:
        delivery = web_api.run_sync(self.client, web_api.single_call(method, arguments, ""))
        if not delivery.delivered:
            if delivery.error == "no_such_subteam":
                raise GroupUnresolvable(f"Slack has no user group {entry}.")
            raise GroupUnresolvable(f"I could not ask Slack who is in the user group {entry} ({delivery.error}).")
        return delivery.answer
