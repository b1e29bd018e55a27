"""A fake of the Slack Web API for tests and benchmarks: a real HTTP server that answers the
methods the bots use the way Slack does, so slack-sdk's WebClient and AsyncWebClient work
against it unchanged (`base_url=fake.api_url`). One fake serves several bot tokens, so both
Slack apps (Marvin and Bender) can share it.

    python -m devtools.slack_fake --port 8090 [--users users.yml]

Like Slack (written from Slack's API reference, not from what our code sends):
- every method is `/api/<method>`; arguments come from the query string, a form body or a
  JSON body (or a mix), the token from `Authorization: Bearer` or a `token` field; answers
  are `{"ok": true, ...}` or `{"ok": false, "error": "..."}`, with Slack's
  `response_metadata.messages` for invalid blocks and views.
- Channels exist only once created. By default: #deploys (`C0DEPLOYS`) and
  #deployments-management (a made-up `C...` id, also reachable by name), which every person
  and both bots are in, and a DM (`D` + the user id without its first letter) for every user.
  Unknown channels, and private ones the bot is not in, are `channel_not_found`; a public
  channel the bot is not in is `not_in_channel` (bots have no `chat:write.public` scope);
  archived ones are `is_archived`; an ephemeral for someone outside the channel is
  `user_not_in_channel`.
- Block Kit limits: 50 blocks a message (100 a view), a section's text 3,000 characters and
  10 fields of 2,000, an actions block 25 elements, button text 75 and value 2,000, a
  static_select 100 options, header text 150, unique block_ids, known block types: else
  `invalid_blocks`. Message text over 40,000 characters is `msg_too_long`.
- chat.update only for the bot's own messages (`cant_update_message`), `message_not_found`.
- views.open checks the trigger_id's format (`invalid_trigger_id`), that it was not used
  before (`exchanged_trigger_id`) and, for ids from new_trigger_id(), that it is at most
  3 seconds old (`expired_trigger_id`); the view is checked minimally (`invalid_arguments`).
- conversations.open gives the DM with a user (or a group DM with several).
- File uploads as Slack's current flow has them (files.upload is retired):
  files.getUploadURLExternal (filename and length required: `invalid_arguments`; a length
  of 0 is `missing_argument`) gives an `upload_url` and a `file_id`; the bytes are POSTed
  raw to the upload_url (HTTP 200 "OK - <length>"); files.completeUploadExternal (`files`
  a JSON array of {id, title}: else `invalid_arguments`) shares them into `channel_id` with
  an `initial_comment` as the message's text (a channel id only: a name or a user id is
  `invalid_channel`). A file id that is unknown, was not uploaded,
  or was completed before is `file_not_found` (the method can be called once); a channel
  that does not exist (or is private without the bot) is `invalid_channel`, one the bot is
  not in `not_in_channel`, an archived one `is_archived`.
- User groups: usergroups.list (`include_users`, `include_count`; disabled groups only with
  `include_disabled`) and usergroups.users.list (`usergroup` required: `invalid_arguments`;
  an unknown or, without `include_disabled`, disabled group: `no_such_subteam`).
- Rate limits answer HTTP 429 with `Retry-After` and `{"ok": false, "error": "ratelimited"}`.

Unlike Slack: a DM's id is the same for both bots, and both are in it; no scopes (every
token may call every method); message ids, users and channels are not per team; ephemeral
messages and views are not kept beyond the call; no edit window, no attachments checks, no
rich_text or input element validation; only chat.postMessage is rate limited, and only when
switched on (limit_posts) or asked for (rate_limit_next). The upload URL takes raw bytes
only (no multipart form, which Slack also accepts); it refuses a second upload and a body
whose size is not the `length` given (HTTP 400; Slack documents only "not 200 is a
failure"), and an unknown URL (HTTP 404).

Test controls, in Python or over HTTP on the same port:
- calls(method) — GET /_fake/calls[?method=chat.postMessage]
- add_user(...) — POST /_fake/users (a user as JSON)
- add_channel(channel, name=, members=, private=, archived=) — POST /_fake/channels (as JSON);
  join(channel, *users), leave(channel, *users), archive(channel)
- fail_next(method, error, times) — POST /_fake/faults {"method", "error", "times"}
- rate_limit_next(method, retry_after, times) — POST /_fake/faults {"method", "retry_after", "times"}
- limit_posts(per_second, burst) — POST /_fake/rate_limit {"per_second": 1, "burst": 3}; null switches it off
- new_trigger_id() — POST /_fake/trigger_ids
- add_usergroup(id, handle, users=(), name=None, disabled=False) — POST /_fake/usergroups (as JSON)
- files(channel=None) — the completed uploads (with their bytes), GET /_fake/files[?channel=D0THERESA]
  (bytes as base64)
- clear() — POST /_fake/clear: forgets calls, messages, files and pending faults.
"""
from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import logging
import math
import re
import secrets
import signal
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
TEAM_ID, TEAM_NAME, TEAM_URL = "T0001", "Test Team", "https://testteam.slack.com/"
DEFAULT_BOTS: dict[str, dict[str, str]] = {
    "xoxb-marvin-test": {"name": "marvin", "user_id": "UMARVIN01", "bot_id": "BMARVIN01", "app_id": "AMARVIN01"},
    "xoxb-bender-test": {"name": "bender", "user_id": "UBENDER01", "bot_id": "BBENDER01", "app_id": "ABENDER01"},
}
DEFAULT_USERS: list[dict[str, str]] = [
    {"id": "U0JBRUEDER", "name": "jbrueder", "display_name": "Jan Brueder", "real_name": "Jan Brueder"},
    {"id": "U0THERESA", "name": "theresa", "display_name": "Theresa", "real_name": "Theresa Lindqvist"},
    {"id": "UADMIN0001", "name": "opsadmin", "display_name": "Ops Admin", "real_name": "Olga Petrova"},
    {"id": "U0WALTER", "name": "walter", "display_name": "Walter", "real_name": "Walter Okafor"},
    {"id": "U0MLOPEZ01", "name": "mlopez", "display_name": "María", "real_name": "María López"},
]
# The channels of the test workspace; every person and both bots are in them.
DEFAULT_CHANNELS = ("C0DEPLOYS", "#deployments-management")
# users.list: Slack's default page size when none is asked for, and its maximum.
DEFAULT_LIMIT, MAX_LIMIT = 200, 1000
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
# Slack's trigger_ids: "<digits>.<digits>.<hex>"; one views.open each, for 3 seconds.
TRIGGER_ID = re.compile(r"^\d+\.\d+\.[0-9a-f]+$")
TRIGGER_SECONDS = 3

# Slack's published limits.
MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS, MAX_VIEW_BLOCKS = 50, 100
MAX_SECTION_TEXT, MAX_FIELDS, MAX_FIELD_TEXT = 3000, 10, 2000
MAX_ACTIONS, MAX_CONTEXT_ELEMENTS = 25, 10
MAX_BUTTON_TEXT, MAX_BUTTON_VALUE = 75, 2000
MAX_OPTIONS, MAX_OPTION_TEXT, MAX_OPTION_VALUE = 100, 75, 150
MAX_HEADER_TEXT, MAX_ID = 150, 255
MAX_VIEW_TITLE, MAX_PRIVATE_METADATA = 24, 3000
MAX_ALT_TXT = 1000
FILE_ID = re.compile(r"^F[A-Z0-9]{6,}$")
UPLOAD_PATH = "/upload/v1/"
BLOCK_TYPES = {"section", "actions", "context", "divider", "header", "image", "input", "rich_text", "file", "video"}


class SlackError(Exception):
    """An answer of {"ok": false, "error": error}, with Slack's explanations if any."""

    def __init__(self, error: str, messages: Sequence[str] = ()):
        super().__init__(error)
        self.error = error
        self.messages = list(messages)

    def answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            answer["response_metadata"] = {"messages": self.messages}
        return answer


def normalized(name: str) -> str:
    """Slack's *_normalized profile fields: accents and other marks removed."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def person(id: str, name: str, display_name: str, real_name: str) -> dict[str, Any]:
    """A users.info user object for a person."""
    profile = {"display_name": display_name, "real_name": real_name,
               "display_name_normalized": normalized(display_name), "real_name_normalized": normalized(real_name)}
    return {"id": id, "team_id": TEAM_ID, "name": name, "real_name": real_name, "deleted": False,
            "is_bot": False, "is_app_user": False, "tz": "Europe/Berlin", "profile": profile}


def bot_user(bot: dict[str, str]) -> dict[str, Any]:
    """The user object Slack keeps for an app's bot user."""
    user = person(bot["user_id"], bot["name"], "", bot["name"].capitalize())
    user["is_bot"] = True
    user["profile"].update(bot_id=bot["bot_id"], api_app_id=bot["app_id"], always_active=True)
    return user


def parsed_json_argument(value: Any, error: str) -> Any:
    """Form bodies carry blocks and views as JSON strings; JSON bodies as JSON."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise SlackError(error) from None


def text_and_blocks(args: dict[str, Any]) -> tuple[str, list | None]:
    """A message's content."""
    blocks = parsed_json_argument(args.get("blocks"), "invalid_blocks_format")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    return str(args.get("text") or ""), blocks


def page_cursor(user_id: str) -> str:
    """Slack's cursors are opaque base64 strings naming where the next page starts."""
    return base64.b64encode(f"user:{user_id}".encode()).decode()


def cursor_start(cursor: str) -> str:
    try:
        kind, _, user_id = base64.b64decode(cursor, validate=True).decode().partition(":")
    except ValueError:
        raise SlackError("invalid_cursor") from None
    if kind != "user" or not user_id:
        raise SlackError("invalid_cursor")
    return user_id


def made_up_channel_id(name: str) -> str:
    """A stable id for a channel created by name."""
    return "C" + hashlib.sha1(name.lstrip("#").encode()).hexdigest()[:9].upper()


def dm_id(user_id: str) -> str:
    return "D" + user_id[1:]


# ---------------------------------------------------------------------------- Block Kit


def block_problems(blocks: list, pointer: str, max_blocks: int) -> list[str]:
    """Slack's complaints about blocks, worded as its response_metadata words them."""
    problems = []
    if len(blocks) > max_blocks:
        problems.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for n, block in enumerate(blocks):
        where = f"{pointer}/{n}"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            problems.append(f"[ERROR] unsupported type: {block.get('type') if isinstance(block, dict) else block!r} [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            problems += too_long(block_id, MAX_ID, f"{where}/block_id")
            if block_id in block_ids:
                problems.append(f"[ERROR] duplicate block_id: {block_id} [json-pointer:{where}/block_id]")
            block_ids.add(block_id)
        problems += BLOCK_CHECKS.get(block["type"], lambda b, w: [])(block, where)
    return problems


def too_long(text: Any, limit: int, where: str, minimum: int = 0) -> list[str]:
    if not isinstance(text, str):
        return [f"[ERROR] must be a string [json-pointer:{where}]"]
    if len(text) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{where}]"]
    if len(text) < minimum:
        return [f"[ERROR] must be more than {minimum - 1} characters [json-pointer:{where}]"]
    return []


def text_object_problems(obj: Any, limit: int, where: str, plain_only: bool = False) -> list[str]:
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return [f"[ERROR] must be a {' or '.join(kinds)} text object [json-pointer:{where}]"]
    return too_long(obj.get("text"), limit, f"{where}/text", minimum=1)


def items_problems(items: Any, limit: int, where: str, minimum: int = 1) -> list[str]:
    if not isinstance(items, list):
        return [f"[ERROR] must be an array [json-pointer:{where}]"]
    if len(items) > limit:
        return [f"[ERROR] no more than {limit} items allowed [json-pointer:{where}]"]
    if len(items) < minimum:
        return [f"[ERROR] must provide at least {minimum} items [json-pointer:{where}]"]
    return []


def section_problems(block: dict, where: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"[ERROR] must provide either text or fields [json-pointer:{where}]"]
    problems = []
    if "text" in block:
        problems += text_object_problems(block["text"], MAX_SECTION_TEXT, f"{where}/text")
    if "fields" in block:
        problems += items_problems(block["fields"], MAX_FIELDS, f"{where}/fields")
        for n, item in enumerate(block["fields"] if isinstance(block["fields"], list) else []):
            problems += text_object_problems(item, MAX_FIELD_TEXT, f"{where}/fields/{n}")
    if "accessory" in block:
        problems += element_problems(block["accessory"], f"{where}/accessory")
    return problems


def actions_problems(block: dict, where: str) -> list[str]:
    elements = block.get("elements")
    problems = items_problems(elements, MAX_ACTIONS, f"{where}/elements")
    for n, element in enumerate(elements if isinstance(elements, list) else []):
        problems += element_problems(element, f"{where}/elements/{n}")
    return problems


def context_problems(block: dict, where: str) -> list[str]:
    return items_problems(block.get("elements"), MAX_CONTEXT_ELEMENTS, f"{where}/elements")


def header_problems(block: dict, where: str) -> list[str]:
    return text_object_problems(block.get("text"), MAX_HEADER_TEXT, f"{where}/text", plain_only=True)


def input_problems(block: dict, where: str) -> list[str]:
    problems = text_object_problems(block.get("label"), MAX_FIELD_TEXT, f"{where}/label", plain_only=True)
    if not isinstance(block.get("element"), dict):
        problems.append(f"[ERROR] missing required field: element [json-pointer:{where}]")
    return problems


def element_problems(element: Any, where: str) -> list[str]:
    """Buttons and static selects are checked; other elements only for an action_id's length."""
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"[ERROR] must be a block element [json-pointer:{where}]"]
    problems = too_long(element["action_id"], MAX_ID, f"{where}/action_id") if "action_id" in element else []
    if element["type"] == "button":
        problems += text_object_problems(element.get("text"), MAX_BUTTON_TEXT, f"{where}/text", plain_only=True)
        if "value" in element:
            problems += too_long(element["value"], MAX_BUTTON_VALUE, f"{where}/value")
    elif element["type"] == "static_select" and "option_groups" not in element:
        options = element.get("options")
        problems += items_problems(options, MAX_OPTIONS, f"{where}/options")
        for n, option in enumerate(options if isinstance(options, list) else []):
            option = option if isinstance(option, dict) else {}
            problems += text_object_problems(option.get("text"), MAX_OPTION_TEXT, f"{where}/options/{n}/text")
            problems += too_long(option.get("value"), MAX_OPTION_VALUE, f"{where}/options/{n}/value")
    return problems


BLOCK_CHECKS: dict[str, Callable[[dict, str], list[str]]] = {
    "section": section_problems, "actions": actions_problems, "context": context_problems,
    "header": header_problems, "input": input_problems,
}


def view_problems(view: Any) -> list[str]:
    """A minimal check of a modal: what Slack refuses most often."""
    if not isinstance(view, dict):
        return ["[ERROR] must be an object [json-pointer:/view]"]
    if view.get("type") != "modal":
        return ["[ERROR] must be modal [json-pointer:/view/type]"]
    problems = text_object_problems(view.get("title"), MAX_VIEW_TITLE, "/view/title", plain_only=True)
    for button in ("submit", "close"):
        if button in view:
            problems += text_object_problems(view[button], MAX_VIEW_TITLE, f"/view/{button}", plain_only=True)
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return problems + ["[ERROR] missing required field: blocks [json-pointer:/view]"]
    problems += block_problems(blocks, "/view/blocks", MAX_VIEW_BLOCKS)
    if "submit" not in view and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks):
        problems.append("[ERROR] submit is required when an input block is present [json-pointer:/view/submit]")
    if "private_metadata" in view:
        problems += too_long(view["private_metadata"], MAX_PRIVATE_METADATA, "/view/private_metadata")
    if "callback_id" in view:
        problems += too_long(view["callback_id"], MAX_ID, "/view/callback_id")
    return problems


# ---------------------------------------------------------------------------- workspace state


@dataclass
class Channel:
    id: str
    name: str | None = None           # None for DMs
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    everyone: bool = False            # like #general: every person joins it
    user: str | None = None           # the person a DM is with

    def info(self, member: str) -> dict[str, Any]:
        """conversations.info's channel object, as the bot user `member` sees it."""
        about: dict[str, Any] = {
            "id": self.id, "created": 1700000000, "is_archived": self.is_archived, "is_im": self.is_im,
            "is_mpim": self.is_mpim, "is_private": self.is_private or self.is_im or self.is_mpim,
            "is_channel": not (self.is_private or self.is_im or self.is_mpim),
            "is_group": self.is_private and not self.is_mpim}
        if self.is_im:
            about["user"] = self.user
        else:
            about.update(name=self.name, is_member=member in self.members, num_members=len(self.members))
        return about


@dataclass
class Fault:
    """The next `times` calls of `method` answer an error, or HTTP 429 when retry_after is set."""
    method: str
    times: int
    error: str | None = None
    retry_after: int | None = None


@dataclass
class PostLimit:
    """A token bucket per channel: about `per_second` posts a second, in bursts of `burst`."""
    per_second: float
    burst: int
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # channel -> (tokens, at)

    def wait_before_next(self, channel: str, now: float) -> float:
        """0 when a post may go now (and takes a token); else the seconds to wait."""
        tokens, at = self.buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
        if tokens >= 1:
            self.buckets[channel] = (tokens - 1, now)
            return 0.0
        self.buckets[channel] = (tokens, now)
        return (1 - tokens) / self.per_second


@dataclass
class Upload:
    """A file between files.getUploadURLExternal and files.completeUploadExternal."""
    id: str
    filename: str
    length: int
    owner: str                        # the bot user that asked for the upload URL
    alt_txt: str = ""
    content: bytes | None = None      # None until the bytes are POSTed to the upload URL
    completed: bool = False

    def shared(self, title: str, channel: str | None, comment: str) -> dict[str, Any]:
        """The record files() gives: the file, its bytes, and where it was shared."""
        return {"id": self.id, "name": self.filename, "title": title or self.filename, "size": self.length,
                "alt_txt": self.alt_txt, "content": self.content, "channel": channel, "initial_comment": comment,
                "user": self.owner}


Answer = tuple[int, dict[str, str], dict[str, Any]]  # HTTP status, headers, body


class FakeSlack:
    """The Slack Web API for the given users and bot tokens. Thread-safe."""

    def __init__(self, users: list[dict] | None = None, bots: dict[str, dict] | None = None, port: int = 0,
                 channels: Iterable[str] = DEFAULT_CHANNELS):
        self._lock = threading.RLock()
        self._bots = copy.deepcopy(DEFAULT_BOTS if bots is None else bots)
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, Channel] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel id, ts) -> message
        self._calls: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._post_limit: PostLimit | None = None
        self._trigger_ids: dict[str, float | None] = {}  # issued at; None once exchanged
        self._uploads: dict[str, Upload] = {}  # upload ticket (the URL's last part) -> upload
        self._files: list[dict[str, Any]] = []  # completed uploads, in order
        self._usergroups: dict[str, dict[str, Any]] = {}  # id -> usergroups.list's group, users included
        self._last_ts_us = 0
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[dict, dict], dict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "views.open": self._views_open,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
        }
        for user in DEFAULT_USERS if users is None else users:
            self.add_user(**user)
        for channel in channels:
            self.add_channel(channel, everyone=True)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> "FakeSlack":
        self._server = ThreadingHTTPServer((HOST, self._port), _handler_for(self))
        # A short poll interval: stop() waits for it, and tests start and stop many fakes.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> "FakeSlack":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Slack fake is not started")
        return f"http://{HOST}:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    # -- test controls -----------------------------------------------------------------

    def add_user(self, id: str, name: str, display_name: str, real_name: str | None = None) -> None:
        """A person; they join every channel everyone is in."""
        with self._lock:
            self._users[id] = person(id, name, display_name, real_name or display_name)
            for channel in self._channels.values():
                if channel.everyone:
                    channel.members.add(id)

    def add_channel(self, channel: str, *, name: str | None = None, members: Iterable[str] | None = None,
                    private: bool = False, archived: bool = False, everyone: bool = False) -> str:
        """Creates (or replaces) a channel given by id (`C0OTHER01`) or name (`#ops`); returns
        its id. Members are user ids (bots by their user ids: UMARVIN01); by default every
        person and every bot. `everyone` makes people added later join it too."""
        with self._lock:
            if CHANNEL_ID.match(channel):
                channel_id, default_name = channel, channel.lower()
            else:
                channel_id, default_name = made_up_channel_id(channel), channel.lstrip("#")
            everybody = set(self._users) | {bot["user_id"] for bot in self._bots.values()}
            self._channels[channel_id] = Channel(
                channel_id, name or default_name, everybody if members is None else set(members),
                is_private=private or channel_id.startswith("G"), is_archived=archived, everyone=everyone)
            return channel_id

    def join(self, channel: str, *user_ids: str) -> None:
        with self._lock:
            self._existing(channel).members.update(user_ids)

    def leave(self, channel: str, *user_ids: str) -> None:
        with self._lock:
            self._existing(channel).members.difference_update(user_ids)

    def archive(self, channel: str, archived: bool = True) -> None:
        with self._lock:
            self._existing(channel).is_archived = archived

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` answer {"ok": false, "error": error}."""
        with self._lock:
            self._faults.append(Fault(method, times, error=error))

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429 with Retry-After: retry_after."""
        with self._lock:
            self._faults.append(Fault(method, times, retry_after=retry_after))

    def limit_posts(self, per_second: float | None = 1.0, burst: int = 3) -> None:
        """chat.postMessage into one channel at about per_second, as Slack allows; None: no limit."""
        with self._lock:
            self._post_limit = PostLimit(per_second, burst) if per_second else None

    def new_trigger_id(self) -> str:
        """A trigger_id as a click delivers it: valid for one views.open, for 3 seconds."""
        with self._lock:
            trigger_id = f"{time.time_ns() // 1000}.{secrets.randbelow(10**10):010d}.{secrets.token_hex(16)}"
            self._trigger_ids[trigger_id] = time.monotonic()
            return trigger_id

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Every call so far, in order: {"method", "token_owner", "args", "at", "status", "answer"}."""
        with self._lock:
            return copy.deepcopy([c for c in self._calls if method in (None, c["method"])])

    def add_usergroup(self, id: str, handle: str, users: Iterable[str] = (), name: str | None = None,
                      disabled: bool = False) -> None:
        """Creates (or replaces) a user group: id `S...`, handle without its @, member user ids."""
        with self._lock:
            now = int(time.time())
            self._usergroups[id] = {
                "id": id, "team_id": TEAM_ID, "is_usergroup": True, "is_subteam": True, "name": name or handle,
                "description": "", "handle": handle, "is_external": False, "date_create": now, "date_update": now,
                "date_delete": now if disabled else 0, "auto_type": None, "created_by": "UADMIN0001",
                "updated_by": "UADMIN0001", "deleted_by": "UADMIN0001" if disabled else None,
                "prefs": {"channels": [], "groups": []}, "users": list(users)}

    def files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Completed uploads, in order: {"id", "name", "title", "size", "alt_txt", "content"
        (bytes), "channel" (its id, None when not shared), "initial_comment", "user"}."""
        with self._lock:
            found = self._find_channel(channel) if channel else None
            wanted = found.id if found else channel
            return copy.deepcopy([f for f in self._files if channel is None or f["channel"] == wanted])

    def receive_upload(self, ticket: str, body: bytes) -> tuple[int, str]:
        """A POST to an upload URL: (HTTP status, text answer)."""
        with self._lock:
            upload = self._uploads.get(ticket)
            if upload is None:
                return 404, "Not Found"
            if upload.content is not None or upload.completed:
                return 400, "upload_already_received"
            if len(body) != upload.length:
                return 400, f"length_mismatch: expected {upload.length} bytes, received {len(body)}"
            upload.content = body
            return 200, f"OK - {len(body)}"

    def clear(self) -> None:
        """Forgets calls, messages, files and pending faults; users, bots and channels stay."""
        with self._lock:
            self._calls.clear()
            self._messages.clear()
            self._faults.clear()
            self._uploads.clear()
            self._files.clear()

    # -- the Web API -------------------------------------------------------------------

    def answer(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        """The body of what Slack answers to a call of `method`."""
        return self.respond(method, token, args)[2]

    def respond(self, method: str, token: str | None, args: dict[str, Any]) -> Answer:
        """What Slack answers to a call of `method`; the call is recorded whatever the outcome."""
        with self._lock:
            bot = self._bots.get(token or "")
            call = {"method": method, "token_owner": bot["name"] if bot else None, "args": copy.deepcopy(args), "at": time.time()}
            status, headers, call["answer"] = self._rate_limited(method, args) or (200, {}, self._dispatch(method, token, bot, args))
            call["status"] = status
            self._calls.append(call)
            return status, headers, copy.deepcopy(call["answer"])

    def _rate_limited(self, method: str, args: dict[str, Any]) -> Answer | None:
        """HTTP 429 when a fault asks for it or the channel's post limit is reached."""
        retry_after = self._take_fault(method, rate_limit=True)
        if retry_after is None and method == "chat.postMessage" and self._post_limit:
            found = self._find_channel(args.get("channel"))
            wait = self._post_limit.wait_before_next(found.id if found else str(args.get("channel")), time.monotonic())
            retry_after = math.ceil(wait) if wait else None
        if retry_after is None:
            return None
        return 429, {"Retry-After": str(retry_after)}, {"ok": False, "error": "ratelimited"}

    def _take_fault(self, method: str, rate_limit: bool) -> Any:
        """The retry_after (or error) of the first pending fault of that kind for method."""
        for fault in self._faults:
            if fault.method == method and (fault.retry_after is not None) == rate_limit:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault.retry_after if rate_limit else fault.error
        return None

    def _dispatch(self, method: str, token: str | None, bot: dict | None, args: dict[str, Any]) -> dict[str, Any]:
        try:
            error = self._take_fault(method, rate_limit=False)
            if error:
                raise SlackError(error)
            if method not in self._methods:
                raise SlackError("unknown_method")
            if not token:
                raise SlackError("not_authed")
            if bot is None:
                raise SlackError("invalid_auth")
            return {"ok": True, **self._methods[method](bot, args)}
        except SlackError as error:
            return error.answer()

    def _auth_test(self, bot: dict, args: dict) -> dict:
        return {"url": TEAM_URL, "team": TEAM_NAME, "user": bot["name"], "team_id": TEAM_ID,
                "user_id": bot["user_id"], "bot_id": bot["bot_id"], "is_enterprise_install": False}

    def _post_message(self, bot: dict, args: dict) -> dict:
        channel = self._postable_channel(bot, args.get("channel"))
        text, blocks = self._content(args)
        message = {"type": "message", "text": text, "user": bot["user_id"], "bot_id": bot["bot_id"],
                   "app_id": bot["app_id"], "team": TEAM_ID, "ts": self._next_ts()}
        if blocks:
            message["blocks"] = blocks
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        self._messages[(channel.id, message["ts"])] = message
        return {"channel": channel.id, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _update(self, bot: dict, args: dict) -> dict:
        channel = self._visible_channel(bot, args.get("channel"))
        message = self._messages.get((channel.id, str(args.get("ts") or "")))
        if message is None:
            raise SlackError("message_not_found")
        if message["bot_id"] != bot["bot_id"]:
            raise SlackError("cant_update_message")
        text, blocks = self._content(args)
        message["text"] = text
        # As on Slack, leaving out blocks keeps the old ones; an empty list removes them.
        if blocks:
            message["blocks"] = blocks
        elif blocks is not None:
            message.pop("blocks", None)
        return {"channel": channel.id, "ts": message["ts"], "text": text, "message": copy.deepcopy(message)}

    def _post_ephemeral(self, bot: dict, args: dict) -> dict:
        channel = self._postable_channel(bot, args.get("channel"))
        if args.get("user") not in self._users:
            raise SlackError("user_not_found")
        if args["user"] not in channel.members:
            raise SlackError("user_not_in_channel")
        self._content(args)
        return {"channel": channel.id, "message_ts": self._next_ts()}

    def _users_info(self, bot: dict, args: dict) -> dict:
        user = self._all_users().get(args.get("user") or "")
        if user is None:
            raise SlackError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _users_list(self, bot: dict, args: dict) -> dict:
        try:
            limit = int(args.get("limit") or 0)
        except ValueError:
            raise SlackError("invalid_arguments") from None
        limit = min(limit, MAX_LIMIT) if limit > 0 else DEFAULT_LIMIT
        members = list(self._all_users().values())
        start = 0
        if args.get("cursor"):
            ids = [m["id"] for m in members]
            first = cursor_start(str(args["cursor"]))
            if first not in ids:
                raise SlackError("invalid_cursor")
            start = ids.index(first)
        page = members[start:start + limit]
        rest = members[start + len(page):]
        return {"members": copy.deepcopy(page), "cache_ts": int(time.time()),
                "response_metadata": {"next_cursor": page_cursor(rest[0]["id"]) if rest else ""}}

    def _conversations_info(self, bot: dict, args: dict) -> dict:
        return {"channel": self._visible_channel(bot, args.get("channel")).info(bot["user_id"])}

    def _conversations_open(self, bot: dict, args: dict) -> dict:
        """The DM with one user, or a group DM with several (users: comma-separated ids)."""
        if args.get("channel"):
            return {"channel": {"id": self._visible_channel(bot, args["channel"]).id}}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        if any(u not in self._all_users() for u in users):
            raise SlackError("user_not_found")
        channel = self._dm(users[0]) if len(users) == 1 else self._group_dm(bot, users)
        found = {"id": channel.id}
        if str(args.get("return_im")).lower() in ("1", "true"):
            found = channel.info(bot["user_id"])
        return {"no_op": True, "already_open": True, "channel": found} if channel.is_im else {"channel": found}

    def _views_open(self, bot: dict, args: dict) -> dict:
        trigger_id = str(args.get("trigger_id") or "")
        if not TRIGGER_ID.match(trigger_id):
            raise SlackError("invalid_trigger_id")
        issued = self._trigger_ids.get(trigger_id, time.monotonic())
        if issued is None:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - issued > TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        view = parsed_json_argument(args.get("view"), "invalid_arguments")
        problems = view_problems(view)
        if problems:
            raise SlackError("invalid_arguments", problems)
        self._trigger_ids[trigger_id] = None
        opened = {"id": "V" + secrets.token_hex(5).upper(), "team_id": TEAM_ID, "app_id": bot["app_id"],
                  "bot_id": bot["bot_id"], "state": {"values": {}}, "hash": f"{time.time():.6f}.{secrets.token_hex(4)}",
                  "callback_id": "", "private_metadata": "", "external_id": "", **copy.deepcopy(view)}
        return {"view": opened}

    def _get_upload_url(self, bot: dict, args: dict) -> dict:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "").strip()
        if not filename or not length:
            raise SlackError("invalid_arguments")
        if not length.isdigit():
            raise SlackError("invalid_arguments")
        if int(length) == 0:
            raise SlackError("missing_argument")
        alt_txt = str(args.get("alt_txt") or "")
        if len(alt_txt) > MAX_ALT_TXT:
            raise SlackError("alt_txt_too_large")
        ticket = secrets.token_urlsafe(24)
        upload = Upload("F" + secrets.token_hex(5).upper(), filename, int(length), bot["user_id"], alt_txt)
        self._uploads[ticket] = upload
        return {"upload_url": f"{self.url}{UPLOAD_PATH}{ticket}", "file_id": upload.id}

    def _complete_upload(self, bot: dict, args: dict) -> dict:
        wanted = parsed_json_argument(args.get("files"), "invalid_arguments")
        if not isinstance(wanted, list) or not wanted or not all(isinstance(f, dict) and f.get("id") for f in wanted):
            raise SlackError("invalid_arguments")
        by_id = {u.id: u for u in self._uploads.values() if u.owner == bot["user_id"]}
        uploads = [by_id.get(str(f["id"])) for f in wanted]
        if any(u is None or u.content is None or u.completed for u in uploads):
            raise SlackError("file_not_found")
        channel = None
        if args.get("channel_id"):
            # A channel's id only: unlike chat.postMessage's channel, no name and no user id.
            found = self._find_channel(args["channel_id"]) if CHANNEL_ID.match(str(args["channel_id"])) else None
            if found is None or (found.is_private and bot["user_id"] not in found.members):
                raise SlackError("invalid_channel")
            if found.is_archived:
                raise SlackError("is_archived")
            if bot["user_id"] not in found.members:
                raise SlackError("not_in_channel")
            channel = found.id
        comment = str(args.get("initial_comment") or "")
        if len(comment) > MAX_TEXT:
            raise SlackError("msg_too_long")
        shared = [u.shared(str(f.get("title") or ""), channel, comment) for u, f in zip(uploads, wanted)]
        for upload in uploads:
            upload.completed = True
        self._files += shared
        if channel:
            message = {"type": "message", "text": comment, "user": bot["user_id"], "bot_id": bot["bot_id"],
                       "app_id": bot["app_id"], "team": TEAM_ID, "ts": self._next_ts(), "upload": True,
                       "files": [{"id": f["id"], "name": f["name"], "title": f["title"]} for f in shared]}
            if args.get("thread_ts"):
                message["thread_ts"] = str(args["thread_ts"])
            self._messages[(channel, message["ts"])] = message
        return {"files": [{"id": f["id"], "name": f["name"], "title": f["title"], "size": f["size"],
                           "channels": [channel] if channel else [], "user": bot["user_id"]} for f in shared]}

    def _usergroups_list(self, bot: dict, args: dict) -> dict:
        wanted = lambda name: str(args.get(name)).lower() in ("1", "true")
        groups = []
        for group in self._usergroups.values():
            if group["date_delete"] and not wanted("include_disabled"):
                continue
            listed = {k: v for k, v in group.items() if k != "users"}
            if wanted("include_users"):
                listed["users"] = list(group["users"])
            if wanted("include_count"):
                listed["user_count"] = len(group["users"])
            groups.append(copy.deepcopy(listed))
        return {"usergroups": groups}

    def _usergroups_users_list(self, bot: dict, args: dict) -> dict:
        group_id = str(args.get("usergroup") or "")
        if not group_id:
            raise SlackError("invalid_arguments")
        group = self._usergroups.get(group_id)
        if group is None or (group["date_delete"] and str(args.get("include_disabled")).lower() not in ("1", "true")):
            raise SlackError("no_such_subteam")
        return {"users": list(group["users"])}

    # -- helpers (called with the lock held) ----------------------------------------------

    def _all_users(self) -> dict[str, dict[str, Any]]:
        """People, then the bots' users, as users.list lists them."""
        bots = {bot["user_id"]: bot_user(bot) for bot in self._bots.values()}
        return {**self._users, **bots}

    def _find_channel(self, channel: Any) -> Channel | None:
        """A channel by id or name; a user id or a user's DM id stands for the DM with them."""
        channel = str(channel or "")
        if channel in self._channels:
            return self._channels[channel]
        if USER_ID.match(channel) and channel in self._all_users():
            return self._dm(channel)
        if channel.startswith("D"):
            user = next((u for u in self._all_users() if dm_id(u) == channel), None)
            return self._dm(user) if user else None
        name = channel.lstrip("#")
        return next((c for c in self._channels.values() if c.name == name and not c.is_im), None)

    def _existing(self, channel: str) -> Channel:
        found = self._find_channel(channel)
        if found is None:
            raise KeyError(f"no channel {channel!r} in the Slack fake")
        return found

    def _visible_channel(self, bot: dict, channel: Any) -> Channel:
        """Slack hides private channels from those outside them."""
        found = self._find_channel(channel)
        if found is None or (found.is_private and bot["user_id"] not in found.members):
            raise SlackError("channel_not_found")
        return found

    def _postable_channel(self, bot: dict, channel: Any) -> Channel:
        found = self._visible_channel(bot, channel)
        if found.is_archived:
            raise SlackError("is_archived")
        if bot["user_id"] not in found.members:
            raise SlackError("not_in_channel")
        return found

    def _dm(self, user_id: str) -> Channel:
        """The DM with a user; the bots are in every DM (on Slack each bot has its own)."""
        channel_id = dm_id(user_id)
        if channel_id not in self._channels:
            bots = {bot["user_id"] for bot in self._bots.values()}
            self._channels[channel_id] = Channel(channel_id, members={user_id, *bots}, is_im=True, user=user_id)
        return self._channels[channel_id]

    def _group_dm(self, bot: dict, users: list[str]) -> Channel:
        members = sorted({*users, bot["user_id"]})
        channel_id = "G" + hashlib.sha1(",".join(members).encode()).hexdigest()[:9].upper()
        if channel_id not in self._channels:
            name = "mpdm-" + "--".join(self._all_users()[m]["name"] for m in members) + "-1"
            self._channels[channel_id] = Channel(channel_id, name, set(members), is_private=True, is_mpim=True)
        return self._channels[channel_id]

    def _content(self, args: dict) -> tuple[str, list | None]:
        text, blocks = text_and_blocks(args)
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        if len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        problems = block_problems(blocks or [], "/blocks", MAX_MESSAGE_BLOCKS)
        if problems:
            raise SlackError("invalid_blocks", problems)
        return text, blocks

    def _next_ts(self) -> str:
        """Unique and increasing, like Slack's message timestamps."""
        self._last_ts_us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"


# ---------------------------------------------------------------------------- HTTP


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Form and JSON bodies, as Slack accepts them."""
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return {}
    if kind == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(parsed, dict):
            raise SlackError("invalid_json")
        return parsed
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    raise SlackError("invalid_form_data")


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    controls: dict[str, Callable[[dict], Any]] = {
        "/_fake/users": lambda body: fake.add_user(**body),
        "/_fake/channels": lambda body: {"id": fake.add_channel(body.pop("channel"), **body)},
        "/_fake/usergroups": lambda body: fake.add_usergroup(**body),
        "/_fake/faults": lambda body: fake.rate_limit_next(**body) if "retry_after" in body else fake.fail_next(**body),
        "/_fake/rate_limit": lambda body: fake.limit_posts(**body),
        "/_fake/trigger_ids": lambda body: {"trigger_id": fake.new_trigger_id()},
        "/_fake/clear": lambda body: fake.clear(),
    }

    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as aiohttp's sessions reuse connections.
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, verb: str) -> None:
            path, query = urlsplit(self.path)[2:4]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if path.startswith("/api/"):
                self._send(*self._api(path.removeprefix("/api/"), dict(parse_qsl(query)), body))
            elif verb == "POST" and path.startswith(UPLOAD_PATH):
                self._send_text(*fake.receive_upload(path.removeprefix(UPLOAD_PATH), body))
            elif (verb, path) == ("GET", "/_fake/files"):
                files = fake.files(dict(parse_qsl(query)).get("channel"))
                self._send(200, {}, [{**f, "content": base64.b64encode(f["content"]).decode()} for f in files])
            elif (verb, path) == ("GET", "/_fake/calls"):
                self._send(200, {}, fake.calls(dict(parse_qsl(query)).get("method")))
            elif verb == "POST" and path in controls:
                self._send(200, {}, self._control(controls[path], body))
            else:
                self._send(404, {}, {"ok": False, "error": "not_found"})

        def _api(self, method: str, args: dict[str, Any], body: bytes) -> Answer:
            try:
                args.update(parse_body(self.headers.get("Content-Type", ""), body))
            except SlackError as error:
                return 200, {}, error.answer()
            field_token = args.pop("token", None)
            return fake.respond(method, bearer_token(self.headers.get("Authorization")) or field_token, args)

        def _control(self, control: Callable[[dict], Any], body: bytes) -> dict[str, Any]:
            try:
                done = control(json.loads(body) if body else {})
            except (ValueError, TypeError, KeyError) as error:
                return {"ok": False, "error": f"invalid request: {error}"}
            return {"ok": True, **(done or {})}

        def _send(self, status: int, headers: dict[str, str], answer: Any) -> None:
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _send_text(self, status: int, text: str) -> None:
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


# ---------------------------------------------------------------------------- command line


def load_users(path: str) -> list[dict]:
    """A YAML list of users: {id, name, display_name, real_name}."""
    import yaml  # only the command line reads files; PyYAML comes with Rasa

    with open(path, encoding="utf-8") as file:
        users = yaml.safe_load(file)
    if not isinstance(users, list):
        raise SystemExit(f"{path}: expected a list of users")
    return users


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.slack_fake", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--users", help="a YAML list of users instead of the default ones")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # before the line that says it is ready
        signal.signal(signum, lambda *_: stopping.set())
    fake = FakeSlack(users=load_users(args.users) if args.users else None, port=args.port).start()
    print(f"Slack API fake on {fake.url}", flush=True)
    stopping.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
