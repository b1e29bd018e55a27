"""The report outbox's lease and said-mark, on a real SQLite and a real PostgreSQL (tests/services.py
starts one): one taker at a time, an expired lease taken again, a released row taken at
once, the said-mark won once."""
import time
from datetime import datetime, timezone
from threading import Barrier, Thread

import pytest

from deploybot.domain.catalog import load_catalog
from deploybot.domain.deploy_request import DeployRequest
from deploybot.domain.deployments import DeploymentStore, NewDeployment
from deploybot.domain.outbox import Outbox, management_kind

CATALOG = load_catalog()
TAKERS = 4


@pytest.fixture
def db(db_on_both):
    return db_on_both


@pytest.fixture
def outbox(db) -> Outbox:
    return Outbox(db)


@pytest.fixture
def deployment_id(db) -> int:
    new = NewDeployment(assistant="bender", request=DeployRequest("cms", "1.0.2", "production"), kind="deploy",
                        requested_by="theresa", conversation_id="theresa", output_channel="rest",
                        requested_at=datetime.now(timezone.utc))
    return DeploymentStore(db, CATALOG).begin(new).id


def all_at_once(call, count: int = TAKERS) -> list:
    """Runs call(n) in `count` threads released together; returns their answers."""
    barrier, answers = Barrier(count), []

    def run(n):
        barrier.wait()
        answers.append(call(n))

    threads = [Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_report_is_added_once_however_often_it_falls_due(outbox, deployment_id):
    all_at_once(lambda n: outbox.add(deployment_id, "start"))
    outbox.add(deployment_id, "start")
    assert [row.kind for row in outbox.rows(deployment_id)] == ["start"]


def test_a_lease_is_taken_by_one_of_several_concurrent_takers(outbox, deployment_id):
    for report in ("start", "outcome"):
        outbox.add(deployment_id, report)
        row = outbox.row(deployment_id, report)
        assert sorted(all_at_once(lambda n: outbox.take(row.id, f"watcher-{n}", 60))) == [False] * (TAKERS - 1) + [True]
        assert not outbox.take(row.id, "watcher-late", 60)


def test_an_expired_lease_is_taken_again_and_a_done_row_never(outbox, deployment_id):
    outbox.add(deployment_id, "start")
    row = outbox.row(deployment_id, "start")
    assert outbox.take(row.id, "died-mid-send", 0.5)
    assert not outbox.take(row.id, "restarted", 60)  # the lease still runs
    time.sleep(0.7)
    assert outbox.take(row.id, "restarted", 60)
    assert outbox.row(deployment_id, "start").leased_by == "restarted"
    assert outbox.row(deployment_id, "start").attempts == 2
    assert outbox.mark_done(row.id) and not outbox.mark_done(row.id)
    time.sleep(0.1)
    assert not outbox.take(row.id, "anyone", 0)


def test_a_released_row_is_taken_at_once_but_only_its_holder_releases_it(outbox, deployment_id):
    outbox.add(deployment_id, "outcome")
    row = outbox.row(deployment_id, "outcome")
    assert outbox.take(row.id, "first", 60)
    outbox.release(row.id, "someone-else")
    assert not outbox.take(row.id, "second", 60)
    outbox.release(row.id, "first")  # a clean failure: no need to wait for the lease
    assert outbox.take(row.id, "second", 60)


def test_the_said_mark_is_won_once_and_only_for_a_due_report(outbox, deployment_id):
    assert not outbox.mark_said(deployment_id, "start")  # not due: nobody put it in the outbox
    outbox.add(deployment_id, "start")
    assert sorted(all_at_once(lambda n: outbox.mark_said(deployment_id, "start"))) == [False] * (TAKERS - 1) + [True]
    assert not outbox.mark_said(deployment_id, "start")
    assert outbox.is_said(outbox.row(deployment_id, "start").id)


def test_a_delivered_outcome_is_recorded_on_the_deployment_with_the_posts_that_follow_it(db, outbox, deployment_id):
    store = DeploymentStore(db, CATALOG)
    store.mark_finished(deployment_id, "succeeded")
    outbox.add(deployment_id, "outcome")
    row = outbox.row(deployment_id, "outcome")
    kinds = [management_kind("log"), management_kind("slack")]
    assert all_at_once(lambda n: outbox.mark_done(row.id, then=kinds)).count(True) == 1
    assert [r.kind for r in outbox.rows(deployment_id)] == ["outcome", "management:log", "management:slack"]
    assert store.get(deployment_id).outcome_reported_at is not None
    assert store.get(deployment_id).start_reported_at is None
    assert outbox.deployments_with_pending("bender") == [deployment_id]
    assert outbox.deployments_with_pending("marvin") == []
