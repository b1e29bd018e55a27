"""Talking to the running bots as Slack does: signed Events API and interactivity requests
sent to the real Rasa servers, and what the bots posted, read from the Slack Web API fake
they are pointed at (SLACK_API_URL)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from tests import slack_requests as slack
from tests.support import audit_entries, deployments  # noqa: F401 (the Slack tests read records through these)

MARVIN_ME, BENDER_ME = "UMARVIN01", "UBENDER01"
BOT_USERS = {"marvin": "UMARVIN01", "bender": "UBENDER01"}
THERESA = "U0THERESA"
CHANNEL = "C0DEPLOYS"


def post(bot, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(f"{bot.url}/webhooks/slack/webhook", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def new_ts() -> str:
    return slack.new_ts()


def send_event(stack, bot_id: str, event: dict, **envelope) -> int:
    body, headers = slack.event_callback(stack.slack_secret(bot_id), event, api_app_id=stack.slack_app(bot_id),
                                         authorized_user=BOT_USERS[bot_id], **envelope)
    return post(stack.bots[bot_id], body, headers)


BUILD_SYSTEM = "B0JENKINS1"  # a build system's bot id; Marvin trusts it in every test stack


def build_system_says(stack, bot_id, text) -> str:
    """The build system posts to a bot in the channel (a bot message, as Slack sends it); returns its ts."""
    ts = new_ts()
    body = slack.bot_message(BUILD_SYSTEM, f"<@{BOT_USERS[bot_id]}> {text}", channel=CHANNEL, ts=ts)
    assert send_event(stack, bot_id, body) == 200
    return ts


def mention(stack, bot_id, user, text, thread_ts=None, channel=CHANNEL, **envelope):
    """A user mentions a bot in a channel; returns the message ts."""
    ts = new_ts()
    me = BOT_USERS[bot_id]
    event = slack.app_mention(user, f"<@{me}> {text}", me, channel=channel, ts=ts, thread_ts=thread_ts)
    assert send_event(stack, bot_id, event, **envelope) == 200
    return ts


def posts(stack, thread_ts, prefix="", method="chat.postMessage", timeout=60, count=1):
    """Waits for the bots' posts in a thread whose text starts with prefix."""
    deadline = time.monotonic() + timeout
    while True:
        found = [c for c in stack.slack.calls(method)
                 if c["args"].get("thread_ts") == thread_ts and str(c["args"].get("text", "")).startswith(prefix)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            seen = [(c["method"], c["args"].get("thread_ts"), c["args"].get("text")) for c in stack.slack.calls()][-15:]
            raise AssertionError(f"no {count} {method} in thread {thread_ts} starting {prefix!r}; last calls: {seen}")
        time.sleep(0.3)


def updates_of(stack, question) -> list:
    """The chat.update calls that rewrote a question the bot posted."""
    return [c for c in stack.slack.calls("chat.update") if c["args"]["ts"] == question["answer"]["ts"]]


def click(stack, bot_id, question, clicker, clicker_name, title, team_id=None) -> int:
    """Clicks a button of a question the bot posted, as Slack delivers the click."""
    blocks = json.loads(question["args"]["blocks"]) if isinstance(question["args"]["blocks"], str) else question["args"]["blocks"]
    actions = next(b for b in blocks if b["type"] == "actions")
    button = next(e for e in actions["elements"] if e["text"]["text"] == title)
    extra = {"team_id": team_id} if team_id else {}
    body, headers = slack.block_actions(
        stack.slack_secret(bot_id), clicker, clicker_name, question["args"]["channel"], question["answer"]["ts"],
        button["value"], button["action_id"], block_id=actions["block_id"], blocks=blocks,
        text=question["args"]["text"], thread_ts=question["args"].get("thread_ts"), api_app_id=stack.slack_app(bot_id),
        **extra)
    return post(stack.bots[bot_id], body, headers)
