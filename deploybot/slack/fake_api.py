"""A fake of the Slack Web API for tests and benchmarks: a real HTTP server that answers the
methods the bots use the way Slack does, so slack-sdk's WebClient and AsyncWebClient work
against it unchanged (`base_url=fake.api_url`). One fake serves several bot tokens, so both
Slack apps (Marvin and Bender) can share it.

    python -m deploybot.slack.fake_api --port 8090 [--users users.yml]

Like Slack: every method is `/api/<method>`, arguments come from the query string, a form
body or a JSON body (or a mix), the token from `Authorization: Bearer` or a `token` field,
and every answer is HTTP 200 with `{"ok": true, ...}` or `{"ok": false, "error": "..."}`.
Posting to a user id posts into that user's DM and answers with a `D...` channel id;
channel names (`#deployments-management`) get a stable made-up `C...` id.

Unlike Slack: any channel id or name exists and every bot is a member; ephemeral messages
are not kept; no rate limits. Test controls, on the same port:
GET /_fake/calls[?method=chat.postMessage], POST /_fake/users (a user as JSON), POST /_fake/clear.
"""
from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import logging
import re
import signal
import sys
import threading
import time
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence
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
# users.list: Slack's default page size when none is asked for, and its maximum.
DEFAULT_LIMIT, MAX_LIMIT = 200, 1000
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")


class SlackError(Exception):
    """An answer of {"ok": false, "error": error}."""

    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


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


def text_and_blocks(args: dict[str, Any]) -> tuple[str, list | None]:
    """A message's content; form bodies carry blocks as a JSON string."""
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            raise SlackError("invalid_blocks_format") from None
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


class FakeSlack:
    """The Slack Web API for the given users and bot tokens. Thread-safe."""

    def __init__(self, users: list[dict] | None = None, bots: dict[str, dict] | None = None, port: int = 0):
        self._lock = threading.Lock()
        self._bots = copy.deepcopy(DEFAULT_BOTS if bots is None else bots)
        self._users: dict[str, dict[str, Any]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel id, ts) -> message
        self._calls: list[dict[str, Any]] = []
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
        }
        for user in DEFAULT_USERS if users is None else users:
            self.add_user(**user)

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
        with self._lock:
            self._users[id] = person(id, name, display_name, real_name or display_name)

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Every call so far, in order: {"method", "token_owner", "args", "at", "answer"}."""
        with self._lock:
            return copy.deepcopy([c for c in self._calls if method in (None, c["method"])])

    def clear(self) -> None:
        """Forgets calls and messages; users and bots stay."""
        with self._lock:
            self._calls.clear()
            self._messages.clear()

    # -- the Web API -------------------------------------------------------------------

    def answer(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        """What Slack answers to a call of `method`; the call is recorded whatever the outcome."""
        with self._lock:
            bot = self._bots.get(token or "")
            call = {"method": method, "token_owner": bot["name"] if bot else None, "args": copy.deepcopy(args), "at": time.time()}
            call["answer"] = self._dispatch(method, token, bot, args)
            self._calls.append(call)
            return copy.deepcopy(call["answer"])

    def _dispatch(self, method: str, token: str | None, bot: dict | None, args: dict[str, Any]) -> dict[str, Any]:
        try:
            if method not in self._methods:
                raise SlackError("unknown_method")
            if not token:
                raise SlackError("not_authed")
            if bot is None:
                raise SlackError("invalid_auth")
            return {"ok": True, **self._methods[method](bot, args)}
        except SlackError as error:
            return {"ok": False, "error": error.error}

    def _auth_test(self, bot: dict, args: dict) -> dict:
        return {"url": TEAM_URL, "team": TEAM_NAME, "user": bot["name"], "team_id": TEAM_ID,
                "user_id": bot["user_id"], "bot_id": bot["bot_id"], "is_enterprise_install": False}

    def _post_message(self, bot: dict, args: dict) -> dict:
        channel = self._channel_id(args.get("channel"))
        text, blocks = self._content(args)
        message = {"type": "message", "text": text, "user": bot["user_id"], "bot_id": bot["bot_id"],
                   "app_id": bot["app_id"], "team": TEAM_ID, "ts": self._next_ts()}
        if blocks:
            message["blocks"] = blocks
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        self._messages[(channel, message["ts"])] = message
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _update(self, bot: dict, args: dict) -> dict:
        channel = args.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        message = self._messages.get((channel, str(args.get("ts") or "")))
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
        return {"channel": channel, "ts": message["ts"], "text": text, "message": copy.deepcopy(message)}

    def _post_ephemeral(self, bot: dict, args: dict) -> dict:
        channel = self._channel_id(args.get("channel"))
        if args.get("user") not in self._users:
            raise SlackError("user_not_found")
        self._content(args)
        return {"channel": channel, "message_ts": self._next_ts()}

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
        channel = str(args.get("channel") or "")
        if not CHANNEL_ID.match(channel):
            raise SlackError("channel_not_found")
        kind = channel[0]
        about = {"id": channel, "is_channel": kind == "C", "is_group": kind == "G", "is_im": kind == "D",
                 "is_private": kind != "C", "is_archived": False, "created": 1700000000}
        if kind != "D":
            about.update(name=channel.lower(), is_member=True)
        return {"channel": about}

    # -- helpers (called with the lock held) ----------------------------------------------

    def _all_users(self) -> dict[str, dict[str, Any]]:
        """People, then the bots' users, as users.list lists them."""
        bots = {bot["user_id"]: bot_user(bot) for bot in self._bots.values()}
        return {**self._users, **bots}

    def _channel_id(self, channel: Any) -> str:
        """The id Slack answers with: a user's DM for a user id, a made-up id for a name."""
        channel = str(channel or "")
        if not channel:
            raise SlackError("channel_not_found")
        if USER_ID.match(channel):
            if channel not in self._all_users():
                raise SlackError("channel_not_found")
            return "D" + channel[1:]
        if CHANNEL_ID.match(channel):
            return channel
        return "C" + hashlib.sha1(channel.lstrip("#").encode()).hexdigest()[:9].upper()

    def _content(self, args: dict) -> tuple[str, list | None]:
        text, blocks = text_and_blocks(args)
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
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
                self._send(self._api(path.removeprefix("/api/"), dict(parse_qsl(query)), body))
            elif (verb, path) == ("GET", "/_fake/calls"):
                self._send(fake.calls(dict(parse_qsl(query)).get("method")))
            elif (verb, path) == ("POST", "/_fake/users"):
                self._send(self._add_user(body))
            elif (verb, path) == ("POST", "/_fake/clear"):
                fake.clear()
                self._send({"ok": True})
            else:
                self._send({"ok": False, "error": "not_found"}, status=404)

        def _api(self, method: str, args: dict[str, Any], body: bytes) -> dict[str, Any]:
            try:
                args.update(parse_body(self.headers.get("Content-Type", ""), body))
            except SlackError as error:
                return {"ok": False, "error": error.error}
            field_token = args.pop("token", None)
            return fake.answer(method, bearer_token(self.headers.get("Authorization")) or field_token, args)

        def _add_user(self, body: bytes) -> dict[str, Any]:
            try:
                fake.add_user(**json.loads(body))
            except (ValueError, TypeError) as error:
                return {"ok": False, "error": f"invalid user: {error}"}
            return {"ok": True}

        def _send(self, answer: Any, status: int = 200) -> None:
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
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
    parser = argparse.ArgumentParser(prog="python -m deploybot.slack.fake_api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--users", help="a YAML list of users instead of the default ones")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    fake = FakeSlack(users=load_users(args.users) if args.users else None, port=args.port).start()
    print(f"Slack API fake on {fake.url}", flush=True)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    stopping.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
