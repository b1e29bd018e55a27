"""Footprint: how long the full model takes to train, the resident memory of the stack's
processes, and the size of the model archive."""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List

from tests.support import ROOT, Stack


def train_full_model(out_dir: Path) -> (float, Path):
    """Seconds for `rasa train --force` of the whole project (NLU and dialogue) into out_dir."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "rasa", "train", "--force", "--out", str(out_dir), "--fixed-model-name", "deploybot"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started, out_dir / "deploybot.tar.gz"


@dataclass
class Resident:
    process: str
    pid: int
    rss_mb: float


def vm_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    raise ValueError(f"no VmRSS for pid {pid}")


def pids(pattern: str) -> List[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def stack_memory(stack: Stack) -> List[Resident]:
    """VmRSS of both Rasa servers and both action servers of the stack (found by their ports)."""
    patterns = {}
    for bot in ("marvin", "bender"):
        rasa_port, actions_port = stack.env[f"{bot.upper()}_PORT"], stack.env[f"{bot.upper()}_ACTIONS_PORT"]
        patterns[f"{bot} Rasa server"] = f"deploybot.rasa_glue.rasa_server .*--port {rasa_port}( |$)"
        patterns[f"{bot} action server"] = f"deploybot.rasa_glue.action_server --host 127.0.0.1 --port {actions_port}( |$)"
    return [Resident(name, pid, vm_rss_mb(pid)) for name, pattern in patterns.items() for pid in pids(pattern)]


def size_mb(path: Path) -> float:
    return path.stat().st_size / 1024 / 1024
