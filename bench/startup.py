"""Start-up, memory and parse speed of the local stack, in one short run (about a minute):

- seconds from starting `deploybot.cli.stack` until both bots are ready (it prints "Ready."
  once both Rasa servers answer; checked here every 0.2 s);
- VmRSS of both Rasa servers and both action servers, after 30 warm-up parses and 300
  measured ones (both bots);
- `/model/parse` p50 and p95 on Marvin, one request at a time, and whether each Rasa
  server has TensorFlow loaded (libtensorflow in /proc/<pid>/maps).

    PYTHONPATH=. .venv/bin/python -m bench.startup      (needs models/deploybot.tar.gz)
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.footprint import stack_memory
from tests.conftest import TEST_SETTINGS
from tests.support import start_stack, stop_stack

MESSAGES = ["deploy cms 1.0.2 to staging", "who can deploy billing?", "lock production", "status of shop",
            "thanks marvin", "roll back crm on prod", "give kim.lee access to search", "what apps are there"]


def has_tensorflow(pid: int) -> bool:
    return "libtensorflow" in Path(f"/proc/{pid}/maps").read_text()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="startup-") as var:
        started = time.monotonic()
        stack = start_stack(Path(var), TEST_SETTINGS)
        ready = time.monotonic() - started
        try:
            marvin, bender = stack.bots["marvin"], stack.bots["bender"]
            for i in range(30):
                marvin.parse(MESSAGES[i % len(MESSAGES)])
                bender.parse(MESSAGES[i % len(MESSAGES)])
            timings = []
            for i in range(300):
                before = time.perf_counter()
                marvin.parse(MESSAGES[i % len(MESSAGES)])
                timings.append((time.perf_counter() - before) * 1000)
                bender.parse(MESSAGES[i % len(MESSAGES)])
            memory = stack_memory(stack)
            tensorflow = {r.pid: has_tensorflow(r.pid) for r in memory}
        finally:
            stop_stack(stack)
    timings.sort()
    print(f"both bots ready after {ready:.1f} s (checked every 0.2 s)")
    print(f"/model/parse on Marvin: p50 {statistics.median(timings):.1f} ms, p95 {timings[int(len(timings) * 0.95)]:.1f} ms")
    for resident in memory:
        loaded = f", TensorFlow {'loaded' if tensorflow[resident.pid] else 'not loaded'}" if "Rasa" in resident.process else ""
        print(f"{resident.process}: {resident.rss_mb:.0f} MB{loaded}")


if __name__ == "__main__":
    main()
