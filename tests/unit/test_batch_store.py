"""Batches in the database (deploybot.domain.batch_store), on a real SQLite and a real PostgreSQL: the
summary is due only when every app has ended and every outcome was delivered, apps ending at
the same moment are all kept, and a batch without deployments is summed up once."""
from datetime import datetime, timezone

import pytest

from deploybot.domain.batch_store import BatchStore
from deploybot.domain.catalog import load_catalog
from deploybot.domain.deploy_request import DeployRequest
from deploybot.domain.deployments import DeploymentStore, NewDeployment
from deploybot.domain.outbox import Outbox
from tests.unit.test_outbox import all_at_once

CATALOG = load_catalog()
ITEMS = [{"app": "cms", "version": "1.0.2", "kind": "deploy"}, {"app": "shop", "version": "2.0.1", "kind": "deploy"},
         {"app": "crm", "version": "5.0.0", "kind": "deploy"}]


@pytest.fixture
def batches(db_on_both) -> BatchStore:
    store = BatchStore(db_on_both)
    store.create("B1", "marvin", "theresa", "staging", ITEMS, "theresa", "rest", None)
    return store


def deployment(db, app: str, version: str, batch_id: str = "B1") -> int:
    new = NewDeployment(assistant="marvin", request=DeployRequest(app, version, "staging"), kind="deploy",
                        requested_by="theresa", conversation_id="theresa", output_channel="rest",
                        requested_at=datetime.now(timezone.utc), batch_id=batch_id)
    return DeploymentStore(db, CATALOG).begin(new).id


def finished_and_reported(db, deployment_id: int, state: str) -> None:
    store = DeploymentStore(db, CATALOG)
    store.mark_finished(deployment_id, state)
    outbox = Outbox(db)
    outbox.add(deployment_id, "outcome")
    outbox.mark_done(outbox.row(deployment_id, "outcome").id)


def test_the_summary_is_due_only_when_every_app_ended_and_was_reported(batches, db_on_both):
    db = db_on_both
    cms, shop = deployment(db, "cms", "1.0.2"), deployment(db, "shop", "2.0.1")
    assert not batches.is_over("B1")
    finished_and_reported(db, cms, "succeeded")
    DeploymentStore(db, CATALOG).mark_finished(shop, "failed", error="smoke test failed")
    batches.not_started("B1", "crm", "staging is locked.")
    assert not batches.is_over("B1")  # shop ended, but its outcome is not delivered yet
    Outbox(db).add(shop, "outcome")
    Outbox(db).mark_done(Outbox(db).row(shop, "outcome").id)
    assert batches.is_over("B1")
    assert batches.carrier("B1") == cms
    assert batches.summary("B1", CATALOG) == (
        "1 of 3 deployed to staging:\n• Content Management System 1.0.2: deployed\n"
        "• Web Shop 2.0.1: failed (smoke test failed)\n"
        "• Customer Relationship Management 5.0.0: not started (staging is locked.)")


def test_apps_ending_at_the_same_moment_are_all_kept(batches):
    reasons = {0: ("cms", "rejected by kim: no"), 1: ("shop", "expired"), 2: ("crm", "locked")}
    all_at_once(lambda n: batches.not_started("B1", *reasons[n]), count=3)
    assert batches.is_over("B1")
    assert batches.summary("B1", CATALOG).startswith("0 of 3 deployed to staging:")
    assert batches.carrier("B1") is None


def test_a_batch_without_deployments_is_summed_up_once(batches):
    for app in ("cms", "shop", "crm"):
        batches.not_started("B1", app, "no grant")
    assert sorted(all_at_once(lambda n: batches.mark_summarized("B1"))) == [False, False, False, True]


def test_an_unknown_batch_is_never_over(batches):
    batches.not_started("nope", "cms", "x")
    assert not batches.is_over("nope") and batches.get("nope") is None
