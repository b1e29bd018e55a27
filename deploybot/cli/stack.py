"""Runs the local stack: per bot one Rasa server and one action server, all on loopback,
and, when JENKINS_URL is unset, the Jenkins emulator with quick demo builds (devtools/, a development
tool that the Docker image does not ship: there JENKINS_URL is required); and the ledger's
read-only dashboard (DEPLOYBOT_WEB_PORT, default 5090), whose one-time sign-in link is printed.

    python -m deploybot.cli.stack            # `make serve`: in the foreground until Ctrl-C/SIGTERM
    python -m deploybot.cli.stack --chat     # `make run`: the same, plus the terminal chat

Ports come from the profiles (MARVIN_PORT, BENDER_PORT, ..._ACTIONS_PORT override them).
Each bot's Rasa HTTP API, and its REST and callback channels, need that bot's API token,
<BOT>_API_TOKEN (MARVIN_API_TOKEN, BENDER_API_TOKEN); when one is unset a token is
generated and printed, and so is DEPLOYBOT_JENKINS_PUSH_TOKEN, which protects the endpoint
Jenkins' Notification plugin posts to, and DEPLOYBOT_CALLBACK_KEY, which the bots' posts into
the terminal chat carry (nothing else may print into it). A bot's action servers run actions only for callers that
send its <BOT>_ACTIONS_TOKEN (generated when unset), that is, for that bot's Rasa servers. Each process logs to var/log/<process>.log
(DEPLOYBOT_VAR_DIR moves var/).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from cryptography.fernet import Fernet
from sqlalchemy.exc import SQLAlchemyError

from deploybot.ledger.address import PORT_ENV as WEB_PORT_ENV, SECRET_ENV as WEB_SECRET_ENV, SIGNIN_TOKEN_ENV, signin_link, web_port
from deploybot.domain.catalog import load_catalog
from deploybot.domain.freeze_file import freeze_file_problem
from deploybot.domain.profiles import ASSISTANT_ENV, AssistantProfile, load_profiles
from deploybot.rasa_glue.rasa_server import ACTIONS_TOKEN_ENV, API_TOKEN_ENV
from deploybot.cli.stack_processes import (HOST, LOG_DIR, STARTUP_TIMEOUT_SECONDS, STOP_TIMEOUT_SECONDS, VAR,  # noqa: F401
                                       Process, Stack, is_ready, log_tail, port_in_use)
from deploybot.policy.step_up import build_system_problem
from deploybot.storage.database import database_url, migrate
from deploybot.adapters.terminal_chat import CALLBACK_KEY_ENV, callback_port, chat_url, management_url, run_chat
from deploybot.policy.two_factor import SECRET_KEY_ENV

DEFAULT_MODEL = Path("models/deploybot.tar.gz")
# The emulator's ports when it runs (DEPLOYBOT_JENKINS_EMULATOR_PORT / _CONTROL_PORT override).
EMULATOR_PORT, EMULATOR_CONTROL_PORT = 8090, 8091
EMULATOR_BUILD_SECONDS = 3
# Run by module name in a subprocess, never imported: the product does not depend on devtools/.
EMULATOR_MODULE = "devtools.jenkins_emulator"


def secret(environ: Mapping[str, str], name: str) -> tuple[str, bool]:
    """A secret from the environment, or a new one; and whether it was generated now."""
    value = environ.get(name)
    return (value, False) if value else (secrets.token_urlsafe(24), True)


def emulator_problem(environ: Mapping[str, str]) -> Optional[str]:
    """Why the stack cannot start without JENKINS_URL here: the emulator lives in devtools/,
    which a checkout has and the Docker image does not."""
    if environ.get("JENKINS_URL"):
        return None
    try:
        found = importlib.util.find_spec(EMULATOR_MODULE) is not None
    except ModuleNotFoundError:
        found = False
    if found:
        return None
    return (f"JENKINS_URL is not set and the Jenkins emulator ({EMULATOR_MODULE}, a development tool in a"
            " checkout's devtools/, not in the Docker image) is not here: set JENKINS_URL, JENKINS_USER"
            " and JENKINS_API_TOKEN to a real Jenkins.")


def with_jenkins_emulator(profiles: Mapping[str, AssistantProfile], push_token: str,
                          environ: Mapping[str, str]) -> tuple[Dict[str, str], Optional[Process]]:
    """JENKINS_* for the action servers: the real Jenkins when JENKINS_URL is set, else the
    emulator, which pushes its notifications to every bot's action server."""
    if environ.get("JENKINS_URL"):
        return {}, None
    port = int(environ.get("DEPLOYBOT_JENKINS_EMULATOR_PORT", EMULATOR_PORT))
    control_port = int(environ.get("DEPLOYBOT_JENKINS_EMULATOR_CONTROL_PORT", EMULATOR_CONTROL_PORT))
    user, token = "deploybot", secrets.token_hex(16)
    notify_url = " ".join(f"http://{HOST}:{port}/jenkins/notifications?token={push_token}"
                          for p in profiles.values() for port in p.actions_ports)
    process = Process(
        name="jenkins-emulator",
        command=[sys.executable, "-m", EMULATOR_MODULE, "--port", str(port),
                 "--control-port", str(control_port), "--user", user, "--catalog", "apps.yml",
                 "--build-seconds", environ.get("DEPLOYBOT_EMULATOR_BUILD_SECONDS", str(EMULATOR_BUILD_SECONDS))],
        # Secrets in the environment, not in the command line that `ps` shows.
        env={**environ, "PYTHONPATH": os.getcwd(), "JENKINS_EMULATOR_API_TOKEN": token,
             "JENKINS_EMULATOR_NOTIFY_URL": notify_url},
        ready_url=f"http://{HOST}:{control_port}/builds",
    )
    return {"JENKINS_URL": f"http://{HOST}:{port}", "JENKINS_USER": user, "JENKINS_API_TOKEN": token}, process


def bot_callback_url(profile: AssistantProfile, port: int, key: str) -> str:
    return chat_url(port, profile.id, key)


def slack_environment(profile: AssistantProfile, environ: Mapping[str, str]) -> Dict[str, str]:
    """Each bot is its own Slack app: <BOT>_SLACK_BOT_TOKEN becomes its SLACK_BOT_TOKEN."""
    prefix = profile.id.upper()
    return {
        "SLACK_BOT_TOKEN": environ.get(f"{prefix}_SLACK_BOT_TOKEN", ""),
        "SLACK_SIGNING_SECRET": environ.get(f"{prefix}_SLACK_SIGNING_SECRET", ""),
    }


# The conversation lock on Redis: deploybot's atomic one (deploybot.rasa_glue.rasa_lock_store). With
# DEPLOYBOT_REDIS_LOCKS=rasa, Rasa's own RedisLockStore, which lets two replicas into one
# conversation at once (issue 27): only for measuring it, never for serving.
REDIS_LOCK_STORES = {"deploybot": "deploybot.rasa_glue.rasa_lock_store.AtomicRedisLockStore", "rasa": "redis"}


def store_environment(profile: AssistantProfile, environ: Mapping[str, str]) -> Dict[str, str]:
    """Where a bot's Rasa servers keep conversations and take turns on them (endpoints.yml):
    a SQLite file and in-memory locks, or <BOT>_TRACKER_URL and DEPLOYBOT_REDIS_URL."""
    tracker_url = environ.get(f"{profile.id.upper()}_TRACKER_URL") or f"sqlite:///{VAR / f'{profile.id}-tracker.db'}"
    redis = urllib.parse.urlsplit(environ.get("DEPLOYBOT_REDIS_URL", ""))
    locks = environ.get("DEPLOYBOT_REDIS_LOCKS") or "deploybot"
    if locks not in REDIS_LOCK_STORES:
        raise RuntimeError(f"DEPLOYBOT_REDIS_LOCKS={locks}: one of {', '.join(REDIS_LOCK_STORES)}")
    return {
        "DEPLOYBOT_TRACKER_URL": tracker_url,
        "DEPLOYBOT_LOCK_STORE": REDIS_LOCK_STORES[locks] if redis.hostname else "in_memory",
        "DEPLOYBOT_REDIS_HOST": redis.hostname or "",
        "DEPLOYBOT_REDIS_PORT": str(redis.port or 6379) if redis.hostname else "",
    }


def replica_name(base: str, index: int) -> str:
    return base if index == 0 else f"{base}-{index + 1}"


def api_token_variable(profile: AssistantProfile) -> str:
    return f"{profile.id.upper()}_API_TOKEN"


def plan(profiles: Mapping[str, AssistantProfile], model: Path, tokens: Mapping[str, str], push_token: str,
         chat_port: int, chat_key: str, environ: Mapping[str, str]) -> List[Process]:
    """The processes of the stack, with each bot's own endpoints."""
    jenkins, emulator = with_jenkins_emulator(profiles, push_token, environ)
    base = {**environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": os.getcwd()}
    processes = [emulator] if emulator else []
    for profile in profiles.values():
        token = tokens[profile.id]  # each bot's own: one bot's token opens nothing of the other's
        slack = slack_environment(profile, environ)
        # Each bot's Rasa servers prove themselves to that bot's action servers only.
        actions_token, _ = secret(environ, f"{profile.id.upper()}_ACTIONS_TOKEN")
        for index, port in enumerate(profile.actions_ports):
            processes.append(
                Process(
                    name=replica_name(f"{profile.id}-actions", index),
                    command=[sys.executable, "-m", "deploybot.rasa_glue.action_server", "--host", HOST, "--port", str(port)],
                    env={**base, **jenkins, **slack, ASSISTANT_ENV: profile.id, API_TOKEN_ENV: token,
                         ACTIONS_TOKEN_ENV: actions_token, "DEPLOYBOT_JENKINS_PUSH_TOKEN": push_token, "DEPLOYBOT_MANAGEMENT_URL": management_url(chat_port, chat_key),
                         # where an enrolment's QR code is shown outside Slack, past the conversation
                         "DEPLOYBOT_CALLBACK_URL": bot_callback_url(profile, chat_port, chat_key)},
                    ready_url=f"http://{HOST}:{port}/health",
                )
            )
        for index, port in enumerate(profile.rasa_ports):
            # Replica i talks to action server i (modulo their number).
            actions_port = profile.actions_ports[index % len(profile.actions_ports)]
            processes.append(
                Process(
                    name=replica_name(f"{profile.id}-rasa", index),
                    command=[
                        sys.executable, "-m", "deploybot.rasa_glue.rasa_server",  # `rasa run`, token from the env
                        "--enable-api",
                        "--interface", HOST, "--port", str(port),
                        "--model", str(model),
                        "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
                    ],
                    env={
                        **base,
                        **slack,
                        **store_environment(profile, environ),
                        ASSISTANT_ENV: profile.id,
                        API_TOKEN_ENV: token,
                        ACTIONS_TOKEN_ENV: actions_token,
                        "DEPLOYBOT_ACTION_SERVER_URL": f"http://{HOST}:{actions_port}/webhook",
                        "DEPLOYBOT_CALLBACK_URL": bot_callback_url(profile, chat_port, chat_key),
                    },
                    ready_url=f"http://{HOST}:{port}/status?token={token}",
                )
            )
    return processes


def ledger_web(environ: Mapping[str, str], signin_token: str) -> Optional[Process]:
    """The ledger's dashboard (deploybot.ledger.web) with a one-time sign-in token. On its
    default port it is left out when something else listens there (another stack, say),
    rather than failing the bots; a port chosen with DEPLOYBOT_WEB_PORT must be free."""
    port = web_port(environ)
    if not environ.get(WEB_PORT_ENV) and port_in_use(port):
        print(f"Dashboard: not started, port {port} is in use (set {WEB_PORT_ENV} to choose another)", flush=True)
        return None
    cookie_secret, _ = secret(environ, WEB_SECRET_ENV)
    return Process(
        name="ledger-web",
        command=[sys.executable, "-m", "deploybot.ledger.web", "--host", HOST, "--port", str(port)],
        env={**environ, "PYTHONPATH": os.getcwd(), SIGNIN_TOKEN_ENV: signin_token, WEB_SECRET_ENV: cookie_secret},
        ready_url=f"http://{HOST}:{port}/health",
    )


class Stopped(Exception):
    pass


def _raise_stopped(signum, frame):
    raise Stopped(signal.Signals(signum).name)


@dataclass
class Keys:
    """This run's tokens and keys, and which of them were generated now (to be printed)."""
    tokens: Dict[str, str]                 # each bot's API token, by bot id
    generated: List[AssistantProfile]      # the bots whose API token was generated
    push_token: str
    push_generated: bool
    chat_key: str
    chat_key_generated: bool
    two_factor_key_generated: bool


@dataclass
class Run:
    """One start of the stack: what was asked for, the bots, their keys and the dashboard."""
    chat: bool
    user: Optional[str]
    profiles: Mapping[str, AssistantProfile]
    keys: Keys
    chat_port: int
    dashboard: Optional[Process]
    signin_token: str


def main(argv=None) -> int:
    args = arguments(argv)
    if not Path(args.model).exists():
        return refuse(f"No trained model at {args.model}: run `make train` first.")
    if args.chat:
        let_the_chat_do_everything()
    profiles = load_profiles()
    problem = startup_problem(profiles)
    if problem:
        return refuse(problem)
    keys = make_keys(profiles, args.chat)
    chat_port = callback_port(os.environ)
    # One web secret for the dashboard and the bots: the bots sign personal sign-in links with it.
    environ = {**os.environ, WEB_SECRET_ENV: secret(os.environ, WEB_SECRET_ENV)[0]}
    processes = plan(profiles, Path(args.model), keys.tokens, keys.push_token, chat_port, keys.chat_key, environ)
    signin_token = secrets.token_urlsafe(24)
    dashboard = ledger_web(environ, signin_token)
    stack = Stack(processes + ([dashboard] if dashboard else []))
    return serve(stack, Run(args.chat, args.user, profiles, keys, chat_port, dashboard, signin_token))


def arguments(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run Marvin and Bender locally.")
    parser.add_argument("--chat", action="store_true", help="chat with the bots in this terminal")
    parser.add_argument("--user", default=None, help="who you are in the chat (default: your login name)")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    return parser.parse_args(argv)


def refuse(problem: str) -> int:
    print(problem, file=sys.stderr)
    return 2


def let_the_chat_do_everything() -> None:
    # The terminal chat's people (local names, over the callback channel with this run's
    # token) may do what the README's demo shows: grants, enrolment, approvals, resets,
    # break glass. A service (`make serve`) allows none of it unless its profiles say so.
    for path in sorted(Path("assistants").glob("*.yml")):
        os.environ.setdefault(f"{path.stem.upper()}_TOKEN_CHANNELS_MAY", "all")


def startup_problem(profiles: Mapping[str, AssistantProfile]) -> Optional[str]:
    """Why the stack must not start: a trusted build system that would skip a two-factor
    code (issue 22), or no Jenkins at all."""
    refusals = [problem for problem in (build_system_problem(p, load_catalog()) for p in profiles.values()) if problem]
    refusals += [problem for problem in [freeze_file_problem([p.time_zone for p in profiles.values()], load_catalog())] if problem]
    if refusals:
        return "\n".join(refusals)
    return emulator_problem(os.environ)


def make_keys(profiles: Mapping[str, AssistantProfile], chat: bool) -> Keys:
    tokens, generated = {}, []
    for profile in profiles.values():
        tokens[profile.id], new = secret(os.environ, api_token_variable(profile))
        if new:
            generated.append(profile)
    push_token, push_generated = secret(os.environ, "DEPLOYBOT_JENKINS_PUSH_TOKEN")
    chat_key, chat_key_generated = secret(os.environ, CALLBACK_KEY_ENV)
    # Two-factor secrets are encrypted with this key (issue 14). `make run` (the chat) makes one
    # that lasts this run only; a service must be given one, or its bots refuse deploys that need codes.
    two_factor_key_generated = chat and not os.environ.get(SECRET_KEY_ENV)
    if two_factor_key_generated:
        os.environ[SECRET_KEY_ENV] = Fernet.generate_key().decode()
    return Keys(tokens, generated, push_token, push_generated, chat_key, chat_key_generated, two_factor_key_generated)


def serve(stack: Stack, run: Run) -> int:
    """Starts the stack, says how to reach it, and keeps it up until Ctrl-C or SIGTERM (or,
    with the chat, until the chat ends)."""
    signal.signal(signal.SIGTERM, _raise_stopped)
    signal.signal(signal.SIGINT, _raise_stopped)
    try:
        migrate(database_url())  # once, before two action servers could race to do it
        print(f"Starting {', '.join(p.name for p in run.profiles.values())} (logs in {LOG_DIR}/) ...", flush=True)
        stack.start()
        stack.wait_until_ready()
        announce(run)
        threading.Thread(target=stack.supervise, name="supervisor", daemon=True).start()
        if run.chat:
            run_chat(run.profiles, run.chat_port, run.keys.tokens, run.keys.chat_key, user=run.user)
        else:
            print("Ready. Ctrl-C stops everything.", flush=True)
            while True:
                time.sleep(3600)
    except Stopped:
        pass
    except (RuntimeError, SQLAlchemyError) as error:
        print(f"deploybot: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Stopping ...", flush=True)
        stack.stop()
    return 0


def announce(run: Run) -> None:
    """Once everything is ready: where each bot is, and the keys generated for this run."""
    keys = run.keys
    for profile in run.profiles.values():
        print(f"{profile.name}: http://{HOST}:{profile.rasa_port} (deploys to {', '.join(profile.environments)}; actions on port {profile.actions_port})", flush=True)
    for profile in keys.generated:
        print(f"{profile.name}'s API token (generated; set {api_token_variable(profile)} to choose one):"
              f" {keys.tokens[profile.id]}", flush=True)
    if keys.chat_key_generated and not run.chat:
        print(f"Terminal chat key (generated; set {CALLBACK_KEY_ENV} to choose one): {keys.chat_key}", flush=True)
    if keys.push_generated and os.environ.get("JENKINS_URL"):
        print(f"Jenkins push token (generated; set DEPLOYBOT_JENKINS_PUSH_TOKEN to choose one): {keys.push_token}", flush=True)
    if keys.two_factor_key_generated:
        print(f"Two-factor key (generated: enrolments last until the stack stops; set {SECRET_KEY_ENV}"
              " to keep them, `python -m deploybot.policy.two_factor --new-key` makes one)", flush=True)
    elif not os.environ.get(SECRET_KEY_ENV):
        print(f"Two-factor: {SECRET_KEY_ENV} is not set, so deploys that need a code are refused"
              " (`python -m deploybot.policy.two_factor --new-key` makes one)", flush=True)
    if run.dashboard:
        print(f"Dashboard (read-only; this sign-in link works once): {signin_link(web_port(os.environ), run.signin_token)}", flush=True)
    if not os.environ.get("JENKINS_URL"):
        print(f"Jenkins: the emulator ({LOG_DIR}/jenkins-emulator.log); set JENKINS_URL to use a real Jenkins", flush=True)


if __name__ == "__main__":
    sys.exit(main())
