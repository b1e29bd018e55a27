"""Who is speaking, as far as deploybot can prove it.

- Slack proves its users with its request signature (channels/slack.py); channels where the
  caller names the sender (REST, callback) prove nothing by themselves, so they accept a
  request only with the bot's API token (channels/authenticated.py).
- Identities live in two namespaces that never meet, told apart by their shape: Slack's
  (user ids U…/W…, bot and app ids B…/A…), reached only through Slack; and local names
  (every other plain id: the terminal chat's people, tools, tests), the only ones a token
  channel may name. So a grant, an approval right or an enrolment of a Slack person is
  never reachable with a bot's API token (channels/authenticated.py, deploybot/rasa_glue/api_guard.py).
- A requester id reaches Jenkins as a job parameter, where a Pipeline may put it into a
  shell command. So it must be a plain id before anything is recorded or triggered:
  anything else is refused and audited, never repaired.
"""
from __future__ import annotations

import hmac
import re
from typing import Mapping, Optional

from deploybot.domain.deploy_request import RequestRejected

# Slack's user ids (U… in a workspace, W… in an Enterprise Grid org).
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
# A trusted build system on Slack speaks as its bot (B…) or app (A…) id.
SLACK_BOT_ID = re.compile(r"^[AB][A-Z0-9]{2,20}$")
# Senders on every other channel (REST, callback, the terminal chat): plain ids only.
PLAIN_ID = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")

NOT_A_PLAIN_ID = ("Your user id is not a plain id (letters, digits and . _ @ + - only, at most 64 characters),"
                  " so I can't deploy for you. Nothing was deployed.")


def is_plain_id(value: object) -> bool:
    return isinstance(value, str) and PLAIN_ID.fullmatch(value) is not None


def is_slack_id(value: object) -> bool:
    """Whether an id has Slack's shape: then it is a Slack person's (or build system's), and
    only Slack may speak for it."""
    return isinstance(value, str) and (SLACK_USER_ID.fullmatch(value) is not None or SLACK_BOT_ID.fullmatch(value) is not None)


def is_valid_requester(sender: object, channel: Optional[str], build_system: Optional[str] = None) -> bool:
    """Slack senders are Slack user ids (or the trusted build system the channel named);
    every other channel's senders are plain ids."""
    if not isinstance(sender, str):
        return False
    if channel == "slack":
        if build_system:
            return sender == build_system and SLACK_BOT_ID.fullmatch(sender) is not None
        return SLACK_USER_ID.fullmatch(sender) is not None
    return is_plain_id(sender)


def check_requester(sender: object, channel: Optional[str], build_system: Optional[str] = None) -> None:
    """RequestRejected when the sender is not a plain id for its channel."""
    if not is_valid_requester(sender, channel, build_system):
        raise RequestRejected(NOT_A_PLAIN_ID)


def same_secret(given: Optional[str], expected: Optional[str]) -> bool:
    """Constant-time comparison; an unset secret matches nothing."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def token_of(args: Mapping[str, object], headers: Mapping[str, str]) -> Optional[str]:
    """The API token of a request: `Authorization: Bearer <token>` or `?token=<token>`."""
    authorization = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    token = args.get("token")
    if isinstance(token, list):  # sanic's request.args holds lists
        token = token[0] if token else None
    return token if isinstance(token, str) else None
