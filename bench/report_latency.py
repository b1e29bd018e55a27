"""How long after a build ends its report is in the conversation: with Jenkins' Notification
pushes, and with polling alone (pushes dropped by the emulator). The stack runs with the
production poll interval from the profiles.

    .venv/bin/python -m bench.report_latency [--runs 8]

For each run: "deploy ... yes", wait for the outcome report, then compare the emulator's
finished_at with the tracker timestamp of the report. Same machine, same clock.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List

from tests.support import Stack, new_user_id, start_stack, stop_stack

APPS = ["cms", "shop", "crm", "billing", "search", "intranet"]
NAMES = {"cms": "Content Management System", "shop": "Web Shop", "crm": "Customer Relationship Management",
         "billing": "Billing Service", "search": "Search API", "intranet": "Intranet Portal"}


def job(app: str) -> str:
    """The app's Jenkins job in apps.yml."""
    return f"deploy-{app}" if app != "intranet" else "intranet/deploy"


def one_run(stack: Stack, app: str, version: str, build_seconds: float) -> float:
    marvin, user = stack.bots["marvin"], new_user_id()
    stack.jenkins.control("POST", "/next-build", {"job": job(app), "seconds": build_seconds})
    marvin.texts(user, f"deploy {app} {version}")
    [reply] = marvin.texts(user, "yes")
    assert reply.startswith("OK, deploying"), reply
    prefix = f"{NAMES[app]}: deployed version {version}"
    marvin.wait_for(user, prefix, timeout=120)
    reported = next(e["timestamp"] for e in marvin.tracker(user)["events"]
                    if e["event"] == "bot" and (e.get("text") or "").startswith(prefix))
    [build] = [b for b in stack.jenkins.control("GET", "/builds") if b["parameters"].get("REQUESTED_BY") == user]
    return reported - build["finished_at"]


def measure(stack: Stack, runs: int, push: bool, first_version: int) -> List[float]:
    stack.jenkins.control("POST", "/settings", {"push": push})
    delays = []
    for n in range(runs):
        # Build lengths spread over the poll interval, so polling's delay is not always the same.
        build_seconds = 2 + (n * 1.7) % 5
        delays.append(one_run(stack, APPS[n % len(APPS)], f"{first_version}.{n}.0", build_seconds))
        time.sleep(0.5)  # let the build's job finish in Jenkins before the next one
    return delays


def summary(label: str, delays: List[float]) -> str:
    return (f"{label}: median {statistics.median(delays):.2f} s, min {min(delays):.2f} s, max {max(delays):.2f} s"
            f" over {len(delays)} builds")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as var_dir:
        stack = start_stack(Path(var_dir), {})
        try:
            with_push = measure(stack, args.runs, push=True, first_version=1)
            polling = measure(stack, args.runs, push=False, first_version=2)
        finally:
            stop_stack(stack)
    print("Time from a build ending in Jenkins to its report in the conversation")
    print(summary("with push   ", with_push))
    print(summary("polling only", polling) + " (poll interval from assistants/marvin.yml)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
