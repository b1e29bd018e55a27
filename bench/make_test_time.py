"""How long `make test` takes on a clean clone, which `make bench` cannot measure itself
(it would take most of its 20 minutes): `.ci/run` times the README's test command and
records it here; the bench reads the newest record and says where it comes from.

    .venv/bin/python -m bench.make_test_time --seconds 518 --exit-code 0 --clean-clone   (what .ci/run does)

Records: results/make-test-time.json, written by .ci/run in the clone it ran in, and
docs/make-test-time.json, the last clean-clone figure kept in the repository (copy a CI
record there to keep it).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
CI_RECORD = ROOT / "results" / "make-test-time.json"
KEPT_RECORD = ROOT / "docs" / "make-test-time.json"


def head_commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def commits_since(commit: str) -> Optional[int]:
    """How many commits HEAD is ahead of the measured one (None when git does not know it)."""
    done = subprocess.run(["git", "rev-list", "--count", f"{commit}..HEAD"], cwd=ROOT, capture_output=True, text=True)
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip().isdigit() else None


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def latest() -> Optional[dict]:
    """The newest record of the two (by date), with the file it came from; None without one."""
    records = []
    for path in (CI_RECORD, KEPT_RECORD):
        if path.exists():
            record = json.loads(path.read_text())
            records.append({**record, "file": str(path.relative_to(ROOT))})
    return max(records, key=lambda r: r["date"]) if records else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="records one timed `make test` run")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--exit-code", type=int, required=True)
    parser.add_argument("--clean-clone", action="store_true", help="nothing was set up or trained before the run")
    parser.add_argument("--out", type=Path, default=CI_RECORD)
    args = parser.parse_args(argv)
    record = {"seconds": round(args.seconds, 1), "exit_code": args.exit_code, "clean_clone": args.clean_clone,
              "commit": head_commit(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "load_average_after": load_average(), "source": ".ci/run"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"make test: {args.seconds:.0f} s, exit code {args.exit_code} (recorded in {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
