"""The processes of the local stack (deploybot.cli.stack) and their supervision: each started in
a session of its own with its output in var/log/<process>.log, waited for until it answers
its ready URL, started again when it dies, and stopped (SIGTERM, then SIGKILL) at the end."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

HOST = "127.0.0.1"
# Tracker databases and logs; tests point this elsewhere.
VAR = Path(os.environ.get("DEPLOYBOT_VAR_DIR", "var"))
LOG_DIR = VAR / "log"
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


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


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
        self.stopping = threading.Event()
        self._restarting = threading.Lock()  # stop() must not miss a process started just now

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for process in self.processes:
            self._launch(process)

    @staticmethod
    def _launch(process: Process) -> None:
        log = open(process.log_path, "ab")
        # A session of its own, so that stopping it also stops anything it spawned.
        process.popen = subprocess.Popen(
            process.command, env=process.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()

    def supervise(self) -> None:
        """Once everything has started: a process that dies is started again, as a service
        manager would. The watcher then resumes every unfinished deployment."""
        while not self.stopping.wait(1):
            with self._restarting:
                for process in self.processes:
                    code = process.popen.poll()
                    if code is not None and not self.stopping.is_set():
                        print(f"{process.name} exited with code {code}; starting it again (log: {process.log_path})", flush=True)
                        self._launch(process)

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
        with self._restarting:
            self.stopping.set()
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
