"""Runs the local stack: per bot one Rasa server and one action server, all on loopback.

    python -m deploybot.stack            # `make serve`: in the foreground until Ctrl-C/SIGTERM
    python -m deploybot.stack --chat     # `make run`: the same, plus the terminal chat

Ports come from the profiles (MARVIN_PORT, BENDER_PORT, ..._ACTIONS_PORT override them).
The Rasa HTTP API needs DEPLOYBOT_API_TOKEN; when it is unset a token is generated and
printed. Each process logs to var/log/<process>.log (DEPLOYBOT_VAR_DIR moves var/).
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from sqlalchemy.exc import SQLAlchemyError

from deploybot.profiles import ASSISTANT_ENV, AssistantProfile, load_profiles
from deploybot.storage.database import database_url, migrate
from deploybot.terminal_chat import callback_port, run_chat

HOST = "127.0.0.1"
# Tracker databases and logs; tests point this elsewhere.
VAR = Path(os.environ.get("DEPLOYBOT_VAR_DIR", "var"))
LOG_DIR = VAR / "log"
DEFAULT_MODEL = Path("models/deploybot.tar.gz")
STARTUP_TIMEOUT_SECONDS = 300
STOP_TIMEOUT_SECONDS = 15


@dataclass
class Process:
    name: str
    command: List[str]
    env: Dict[str, str]
    ready_url: str
    popen: Optional[subprocess.Popen] = None

    @property
    def log_path(self) -> Path:
        return LOG_DIR / f"{self.name}.log"


def api_token(environ: Mapping[str, str]) -> tuple[str, bool]:
    """The token that protects the Rasa HTTP API, and whether it was generated now."""
    token = environ.get("DEPLOYBOT_API_TOKEN")
    return (token, False) if token else (secrets.token_urlsafe(24), True)


def bot_callback_url(profile: AssistantProfile, port: int) -> str:
    return f"http://{HOST}:{port}/{profile.id}"


def plan(profiles: Mapping[str, AssistantProfile], model: Path, token: str, chat_port: int, environ: Mapping[str, str]) -> List[Process]:
    """The four processes of the stack, with each bot's own endpoints."""
    base = {**environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": os.getcwd()}
    processes = []
    for profile in profiles.values():
        processes.append(
            Process(
                name=f"{profile.id}-actions",
                command=[sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(profile.actions_port)],
                env={**base, ASSISTANT_ENV: profile.id, "SANIC_HOST": HOST},
                ready_url=f"http://{HOST}:{profile.actions_port}/health",
            )
        )
        processes.append(
            Process(
                name=f"{profile.id}-rasa",
                command=[
                    sys.executable, "-m", "rasa", "run",
                    "--enable-api", "--auth-token", token,
                    "--interface", HOST, "--port", str(profile.rasa_port),
                    "--model", str(model),
                    "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
                ],
                env={
                    **base,
                    ASSISTANT_ENV: profile.id,
                    "DEPLOYBOT_ACTION_SERVER_URL": f"http://{HOST}:{profile.actions_port}/webhook",
                    "DEPLOYBOT_TRACKER_DB": str(VAR / f"{profile.id}-tracker.db"),
                    "DEPLOYBOT_CALLBACK_URL": bot_callback_url(profile, chat_port),
                },
                ready_url=f"http://{HOST}:{profile.rasa_port}/status?token={token}",
            )
        )
    return processes


def is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Stack:
    def __init__(self, processes: List[Process]):
        self.processes = processes

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for process in self.processes:
            log = open(process.log_path, "ab")
            # A session of its own, so that stopping it also stops anything it spawned.
            process.popen = subprocess.Popen(
                process.command, env=process.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
            log.close()

    def wait_until_ready(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(self.processes)
        while waiting:
            self.check_alive()
            waiting = [p for p in waiting if not is_ready(p.ready_url)]
            if waiting and time.monotonic() > deadline:
                names = ", ".join(p.name for p in waiting)
                raise RuntimeError(f"not ready after {timeout:.0f} s: {names} (logs in {LOG_DIR}/)")
            if waiting:
                time.sleep(1)

    def check_alive(self) -> None:
        for process in self.processes:
            code = process.popen.poll() if process.popen else None
            if code is not None:
                raise RuntimeError(f"{process.name} exited with code {code}. Last lines of {process.log_path}:\n{log_tail(process.log_path)}")

    def stop(self) -> None:
        running = [p for p in self.processes if p.popen and p.popen.poll() is None]
        for process in running:
            _signal_group(process.popen, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in running:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process.popen, signal.SIGKILL)
                process.popen.wait()


def _signal_group(popen: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(popen.pid, sig)
    except ProcessLookupError:
        pass


class Stopped(Exception):
    pass


def _raise_stopped(signum, frame):
    raise Stopped(signal.Signals(signum).name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run Marvin and Bender locally.")
    parser.add_argument("--chat", action="store_true", help="chat with the bots in this terminal")
    parser.add_argument("--user", default=None, help="who you are in the chat (default: your login name)")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    args = parser.parse_args(argv)

    if not Path(args.model).exists():
        print(f"No trained model at {args.model}: run `make train` first.", file=sys.stderr)
        return 2
    profiles = load_profiles()
    token, generated = api_token(os.environ)
    chat_port = callback_port(os.environ)
    stack = Stack(plan(profiles, Path(args.model), token, chat_port, os.environ))

    signal.signal(signal.SIGTERM, _raise_stopped)
    signal.signal(signal.SIGINT, _raise_stopped)
    try:
        migrate(database_url())  # once, before two action servers could race to do it
        print(f"Starting {', '.join(p.name for p in profiles.values())} (logs in {LOG_DIR}/) ...", flush=True)
        stack.start()
        stack.wait_until_ready()
        for profile in profiles.values():
            print(f"{profile.name}: http://{HOST}:{profile.rasa_port} (deploys to {', '.join(profile.environments)}; actions on port {profile.actions_port})", flush=True)
        if generated:
            print(f"Rasa HTTP API token (generated; set DEPLOYBOT_API_TOKEN to choose one): {token}", flush=True)
        if args.chat:
            run_chat(profiles, chat_port, user=args.user, stack=stack)
        else:
            print("Ready. Ctrl-C stops everything.", flush=True)
            while True:
                stack.check_alive()
                time.sleep(1)
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


if __name__ == "__main__":
    sys.exit(main())
