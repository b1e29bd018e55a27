"""The dashboard's in-memory metrics (deploybot/ledger/fact_store.py) give exactly the numbers
of deploybot.ledger.metrics (the computation tested on fixed ledgers), on generated ledgers,
for periods, time zones and filters, on SQLite and PostgreSQL, and follow the database as it
changes."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, update

from deploybot.ledger import dora
from deploybot.ledger.fact_store import FactStore
from deploybot.ledger.metrics import metrics_by_target
from deploybot.ledger.periods import period
from deploybot.storage.models import Deployment
from devtools.ledger_sample import deployments

END = datetime(2026, 12, 31, 12, 0, tzinfo=timezone.utc)
PERIODS = [("2026-01-01", "2026-12-31", "UTC"), ("2026-03-01", "2026-04-15", "Europe/Berlin"),
           ("2026-10-20", "2026-11-02", "America/New_York"), ("2026-12-01", "2026-12-31", "Asia/Kolkata"),
           ("2026-07-04", "2026-07-04", "Pacific/Auckland"), ("2025-01-01", "2025-01-31", "UTC")]
FILTERS = [(None, None), ("production", None), ("staging", "shop"), (None, "cms"), ("production", "nosuchapp")]


def from_database(db, chosen, environment, app):
    with db.transaction() as session:
        return metrics_by_target(session, chosen, environment, app)


@pytest.fixture
def ledger(db_on_both):
    # Many failures and rollbacks (so outages, restores and the lookahead's edge occur), over a year.
    rows = deployments(6000, END, 365, seed=3)
    for index, row in enumerate(rows):
        if index % 7 in (1, 2) and row["state"] == "succeeded":
            row.update(state="failed")
    with db_on_both.transaction() as session:
        session.execute(insert(Deployment), rows)
    return db_on_both


def test_the_same_numbers_as_the_database_computation(ledger):
    store = FactStore(ledger)
    year = store.metrics_by_target(period("2026-01-01", "2026-12-31", "UTC"))[("production", None)]
    assert year.restores and year.rolled_back and year.failures and year.unrestored  # every kind of number occurs
    for since, until, tz in PERIODS:
        chosen = period(since, until, tz)
        for environment, app in FILTERS:
            assert store.metrics_by_target(chosen, environment, app) == from_database(ledger, chosen, environment, app), \
                (since, until, tz, environment, app)


def test_an_outage_longer_than_the_lookahead_counts_as_not_restored_as_in_the_database(db_on_both):
    start = datetime(2026, 5, 31, 20, tzinfo=timezone.utc)
    rows = deployments(1, start, 1)  # one template row
    template = {**rows[0], "state": "failed", "active_key": None, "app": "crm", "environment": "production"}
    sequence = [dict(template, requested_at=start + timedelta(hours=n), finished_at=start + timedelta(hours=n, minutes=5),
                     state="succeeded" if n in (0, 30) else "failed") for n in range(31)]
    with db_on_both.transaction() as session:
        session.execute(insert(Deployment), sequence)
    chosen = period("2026-05-31", "2026-05-31", "UTC")   # holds n = 0..3; the success at n = 30 is 27 later
    found = FactStore(db_on_both).metrics_by_target(chosen)
    assert found == from_database(db_on_both, chosen, None, None)
    assert found[("production", None)].unrestored == 1


def test_it_follows_new_and_changing_deployments(ledger):
    store = FactStore(ledger)
    chosen = period("2026-12-01", "2026-12-31", "UTC")
    store.metrics_by_target(chosen)
    newest = max(r["requested_at"] for r in deployments(6000, END, 365, seed=3))
    extra = dict(deployments(1, END, 1)[0], app="intranet", environment="staging", state="running", active_key=None,
                 requested_at=newest + timedelta(minutes=1), finished_at=None)
    with ledger.transaction() as session:
        record = Deployment(**extra)
        session.add(record)
        session.flush()
        new_id = record.id
    assert store.metrics_by_target(chosen) == from_database(ledger, chosen, None, None)
    with ledger.transaction() as session:
        session.execute(update(Deployment).where(Deployment.id == new_id)
                        .values(state="succeeded", finished_at=newest + timedelta(minutes=9)))
    after = store.metrics_by_target(chosen)
    assert after == from_database(ledger, chosen, None, None)
    assert after[("staging", "intranet")].successes >= 1


def test_a_deployment_committed_late_with_a_lower_id_is_found(ledger):
    # On PostgreSQL, ids come from a sequence at insert time: a transaction that commits
    # later can hold a lower id than rows already read.
    with ledger.transaction() as session:
        late = session.get(Deployment, session.scalar(select(func.max(Deployment.id))) - 10)
        values = {c.name: getattr(late, c.name) for c in Deployment.__table__.columns}
        session.delete(late)
    store = FactStore(ledger)
    chosen = period("2026-12-01", "2026-12-31", "UTC")
    without = store.metrics_by_target(chosen)
    with ledger.transaction() as session:
        session.execute(insert(Deployment), [values])
    assert store.metrics_by_target(chosen) == from_database(ledger, chosen, None, None) != without


def test_doras_keys_from_memory_are_those_from_the_database(db_on_both):
    # Commit times on two of three deployments (the rest unknown), failures and rollbacks, a year.
    rows = deployments(3000, END, 365, seed=5)
    for index, row in enumerate(rows):
        if index % 7 in (1, 2) and row["state"] == "succeeded":
            row.update(state="failed")
        # every row names the column: a bulk insert takes its columns from the first row
        row["commit_at"] = row["requested_at"] - timedelta(hours=index % 50, seconds=index) if index % 3 else None
    with db_on_both.transaction() as session:
        session.execute(insert(Deployment), rows)
    store, apps = FactStore(db_on_both), ["cms", "shop", "crm", "billing", "search", "nosuchapp"]
    year = dora.compare_in_memory(store, "production", period("2026-01-01", "2026-12-31", "UTC"), apps).now[None]
    assert year.lead_times and year.lead_unknown and year.change_failures and year.restores and year.failed_builds
    for since, until, tz in PERIODS:
        chosen = period(since, until, tz)
        for environment in ("production", "staging"):
            with db_on_both.transaction() as session:
                expected = dora.compare(session, environment, chosen, apps)
            assert dora.compare_in_memory(store, environment, chosen, apps) == expected, (since, until, tz, environment)
