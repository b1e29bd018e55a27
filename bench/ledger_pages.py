"""How long each dashboard page takes with a generated year of 100,000 deployments, on SQLite
and on a real PostgreSQL (issue 17's goal: every page under 300 ms).

    PYTHONPATH=. nice -n 10 .venv/bin/python -m bench.ledger_pages [--runs 3] [--warm 5] [--databases sqlite postgresql]

For each database it generates the year once (devtools.ledger_sample, as the tests do),
then per run starts a fresh dashboard (python -m deploybot.ledger.web; nothing cached) and
asks every page once (first time) and --warm times more (warm: the database's caches and
the dashboard's 30-second metrics cache are warm). It prints a table of medians over the
runs: first time, warm, and the slowest single request. PostgreSQL is started like the
tests start it (tests/services.py: Debian's server in a temporary directory).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import requests
from sqlalchemy import func, select

from deploybot.storage.database import Database, migrate
from deploybot.storage.models import Deployment
from devtools.ledger_sample import END, fill
from tests.support import start_ledger_web

DEPLOYMENTS = 100_000
AUDIT = 5_000
TOKEN = "bench-token"
TODAY = END.date().isoformat()
YEAR = f"since=2026-01-01&until={TODAY}"
PAGES = [
    "/", "/history", "/history?page=2", "/history?page=1000", "/history?page=2000",
    "/history?app=cms&environment=production&state=failed",
    "/history?person=theresa&since=2026-06-01&until=2026-06-30&tz=Europe/Berlin",
    "/deployments/{some_id}", "/audit", "/audit?action=grant&outcome=done&page=2",
    "/metrics", "/metrics?environment=staging&app=shop", "/metrics/chart/frequency.svg",
    f"/metrics?{YEAR}", f"/metrics?{YEAR}&environment=production", f"/metrics?{YEAR}&environment=staging&app=shop",
    f"/metrics/chart/frequency.svg?{YEAR}", f"/metrics/chart/deploy-time.svg?{YEAR}",
    f"/metrics/chart/failures.svg?{YEAR}", f"/metrics/chart/restore.svg?{YEAR}",
]


def start_dashboard(url: str, log: Path):
    process, base = start_ledger_web(url, log, {"DEPLOYBOT_WEB_SIGNIN_TOKEN": TOKEN, "DEPLOYBOT_WEB_SECRET": "bench-secret",
                                                "DEPLOYBOT_WEB_TIMEZONE": "UTC"}, timeout=120)
    session = requests.Session()
    assert session.get(f"{base}/signin?token={TOKEN}", allow_redirects=False).status_code == 302
    return process, base, session


def one_run(url: str, log: Path, some_id: int, warm: int) -> Dict[str, tuple]:
    process, base, session = start_dashboard(url, log)
    try:
        times = {}
        for page in PAGES:
            path = page.format(some_id=some_id)
            samples = []
            for _ in range(1 + warm):
                started = time.perf_counter()
                answer = session.get(base + path, timeout=120, allow_redirects=False)
                samples.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
            times[page] = (samples[0], statistics.median(samples[1:]), max(samples))
        return times
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(name: str, url: str, directory: Path, runs: int, warm: int) -> Dict[str, List[tuple]]:
    migrate(url)
    started = time.monotonic()
    database = Database(url)
    fill(database, DEPLOYMENTS, AUDIT)
    with database.transaction() as session:
        some_id = session.scalar(select(func.max(Deployment.id)).where(Deployment.state == "failed"))
        if database.engine.dialect.name == "postgresql":
            session.execute(__import__("sqlalchemy").text("ANALYZE"))
    database.engine.dispose()
    print(f"{name}: {DEPLOYMENTS:,} deployments generated in {time.monotonic() - started:.1f} s", file=sys.stderr)
    results: Dict[str, List[tuple]] = {page: [] for page in PAGES}
    for run in range(runs):
        for page, figures in one_run(url, directory / f"web-{name}-{run}.log", some_id, warm).items():
            results[page].append(figures)
        print(f"{name}: run {run + 1} of {runs} done", file=sys.stderr)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh dashboards per database (default 3)")
    parser.add_argument("--warm", type=int, default=5, help="warm requests per page and run (default 5)")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args(argv)
    tables = {}
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        directory = Path(tmp)
        for name in args.databases:
            if name == "sqlite":
                tables[name] = measure(name, f"sqlite:///{directory / 'deploybot.db'}", directory, args.runs, args.warm)
            else:
                from tests.services import Postgres
                postgres = Postgres().start()
                try:
                    tables[name] = measure(name, postgres.url("deploybot"), directory, args.runs, args.warm)
                finally:
                    postgres.stop()
    print(f"\nDashboard pages with {DEPLOYMENTS:,} deployments and {AUDIT:,} audit entries: milliseconds, median over"
          f" {args.runs} fresh dashboards of the first request (nothing cached) and of the median of {args.warm} more"
          f" (warm), and the slowest request seen. {os.cpu_count()} cores, load average"
          f" {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end.\n")
    header = "| page | " + " | ".join(f"{db} first | {db} warm | {db} slowest" for db in tables) + " |"
    print(header)
    print("|---|" + "---:|" * (3 * len(tables)))
    over = []
    for page in PAGES:
        cells = []
        for db, results in tables.items():
            first = statistics.median(f[0] for f in results[page]) * 1000
            warm = statistics.median(f[1] for f in results[page]) * 1000
            slowest = max(f[2] for f in results[page]) * 1000
            cells += [f"{first:.0f}", f"{warm:.0f}", f"{slowest:.0f}"]
            if first > 300 or warm > 300:
                over.append(f"{db} {page}")
        print(f"| `{page.replace('{some_id}', '<failed id>')}` | " + " | ".join(cells) + " |")
    print("\nOver 300 ms (median first or warm): " + (", ".join(over) if over else "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
