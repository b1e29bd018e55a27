"""Slack's inbound HTTP requests (Events API and interactivity), built as Slack builds them:
the same envelopes, headers, form encoding and signature (HMAC-SHA256 of `v0:{ts}:{body}`
with the app's signing secret). Each request is `(body_bytes, headers_dict)`."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
import time
from urllib.parse import parse_qs, urlencode

from devtools.slack_fake import DEFAULT_BOTS, TEAM_ID

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# The deprecated verification token Slack still puts in every payload.
VERIFICATION_TOKEN = "vErIfIcAtIoNtOkEn0001"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
MARVIN_USER_ID = DEFAULT_BOTS["xoxb-marvin-test"]["user_id"]
_last_ts_us = 0

Request = tuple[bytes, dict[str, str]]


def sign(body: bytes, secret: str, timestamp: int | None = None, content_type: str = JSON) -> dict[str, str]:
    """The headers Slack sends with a body; an old timestamp makes a stale request."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


# -- Events API ------------------------------------------------------------------------


def event_callback(secret: str, event: dict, event_id: str | None = None, team_id: str = TEAM_ID,
                   api_app_id: str = "AMARVIN01", retry_num: int | None = None, retry_reason: str | None = None,
                   timestamp: int | None = None, authorized_user: str | None = None) -> Request:
    """An event in its envelope, delivered to the app `api_app_id`; `authorizations` names
    its bot user (by default the fake's bot of that app). retry_num makes it a retry."""
    envelope = {
        "token": VERIFICATION_TOKEN, "team_id": team_id, "context_team_id": team_id, "context_enterprise_id": None,
        "api_app_id": api_app_id, "event": event, "type": "event_callback",
        "event_id": event_id or new_event_id(), "event_time": int(float(event.get("event_ts") or time.time())),
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": authorized_user or bot_of(api_app_id)["user_id"],
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False, "event_context": "4-" + secrets.token_urlsafe(48),
    }
    body = dumps(envelope)
    headers = sign(body, secret, timestamp)
    if retry_num is not None:
        headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason or "http_timeout"})
    return body, headers


def url_verification(secret: str, challenge: str) -> Request:
    body = dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"})
    return body, sign(body, secret)


def app_mention(user: str, text: str, bot_user_id: str = MARVIN_USER_ID, channel: str = "C0DEPLOYS",
                ts: str | None = None, thread_ts: str | None = None) -> dict:
    """`@marvin deploy cms` in a channel. Slack's text holds the bot's mention: it is put in
    front unless the text has it already."""
    mention = f"<@{bot_user_id}>"
    return user_message("app_mention", user, text if mention in text else f"{mention} {text}", channel, ts, thread_ts)


def direct_message(user: str, text: str, channel: str = "D0DM00001", ts: str | None = None) -> dict:
    return {**user_message("message", user, text, channel, ts, None), "channel_type": "im"}


def bot_message(bot_id: str, text: str, channel: str = "C0DEPLOYS", app_id: str | None = None,
                username: str | None = None, ts: str | None = None) -> dict:
    """A message from a bot integration (a build system): a bot_id and no user."""
    ts = ts or new_ts()
    event = {"type": "message", "subtype": "bot_message", "text": text, "ts": ts, "username": username or "jenkins",
             "bot_id": bot_id, "channel": channel, "event_ts": ts, "channel_type": channel_type(channel)}
    if app_id:
        event["app_id"] = app_id
    return event


def thread_reply(user: str, text: str, thread_ts: str, channel: str = "C0DEPLOYS", ts: str | None = None,
                 broadcast: bool = False, parent_user: str | None = None) -> dict:
    """A plain reply in a thread (no mention), as message.channels delivers it; broadcast is
    "Also send to channel" (subtype thread_broadcast). parent_user wrote the thread's first
    message (by default the one replying)."""
    parent_user = parent_user or user
    event = {**user_message("message", user, text, channel, ts, thread_ts), "parent_user_id": parent_user}
    if broadcast:
        event["subtype"] = "thread_broadcast"
        event["root"] = {"type": "message", "user": parent_user, "ts": thread_ts, "thread_ts": thread_ts,
                         "text": "…", "reply_count": 1, "latest_reply": event["ts"]}
    return event


def message_changed(original: dict, new_text: str, edited_at: str | None = None) -> dict:
    """The `message_changed` event of a person's edit of `original` (a message event they
    sent): the new message under `message`, the old under `previous_message`."""
    edited_at = edited_at or new_ts()
    kept = {k: v for k, v in original.items() if k not in ("channel", "channel_type", "event_ts", "subtype")}
    new = {**kept, "type": "message", "text": new_text, "blocks": [rich_text(new_text)],
           "edited": {"user": original["user"], "ts": edited_at}, "source_team": TEAM_ID, "user_team": TEAM_ID}
    event_ts = new_ts()
    return {"type": "message", "subtype": "message_changed", "hidden": True, "message": new,
            "channel": original["channel"], "previous_message": {**kept, "type": "message"},
            "event_ts": event_ts, "ts": event_ts, "channel_type": channel_type(original["channel"])}


def edited_app_mention(original: dict, new_text: str, edited_at: str) -> dict:
    """An edited mention delivered again as app_mention: the original ts and an `edited` field."""
    return {**original, "text": new_text, "blocks": [rich_text(new_text)],
            "edited": {"user": original["user"], "ts": edited_at}, "event_ts": new_ts()}


def app_bot_message(bot_id: str, app_id: str, text: str, channel: str = "C0DEPLOYS", ts: str | None = None,
                    bot_user: str | None = None, name: str = "Jenkins") -> dict:
    """A message an app posted with its bot token (chat.postMessage): a bot_id, a user and a
    bot_profile naming the app; no subtype and no top-level app_id."""
    ts = ts or new_ts()
    return {"type": "message", "text": text, "ts": ts, "user": bot_user or "U" + bot_id[1:], "bot_id": bot_id,
            "bot_profile": {"id": bot_id, "app_id": app_id, "name": name, "deleted": False, "team_id": TEAM_ID,
                            "updated": int(time.time()), "icons": {"image_36": "https://a.slack-edge.com/80588/img/plugins/jenkins/service_36.png"}},
            "blocks": [rich_text(text)], "team": TEAM_ID, "channel": channel, "event_ts": ts,
            "channel_type": channel_type(channel)}


def user_message(kind: str, user: str, text: str, channel: str, ts: str | None, thread_ts: str | None) -> dict:
    ts = ts or new_ts()
    event = {"client_msg_id": secrets.token_hex(16), "type": kind, "text": text, "user": user, "ts": ts,
             "blocks": [rich_text(text)], "team": TEAM_ID, "channel": channel, "event_ts": ts}
    if kind == "message":
        event["channel_type"] = channel_type(channel)
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def rich_text(text: str) -> dict:
    """The rich_text block Slack's clients attach to what people type (as plain text here)."""
    return {"type": "rich_text", "block_id": secrets.token_hex(2),
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}


# -- interactivity ---------------------------------------------------------------------


def block_actions(secret: str, user_id: str, user_name: str, channel: str, message_ts: str, action_value: str,
                  action_id: str, thread_ts: str | None = None, response_url: str | None = None, *,
                  text: str = "", blocks: list | None = None, block_id: str | None = None,
                  api_app_id: str = "AMARVIN01", team_id: str = TEAM_ID, timestamp: int | None = None) -> Request:
    """A button click on a bot's message (`text` and `blocks` as the bot posted them); the
    button's block_id and label are taken from the blocks, as Slack does."""
    block_id, label = clicked_button(blocks or [], action_id, block_id)
    bot = bot_of(api_app_id)
    message = {"type": "message", "user": bot["user_id"], "bot_id": bot["bot_id"], "app_id": api_app_id,
               "team": team_id, "ts": message_ts, "text": text, "blocks": blocks or []}
    container = {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False}
    if thread_ts:
        message["thread_ts"] = container["thread_ts"] = thread_ts
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id, "token": VERIFICATION_TOKEN, "container": container,
        "trigger_id": f"{digits(13)}.{digits(10)}.{secrets.token_hex(16)}",
        "team": {"id": team_id, "domain": "testteam"}, "enterprise": None, "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel_name(channel)}, "message": message, "state": {"values": {}},
        "response_url": response_url or f"https://hooks.slack.com/actions/{team_id}/{digits(13)}/{secrets.token_urlsafe(18)}",
        "actions": [{"action_id": action_id, "block_id": block_id, "text": {"type": "plain_text", "text": label, "emoji": True},
                     "value": action_value, "type": "button", "action_ts": new_ts()}],
    }
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    return body, sign(body, secret, timestamp, content_type=FORM)


def menu_choice(secret: str, user_id: str, user_name: str, channel: str, message_ts: str, option_label: str, *,
                text: str, blocks: list, thread_ts: str | None = None, api_app_id: str = "AMARVIN01",
                team_id: str = TEAM_ID) -> Request:
    """An option picked in a static_select of a bot's message, as Slack delivers it: the
    action has `selected_option` (no `value`), and the state holds the selection too."""
    block, menu, option = chosen_option(blocks, option_label)
    body, _ = block_actions(secret, user_id, user_name, channel, message_ts, "", menu["action_id"], thread_ts,
                            text=text, blocks=blocks, block_id=block["block_id"], api_app_id=api_app_id, team_id=team_id)
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    payload["actions"] = [{"type": "static_select", "action_id": menu["action_id"], "block_id": block["block_id"],
                           "selected_option": option, "placeholder": menu.get("placeholder"), "action_ts": new_ts()}]
    payload["state"] = {"values": {block["block_id"]: {menu["action_id"]: {"type": "static_select", "selected_option": option}}}}
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    return body, sign(body, secret, content_type=FORM)


def chosen_option(blocks: list, label: str) -> tuple[dict, dict, dict]:
    """The actions block, static_select and option labelled `label` in a message's blocks."""
    menus = [(block, element) for block in blocks for element in block.get("elements") or []
             if element.get("type") == "static_select"]
    for block, menu in menus:
        for option in menu.get("options") or []:
            if option["text"]["text"] == label:
                return block, menu, option
    raise LookupError(f"no menu option {label!r} in the blocks")


def clicked_button(blocks: list, action_id: str, block_id: str | None) -> tuple[str, str]:
    """The clicked button's block_id and label, from the message's blocks when it is there."""
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return block.get("block_id") or block_id or secrets.token_hex(2), element["text"]["text"]
    return block_id or secrets.token_hex(2), "Yes"


# -- small parts -----------------------------------------------------------------------


def dumps(payload: dict) -> bytes:
    """Slack's JSON: compact."""
    return json.dumps(payload, separators=(",", ":")).encode()


def new_ts() -> str:
    """A message timestamp: unique and increasing, as Slack's are."""
    global _last_ts_us
    _last_ts_us = max(int(time.time() * 1_000_000), _last_ts_us + 1)
    return f"{_last_ts_us // 1_000_000}.{_last_ts_us % 1_000_000:06d}"


def new_event_id() -> str:
    return "Ev" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))


def digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


def bot_of(api_app_id: str) -> dict[str, str]:
    """The fake's default bot of an app; an unknown app gets a bot named after it."""
    for bot in DEFAULT_BOTS.values():
        if bot["app_id"] == api_app_id:
            return bot
    return {"user_id": "U" + api_app_id[1:], "bot_id": "B" + api_app_id[1:]}


def channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def channel_name(channel: str) -> str:
    """What interactivity payloads call a channel: DMs are all "directmessage"."""
    return {"D": "directmessage", "G": "privategroup"}.get(channel[:1], channel.lower())


def view_submission(secret: str, user_id: str, opened_view: dict, values: dict, *, api_app_id: str = "AMARVIN01",
                    team_id: str = TEAM_ID, timestamp: int | None = None) -> Request:
    """A modal submitted, as Slack delivers it: the view as views.open answered it (its id,
    callback_id, private_metadata), with `values` ({block_id: {action_id: text}}) as typed
    into its plain_text_inputs."""
    state = {block: {action: {"type": "plain_text_input", "value": value} for action, value in actions.items()}
             for block, actions in values.items()}
    payload = {
        "type": "view_submission", "team": {"id": team_id, "domain": "testteam"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": api_app_id, "token": VERIFICATION_TOKEN, "trigger_id": f"{digits(13)}.{digits(10)}.{secrets.token_hex(16)}",
        "view": {**opened_view, "state": {"values": state}}, "response_urls": [], "is_enterprise_install": False,
    }
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    return body, sign(body, secret, timestamp, content_type=FORM)
