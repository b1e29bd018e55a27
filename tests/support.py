"""The running local stack as tests and benchmarks see it: deploybot.cli.stack started on free
loopback ports with databases of its own, its bots over HTTP, and the Jenkins emulator's
control API."""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional

import pytest
from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import AuditEntry, Deployment
from devtools.slack_fake import TEAM_ID, FakeSlack

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "deploybot.tar.gz"
# Each bot's API token (<BOT>_API_TOKEN): its Rasa HTTP API and its REST and callback channels.
TOKENS = {"marvin": "marvin-test-token-not-secret", "bender": "bender-test-token-not-secret"}
# Voice devices (channels/voice.py): each token is one person's (<BOT>_VOICE_DEVICES).
VOICE_DEVICES = {"voice-alice": "alice-voice-device-token-not-secret", "voice-bob": "bob-voice-device-token-not-secret",
                 "voice-carol": "carol-voice-device-token-not-secret"}
CHAT_KEY = "chat-key-not-secret"  # what the bots' posts into the terminal chat carry
TWO_FACTOR_KEY = "x4MqCrB0rRZ4i2PAnd6d5BhN1bQ2qK1tLZ0qgk5S9bE="  # a Fernet key for the test stacks only
# Admins of the test stack (DEPLOYBOT_ADMINS), in addition to the profile's.
ADMIN = "UADMIN0001"
HARNESS_OPT_INS = {"DEPLOYBOT_TOKEN_SENDERS_MAY_BE_SLACK_IDS": "true", "BENDER_REST_CHANNEL": "on",
                   "MARVIN_TOKEN_CHANNELS_MAY": "all", "BENDER_TOKEN_CHANNELS_MAY": "all"}


# Ports handed out by this process, so that two servers started later never get the same one.
_HANDED_OUT: set = set()


def _ephemeral_ports() -> range:
    """The kernel's range for the local ports of outgoing connections (Linux; the usual default
    elsewhere)."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port() -> int:
    """A loopback port that is free now and lies outside the ephemeral range. A port the kernel
    picks (bind to 0) is an ephemeral one, and between this check and the server's bind any
    outgoing connection on the machine (Rasa calling its action server, say) may take it as its
    local port: CI once failed on exactly that ("address already in use")."""
    ephemeral = _ephemeral_ports()
    candidates = [port for port in range(20000, 32768) if port not in ephemeral and port not in _HANDED_OUT]
    for port in random.sample(candidates, min(200, len(candidates))):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as s:  # a machine whose ephemeral range covers everything
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body=None, timeout: float = 60, headers: Optional[Dict[str, str]] = None):
    """(status, parsed JSON or text) of a real HTTP request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


@dataclass
class Bot:
    id: str
    port: int
    chat_port: int = 0  # the stack's terminal-chat port (DEPLOYBOT_CALLBACK_PORT): see chat_posts


    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return TOKENS[self.id]

    def say(self, sender: str, text: str) -> List[dict]:
        """A user message over the REST channel (with the bot's API token); returns the bot's replies."""
        status, replies = self.post_rest({"sender": sender, "message": text})
        assert status == 200, replies
        return replies

    def post_rest(self, body, headers: Optional[Dict[str, str]] = None):
        """(status, answer) of a REST channel request; with the bot's token unless headers say otherwise."""
        return http("POST", f"{self.url}/webhooks/rest/webhook", body,
                    headers={"Authorization": f"Bearer {self.token}"} if headers is None else headers)

    def texts(self, sender: str, text: str) -> List[str]:
        return [r.get("text", "") for r in self.say(sender, text)]

    def parse(self, text: str) -> dict:
        status, parsed = http("POST", f"{self.url}/model/parse?token={self.token}", {"text": text})
        assert status == 200, parsed
        return parsed

    def tracker(self, sender: str) -> dict:
        status, tracker = http("GET", f"{self.url}/conversations/{sender}/tracker?token={self.token}")
        assert status == 200, tracker
        return tracker

    def add_events(self, sender: str, events: List[dict]) -> None:
        status, body = http("POST", f"{self.url}/conversations/{sender}/tracker/events?token={self.token}", events)
        assert status == 200, body

    def said(self, sender: str) -> List[str]:
        """Everything the bot has said in the conversation, from the tracker."""
        return [e.get("text") or "" for e in self.tracker(sender)["events"] if e["event"] == "bot"]

    def wait_for(self, sender: str, prefix: str, count: int = 1, timeout: float = 60) -> List[str]:
        """Waits until the bot has said `count` messages starting with prefix (reports come
        later, through trigger_intent); returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [text for text in self.said(sender) if text.startswith(prefix)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"after {timeout} s, no {count} message(s) starting {prefix!r}; the bot said: {self.said(sender)}")
            time.sleep(0.3)


@dataclass
class Jenkins:
    """The emulator's control API (devtools.jenkins_emulator)."""
    url: str
    control_url: str

    def control(self, method: str, path: str, body=None):
        status, answer = http(method, f"{self.control_url}{path}", body)
        assert status < 300, answer
        return answer

    def builds(self, job: str) -> List[dict]:
        return [b for b in self.control("GET", "/builds") if b["job"] == job]


@dataclass
class Stack:
    process: subprocess.Popen
    bots: Dict[str, Bot]
    env: Dict[str, str]  # what a client of this stack needs: ports, token
    var_dir: Path        # the stack's databases and logs
    jenkins: Jenkins
    slack: Optional[FakeSlack] = None  # the Slack Web API the bots post to
    replicas: Dict[str, List[Bot]] = field(default_factory=dict)  # every Rasa replica of each bot

    def database_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'deploybot.db'}"

    @staticmethod
    def slack_secret(bot: str) -> str:
        return SLACK_APPS[bot]["signing_secret"]

    @staticmethod
    def slack_app(bot: str) -> str:
        return SLACK_APPS[bot]["app_id"]


# The two Slack apps of the test stack, as devtools.slack_fake knows them.
SLACK_APPS = {
    "marvin": {"token": "xoxb-marvin-test", "signing_secret": "marvin-signing-secret-not-secret", "app_id": "AMARVIN01"},
    "bender": {"token": "xoxb-bender-test", "signing_secret": "bender-signing-secret-not-secret", "app_id": "ABENDER01"},
}
TRUSTED_BUILD_SYSTEM = "B0JENKINS1"  # Marvin's trusted build system in the tests, by bot id
TRUSTED_BUILD_APP = "A0JENKINS1"     # and one trusted by its app id (bot_profile.app_id)


def slack_settings(fake: FakeSlack) -> Dict[str, str]:
    """The environment that makes both bots Slack apps of the fake's workspace talking to the fake."""
    settings = {"SLACK_API_URL": fake.api_url, "MARVIN_TRUSTED_BUILD_SYSTEMS": f"{TRUSTED_BUILD_SYSTEM},{TRUSTED_BUILD_APP}"}
    for bot, app in SLACK_APPS.items():
        settings[f"{bot.upper()}_SLACK_BOT_TOKEN"] = app["token"]
        settings[f"{bot.upper()}_SLACK_SIGNING_SECRET"] = app["signing_secret"]
        settings[f"{bot.upper()}_SLACK_TEAM_IDS"] = TEAM_ID
    return settings


PORT_VARIABLES = ("MARVIN_PORT", "BENDER_PORT", "MARVIN_ACTIONS_PORT", "BENDER_ACTIONS_PORT", "DEPLOYBOT_CALLBACK_PORT",
                  "DEPLOYBOT_JENKINS_EMULATOR_PORT", "DEPLOYBOT_JENKINS_EMULATOR_CONTROL_PORT", "DEPLOYBOT_WEB_PORT")


class StackDidNotStart(RuntimeError):
    pass


# How often start_stack looks for "Ready." in the stack's log: the bench's start-up figure
# is this late at most.
READY_POLL_SECONDS = 0.2


REPLICATED = ("MARVIN_PORT", "BENDER_PORT", "MARVIN_ACTIONS_PORT", "BENDER_ACTIONS_PORT")


def start_stack(var_dir: Path, settings: Mapping[str, str], startup_timeout: float = 360,
                slack: Optional[FakeSlack] = None, replicas: int = 1) -> Stack:
    """deploybot.cli.stack with the emulator as Jenkins, on free ports; settings add variables.
    With a (started) Slack fake, both bots are Slack apps posting to it. replicas runs that
    many Rasa servers and action servers per bot. A start that failed only because another
    program took one of its ports between free_port and the bind is tried once more on new ports."""
    try:
        return _start_stack(var_dir, settings, startup_timeout, slack, replicas)
    except StackDidNotStart as error:
        if "address already in use" not in str(error):
            raise
        print(f"deploybot tests: a port was taken before the stack bound it; starting again on new ports:\n{error}",
              file=sys.stderr)
        return _start_stack(var_dir, settings, startup_timeout, slack, replicas)


def _start_stack(var_dir: Path, settings: Mapping[str, str], startup_timeout: float,
                 slack: Optional[FakeSlack], replicas: int) -> Stack:
    ports = {name: [free_port() for _ in range(replicas if name in REPLICATED else 1)] for name in PORT_VARIABLES}
    env = {**os.environ, **{k: ",".join(map(str, v)) for k, v in ports.items()},
           **{f"{bot.upper()}_API_TOKEN": token for bot, token in TOKENS.items()}, "DEPLOYBOT_CALLBACK_KEY": CHAT_KEY,
           **{f"{bot.upper()}_VOICE_DEVICES": ",".join(f"{p}:{t}" for p, t in VOICE_DEVICES.items()) for bot in TOKENS},
           "DEPLOYBOT_VAR_DIR": str(var_dir), "RASA_TELEMETRY_ENABLED": "false", "DEPLOYBOT_ADMINS": ADMIN,
           # Two-factor (issue 14): a key, and Bender's codes off unless a test's settings ask for them.
           "DEPLOYBOT_SECRET_KEY": TWO_FACTOR_KEY, "BENDER_TWO_FACTOR": "off",
           # The test harness drives Slack users' conversations over REST, Bender's too, and
           # grants, enrols and approves there (issue 22): it opts in, explicitly. Bender's
           # profile ships with REST off and with nothing allowed to a token; the attacks in
           # tests/security/test_token_channels.py run on a stack without these opt-ins.
           **HARNESS_OPT_INS,
           **(slack_settings(slack) if slack else {}), **settings}
    env.pop("JENKINS_URL", None)  # always the emulator
    var_dir.mkdir(parents=True, exist_ok=True)
    log_path = var_dir / "stack.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "deploybot.cli.stack", "--model", str(MODEL)],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + startup_timeout
    while "Ready." not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise StackDidNotStart("the stack did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(READY_POLL_SECONDS)
    every = {bot: [Bot(bot, port, ports["DEPLOYBOT_CALLBACK_PORT"][0]) for port in ports[f"{bot.upper()}_PORT"]]
             for bot in ("marvin", "bender")}
    jenkins = Jenkins(f"http://127.0.0.1:{ports['DEPLOYBOT_JENKINS_EMULATOR_PORT'][0]}",
                      f"http://127.0.0.1:{ports['DEPLOYBOT_JENKINS_EMULATOR_CONTROL_PORT'][0]}")
    return Stack(process, {bot: bots[0] for bot, bots in every.items()}, env, var_dir, jenkins, slack, every)


def stop_stack(stack: Stack) -> int:
    """SIGTERM, as a service manager stops `make serve`; returns the exit code."""
    stack.process.send_signal(signal.SIGTERM)
    return stack.process.wait(timeout=60)


def open_ports(stack: Stack) -> List[int]:
    """The stack's server ports that still accept connections (the chat's is not the stack's)."""
    still_open = []
    for name in PORT_VARIABLES:
        if name == "DEPLOYBOT_CALLBACK_PORT":
            continue
        for port in map(int, stack.env[name].split(",")):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    still_open.append(port)
    return still_open


def deployments(stack: Stack, **where) -> List["Deployment"]:
    """The deployment records, oldest first, whose columns have these values."""
    with Database(stack.database_url()).transaction() as session:
        query = select(Deployment).order_by(Deployment.id)
        for column, value in where.items():
            query = query.where(getattr(Deployment, column) == value)
        return list(session.scalars(query))


def audit_entries(stack: Stack, actor: Optional[str] = None, action: Optional[str] = None, since: int = 0) -> List["AuditEntry"]:
    """The audit log after entry `since`, oldest first, by actor and action."""
    with Database(stack.database_url()).transaction() as session:
        query = select(AuditEntry).where(AuditEntry.id > since).order_by(AuditEntry.id)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


@contextmanager
def chat_posts(port: int):
    """What the bots post into the terminal chat while the block runs, as a list of
    (path, message) pairs: a stand-in for the chat on its port (DEPLOYBOT_CALLBACK_PORT),
    where an enrolment's QR code and link go outside Slack. Not while a real chat runs there."""
    posts: list = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            ok = dict(urllib.parse.parse_qsl(url.query)).get("key") == CHAT_KEY
            if ok:
                posts.append((url.path.strip("/"), json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))))
            self.send_response(200 if ok else 403)
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield posts
    finally:
        server.shutdown()
        server.server_close()


def new_user_id() -> str:
    """A Slack-like user id of its own, so conversations never mix and grants can name it."""
    return "U" + uuid.uuid4().hex[:10].upper()


def grant(bender: Bot, user: str, app: str) -> None:
    """An admin grants the user an app, through the chat as a person would."""
    [reply] = bender.texts(ADMIN, f"@bender auth <@{user}> {app}")
    assert " may now deploy " in reply, reply


def rasa_pid(port: int) -> int:
    """The process id of the Rasa server listening on port (a replica the test may kill)."""
    found = subprocess.run(["pgrep", "-f", f"deploybot.rasa_glue.rasa_server .*--port {port}( |$)"], capture_output=True, text=True)
    [pid] = found.stdout.split()
    return int(pid)


@contextmanager
def replicated_stack(var_dir: Path, settings: Mapping[str, str]):
    """The production topology: PostgreSQL for deploybot's database and both bots' tracker
    stores, Redis for the lock store, two Rasa replicas and action servers per bot. Yields the
    stack with its .postgres and .redis (real servers from Debian's packages)."""
    from tests.services import Postgres, Redis, ServiceMissing

    postgres, redis = Postgres(), Redis()
    try:
        postgres.start()
        redis.start()
        topology = {"DEPLOYBOT_DATABASE_URL": postgres.url("deploybot"), "DEPLOYBOT_REDIS_URL": redis.url,
                    "MARVIN_TRACKER_URL": postgres.url("marvin_tracker"), "BENDER_TRACKER_URL": postgres.url("bender_tracker")}
        running = start_stack(var_dir, {**topology, **settings}, startup_timeout=600, replicas=2)
        running.postgres, running.redis = postgres, redis
        yield running
        assert stop_stack(running) == 0
        assert open_ports(running) == []
    except (ServiceMissing, StackDidNotStart) as problem:
        pytest.fail(str(problem))
    finally:
        postgres.stop()
        redis.stop()


@contextmanager
def running_stack(var_dir: Path, settings: Mapping[str, str], **options):
    """A stack with a Slack fake of its own for a fixture: started (the test fails, not errors,
    when it cannot start) and stopped afterwards, where every child must stop on SIGTERM and
    free its port, as `make serve` must."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run the tests with `make test`, which trains first")
    slack = FakeSlack().start()
    try:
        running = start_stack(var_dir, settings, slack=slack, **options)
    except StackDidNotStart as error:
        slack.stop()
        pytest.fail(str(error))
    try:
        yield running
        assert stop_stack(running) == 0
        assert open_ports(running) == []
    finally:
        slack.stop()


def start_ledger_web(database_url: str, log: Path, environment: Mapping[str, str],
                     timeout: float = 60) -> "tuple[subprocess.Popen, str]":
    """The dashboard (deploybot.ledger.web) alone on a free port, its output in log; returns
    the process and its base URL once /health answers."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEPLOYBOT_DATABASE_URL": database_url, **environment}
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "deploybot.ledger.web", "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                if answer.status == 200:
                    return process, base
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the dashboard did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.3)
