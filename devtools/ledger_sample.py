"""A generated ledger: a year of deployments, grants, refusals and locks, the same every time
(a fixed seed). For the tests at scale, the demo and the screenshots in docs/ledger.md:

    DEPLOYBOT_DATABASE_URL=sqlite:///var/demo.db python -m devtools.ledger_sample --deployments 100000

Written with bulk inserts: 100,000 deployments take seconds, not minutes.
"""
from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from typing import List, Sequence

from sqlalchemy import insert

from deploybot.storage.database import Database, database_url, migrate
from deploybot.storage.models import AuditEntry, Deployment, Lock

APPS = ("cms", "shop", "crm", "billing", "search", "intranet")
PEOPLE = ("theresa", "jbrueder", "amelia", "kofi", "ines", "ravi", "mei", "oskar", "lena", "tom")
# state: weight (of the deployments that are not the last, still running one)
OUTCOMES = {"succeeded": 86, "failed": 6, "timed_out": 2, "aborted": 3, "failed_to_start": 3}
ROLLBACK_SHARE = 0.03
END = datetime(2026, 12, 31, 12, 0, tzinfo=timezone.utc)


def deployments(count: int, end: datetime = END, days: int = 365, seed: int = 17,
                apps: Sequence[str] = APPS) -> List[dict]:
    """count deployments spread over the days before end, oldest first; the newest of cms on
    production is still running."""
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    moments = sorted(start + timedelta(seconds=rng.uniform(0, days * 86400 - 3600)) for _ in range(count))
    versions = {(app, env): [1, 0, 0] for app in apps for env in ("staging", "production")}
    rows = []
    for index, requested in enumerate(moments):
        app, env = rng.choice(apps), rng.choice(("staging", "staging", "production"))
        rollback = rng.random() < ROLLBACK_SHARE
        version = versions[(app, env)]
        if not rollback:
            version[2] += 1
        state = rng.choices(list(OUTCOMES), weights=list(OUTCOMES.values()))[0]
        confirmed = requested + timedelta(seconds=rng.uniform(3, 40))
        queued = confirmed + timedelta(seconds=1) if state != "failed_to_start" else None
        started = queued + timedelta(seconds=rng.uniform(2, 60)) if queued else None
        build = rng.uniform(120, 900) if state != "timed_out" else 1800
        finished = (started or confirmed) + timedelta(seconds=build if started else 2)
        number = index + 1
        rows.append(dict(
            assistant="bender" if env == "production" else "marvin", app=app, environment=env,
            version=".".join(map(str, version)), kind="rollback" if rollback else "deploy",
            requested_by=rng.choice(PEOPLE), state=state, active_key=None, jenkins_job=f"deploy-{app}",
            queue_id=number if queued else None, build_number=number if started else None,
            build_url=f"https://jenkins.example.com/job/deploy-{app}/{number}/" if started else None,
            estimated_duration_ms=400_000 if started else None,
            jenkins_result={"succeeded": "SUCCESS", "failed": "FAILURE", "aborted": "ABORTED"}.get(state),
            error="Jenkins at https://jenkins.example.com is unreachable" if state == "failed_to_start" else None,
            console_tail="+ ./deploy.sh\nERROR: health check failed after 3 attempts\nBuild step 'Execute shell' marked build as failure\nFinished: FAILURE" if state == "failed" else None,
            conversation_id=f"conversation-{number}", output_channel="slack" if number % 3 else "rest",
            reply_to='{"channel": "C0DEPLOYS", "thread_ts": "1767000000.000100"}' if number % 3 else None,
            requested_at=requested, confirmed_at=confirmed, queued_at=queued, started_at=started, finished_at=finished,
            start_reported_at=started, outcome_reported_at=finished,
        ))
    running = rows[-1]
    running.update(app="cms", environment="production", assistant="bender", state="running",
                   active_key="cms/production", finished_at=None, jenkins_result=None, outcome_reported_at=None,
                   started_at=end - timedelta(minutes=2), estimated_duration_ms=400_000,
                   queue_id=count, build_number=count, build_url=f"https://jenkins.example.com/job/deploy-cms/{count}/")
    return rows


def audit_entries(count: int, end: datetime = END, days: int = 365, seed: int = 18) -> List[dict]:
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    rows = []
    for _ in range(count):
        action = rng.choice(("grant", "grant", "revoke", "deploy", "lock", "unlock", "rest_request"))
        outcome = "refused" if action in ("deploy", "rest_request") else rng.choice(("done", "done", "unchanged"))
        rows.append(dict(at=start + timedelta(seconds=rng.uniform(0, days * 86400)), assistant="bender",
                         actor=rng.choice(("jbrueder", "UADMIN0001")) if action in ("grant", "revoke") else rng.choice(PEOPLE),
                         action=action, outcome=outcome,
                         target_user=rng.choice(PEOPLE) if action in ("grant", "revoke") else None,
                         app=rng.choice(APPS) if action != "rest_request" else None,
                         environment="production" if action in ("lock", "unlock", "deploy") else None,
                         detail="not granted" if action == "deploy" else ("no valid API token" if action == "rest_request" else None)))
    return sorted(rows, key=lambda r: r["at"])


def fill(database: Database, count: int, audit_count: int = 0, end: datetime = END, days: int = 365) -> None:
    """Writes the generated ledger into an empty, migrated database."""
    rows = deployments(count, end, days)
    with database.transaction() as session:
        for offset in range(0, len(rows), 5000):
            session.execute(insert(Deployment), rows[offset:offset + 5000])
        if audit_count:
            session.execute(insert(AuditEntry), audit_entries(audit_count, end, days))
        session.add(Lock(scope="production/shop", environment="production", app="shop",
                         reason="load tests until Friday", locked_by="jbrueder", locked_at=end - timedelta(hours=3)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Fill an empty deploybot database with a generated year.")
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=5_000)
    args = parser.parse_args(argv)
    url = database_url()
    migrate(url)
    fill(Database(url), args.deployments, args.audit)
    print(f"{args.deployments} deployments and {args.audit} audit entries written to {url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
