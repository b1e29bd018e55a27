"""The terminal chat of `make run`: one channel with both bots in it, like Slack.

A line that starts by addressing a bot ("marvin ...", "@marvin ...", "Bender, ...") goes to
that bot; any other line goes to the last bot addressed. Until a bot is addressed, nothing
is sent: a stray first line must not land on the production bot. Messages go in through each bot's
callback channel, and every reply, including those that come minutes later, comes back to
a small HTTP receiver here, so they appear as they arrive.

Production successes posted to the management channel show up too, marked with the
channel's name (the management view; see deploybot.delivery.notifier).

Commands: /user NAME switches who you are, /say FILE.wav sends a recording (16 kHz mono WAV;
what was understood is shown first), /listen records from a microphone if there is one
(docs/voice.md), /quit (or Ctrl-D) leaves.

`make run` starts the bots and this chat together. To chat with bots that `make serve`
already runs: python -m deploybot.adapters.terminal_chat [--user NAME], with each bot's API token in
MARVIN_API_TOKEN and BENDER_API_TOKEN (the callback channel refuses messages without it).
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping, Optional, Tuple

from deploybot.adapters.voice.chat_commands import is_voice_command, voice_line
from deploybot.policy.identity import same_secret
from deploybot.domain.profiles import AssistantProfile, load_profiles

HOST = "127.0.0.1"
DEFAULT_CALLBACK_PORT = 5080  # where the bots' callback channel posts (see credentials.yml)
SEND_TIMEOUT_SECONDS = 330  # Rasa waits up to 300 s for an action
MANAGEMENT_PATH = "management"  # where the action servers post management-channel messages
CALLBACK_KEY_ENV = "DEPLOYBOT_CALLBACK_KEY"  # the secret the bots' posts into this chat carry


def addressed_bot(line: str, names: Mapping[str, str]) -> Optional[str]:
    """The id of the bot a line starts by addressing, if any (names: lowercase name -> id)."""
    match = re.match(r"^\s*(?:hey\s+|hi\s+)?@?([a-z]+)\b", line, re.IGNORECASE)
    return names.get(match.group(1).lower()) if match else None


def route(line: str, last_bot: Optional[str], names: Mapping[str, str]) -> Optional[str]:
    return addressed_bot(line, names) or last_bot


def render(bot_name: str, message: dict) -> str:
    """One bot message as terminal lines: text, then its buttons."""
    lines = []
    text = message.get("text")
    if text:
        first, *rest = text.splitlines() or [""]
        lines.append(f"{bot_name}: {first}")
        lines += [" " * (len(bot_name) + 2) + line for line in rest]
    buttons = message.get("buttons") or []
    if buttons:
        lines.append(" " * (len(bot_name) + 2) + "  ".join(f"[{b.get('title')}]" for b in buttons))
    for key in ("image", "attachment", "custom"):
        if message.get(key):
            lines.append(f"{bot_name}: ({key}) {json.dumps(message[key])}")
    return "\n".join(lines)


class Printer:
    """Prints whole messages only, so replies arriving at once do not interleave."""

    def __init__(self):
        self.lock = threading.Lock()

    def say(self, text: str) -> None:
        with self.lock:
            print(text, flush=True)


def start_receiver(port: int, profiles: Mapping[str, AssistantProfile], printer: Printer, key: str) -> ThreadingHTTPServer:
    """Prints what the bots post; only posts that carry the chat's key (the bots' callback
    URLs have it), so another local process cannot put words in a bot's mouth."""
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            url = urllib.parse.urlsplit(self.path)
            if not same_secret(dict(urllib.parse.parse_qsl(url.query)).get("key"), key):
                self.send_response(403)
                self.end_headers()
                return
            path = url.path.strip("/")
            bot = profiles.get(path)
            length = int(self.headers.get("Content-Length") or 0)
            try:
                message = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                message = None
            if (bot is None and path != MANAGEMENT_PATH) or not isinstance(message, dict):
                self.send_response(400)
                self.end_headers()
                return
            if bot is None:
                printer.say(render(f"[{message.get('recipient_id')}]", message))
            else:
                printer.say(render(bot.name, message))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):  # keep the terminal for the conversation
            pass

    server = ThreadingHTTPServer((HOST, port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def send(profile: AssistantProfile, token: str, user: str, text: str) -> Tuple[bool, str]:
    body = json.dumps({"sender": user, "message": text}).encode()
    request = urllib.request.Request(
        f"http://{HOST}:{profile.rasa_port}/webhooks/callback/webhook", data=body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS):
            return True, ""
    except urllib.error.HTTPError as error:
        return False, f"{profile.name} refused the message: {_error_text(error)}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"could not reach {profile.name} ({error})"


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        return json.loads(error.read()).get("error") or f"HTTP {error.code}"
    except (ValueError, AttributeError):
        return f"HTTP {error.code}"


def run_chat(profiles: Mapping[str, AssistantProfile], callback_port: int, tokens: Mapping[str, str], key: str,
             user: Optional[str] = None) -> None:
    user = user or getpass.getuser()
    names = {p.name.lower(): p.id for p in profiles.values()}
    last_bot: Optional[str] = None
    printer = Printer()
    server = start_receiver(callback_port, profiles, printer, key)
    bots = " and ".join(f"{p.name} ({', '.join(p.environments)})" for p in profiles.values())
    printer.say(
        f"\nYou are {user}, in a channel with {bots}.\n"
        f"Start a line with a bot's name to talk to it; other lines go to the last bot addressed. "
        f"/user NAME switches user, /say FILE.wav speaks a recording, /quit leaves.\n"
    )
    try:
        while True:
            try:
                line = input()
            except EOFError:
                break
            line = line.strip()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            if line.startswith("/user"):
                user = line[len("/user"):].strip() or user
                printer.say(f"(you are now {user})")
                continue
            if is_voice_command(line):
                shown, line = voice_line(line, [p.name for p in profiles.values()])
                printer.say(shown)
                if line is None:
                    continue
            last_bot = route(line, last_bot, names)
            if last_bot is None:
                printer.say(f"(start with a bot's name: {' or '.join(p.name for p in profiles.values())})")
                continue
            ok, problem = send(profiles[last_bot], tokens.get(last_bot, ""), user, line)
            if not ok:
                printer.say(f"({problem})")
    finally:
        server.shutdown()


def chat_url(port: int, path: str, key: str) -> str:
    """Where the bots (path: the bot's id) and the management view post into the chat."""
    return f"http://{HOST}:{port}/{path}?{urllib.parse.urlencode({'key': key})}"


def post_privately(url: str, recipient: str, text: str, timeout: float = 10) -> bool:
    """Prints a message in the chat without it passing through a conversation (so it is in
    no tracker and no API answer): the bots' action servers show an enrolment's secret this
    way. url: the bot's chat URL with the key (DEPLOYBOT_CALLBACK_URL). False when no chat took it."""
    body = json.dumps({"recipient_id": recipient, "text": text}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def management_url(port: int, key: str) -> str:
    return chat_url(port, MANAGEMENT_PATH, key)


def callback_port(environ=os.environ) -> int:
    return int(environ.get("DEPLOYBOT_CALLBACK_PORT", DEFAULT_CALLBACK_PORT))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Chat with the running bots in this terminal.")
    parser.add_argument("--user", default=None, help="who you are (default: your login name)")
    args = parser.parse_args(argv)
    profiles = load_profiles()
    tokens = {p.id: os.environ.get(f"{p.id.upper()}_API_TOKEN", "") for p in profiles.values()}
    missing = [f"{p.id.upper()}_API_TOKEN" for p in profiles.values() if not tokens[p.id]]
    key = os.environ.get(CALLBACK_KEY_ENV, "")
    if missing or not key:
        names = " and ".join(missing + ([] if key else [CALLBACK_KEY_ENV]))
        raise SystemExit(f"Set {names} (make serve prints them): the bots and this chat accept messages only with them.")
    run_chat(profiles, callback_port(), tokens, key, user=args.user)


if __name__ == "__main__":
    main()
