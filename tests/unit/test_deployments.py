"""Deployment records, locks and report texts, on a real SQLite database."""
from datetime import datetime, timedelta, timezone
from threading import Barrier, Thread

import pytest

from deploybot.domain.catalog import CatalogError, load_catalog
from deploybot.domain.deploy_request import DeployRequest, RequestRejected
from deploybot.domain.deployments import AlreadyDeploying, DeploymentStore, NewDeployment
from deploybot.domain.locks import NO_REASON, Locks
from deploybot.delivery.reports import about, outcome_report, start_report
from deploybot.storage.database import Database, migrate

CATALOG = load_catalog()


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'deploybot.db'}"
    migrate(url)
    return Database(url)


def new(app="cms", version="1.0.2", environment="staging", user="theresa"):
    return NewDeployment(assistant="marvin", request=DeployRequest(app, version, environment), kind="deploy",
                         requested_by=user, conversation_id=user, output_channel="rest",
                         requested_at=datetime.now(timezone.utc))


def test_only_one_active_deployment_per_app_and_environment(db):
    store = DeploymentStore(db, CATALOG)
    first = store.begin(new())
    store.mark_queued(first.id, 7)
    store.mark_running(first.id, 41, "http://jenkins/job/deploy-cms/41/", 361000, datetime.now(timezone.utc) - timedelta(minutes=2))
    with pytest.raises(AlreadyDeploying) as refusal:
        store.begin(new(version="1.0.3", user="jbrueder"))
    assert str(refusal.value) == "cms is already being deployed to staging by theresa (version 1.0.2, build #41, started 2 min ago)."
    store.begin(new(environment="production"))  # another environment is free
    assert store.mark_finished(first.id, "succeeded", jenkins_result="SUCCESS")
    assert not store.mark_finished(first.id, "failed")  # states only move forward
    store.begin(new(version="1.0.3"))  # free again


def test_concurrent_confirmations_start_exactly_one(db):
    store, barrier, results = DeploymentStore(db, CATALOG), Barrier(4), []

    def confirm(user):
        barrier.wait()
        try:
            results.append(store.begin(new(app="shop", user=user)).requested_by)
        except AlreadyDeploying:
            results.append(None)

    threads = [Thread(target=confirm, args=(f"user{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([r for r in results if r]) == 1 and len(results) == 4


def test_rollback_and_promotion_versions_come_from_successes(db):
    store = DeploymentStore(db, CATALOG)
    assert store.previous_version("cms", "staging") is None
    for version, state in (("1.0.0", "succeeded"), ("1.1.0", "succeeded"), ("1.2.0", "failed"), ("1.1.0", "succeeded")):
        record = store.begin(new(version=version))
        store.mark_finished(record.id, state)
    assert store.current_version("cms", "staging") == "1.1.0"
    assert store.previous_version("cms", "staging") == ("1.1.0", "1.0.0")


def test_locks_refuse_deployments_and_only_the_owner_or_an_admin_unlocks(db):
    locks = Locks(db)
    assert locks.lock("theresa", "production", None, "release freeze") == (
        "Locked production: no deployments until it is unlocked. Reason: release freeze.")
    assert locks.lock("jbrueder", "production", None, "again").startswith("Already locked: production is locked by theresa since ")
    with pytest.raises(RequestRejected, match=r"^No: production is locked by theresa since .* UTC \(\d+ sec ago\): release freeze\."):
        locks.check("cms", "production")
    locks.check("cms", "staging")
    with pytest.raises(RequestRejected, match="^Only theresa, who locked production, or an admin can unlock it.$"):
        locks.unlock("jbrueder", "production", None, is_admin=False)
    assert locks.unlock("jbrueder", "production", None, is_admin=True) == "Unlocked production: deployments are allowed again."
    locks.lock("theresa", "staging", "shop", NO_REASON)
    with pytest.raises(RequestRejected, match="^No: shop on staging is locked by theresa"):
        locks.check("shop", "staging")
    locks.check("cms", "staging")
    assert locks.unlock("theresa", "staging", None, is_admin=False).startswith("staging is not locked (shop on staging is locked")


# The lock reason's cases are in tests/unit/test_lock_details.py.


def test_report_texts_are_exact(db):
    store = DeploymentStore(db, CATALOG)
    record = store.begin(new())
    started = datetime(2026, 11, 26, 14, 0, 0, tzinfo=timezone.utc)
    store.mark_running(record.id, 42, "http://jenkins/job/deploy-cms/42/", 361000, started)
    assert start_report(store.get(record.id), CATALOG) == (
        "Deploying Content Management System 1.0.2 to staging: Jenkins build #42 started (usually takes about 6 min)."
        " http://jenkins/job/deploy-cms/42/")
    store.mark_finished(record.id, "succeeded", jenkins_result="SUCCESS", finished_at=started + timedelta(seconds=361))
    assert outcome_report(store.get(record.id), CATALOG) == "Content Management System: deployed version 1.0.2 to staging in 6 min, 1 sec"

    failed = store.begin(new(version="1.0.3"))
    store.mark_running(failed.id, 43, "http://jenkins/job/deploy-cms/43/", None, started)
    store.mark_finished(failed.id, "failed", jenkins_result="FAILURE", finished_at=started + timedelta(seconds=123),
                        console_tail="error: boom\nFinished: FAILURE")
    assert outcome_report(store.get(failed.id), CATALOG) == (
        "Content Management System: deploying version 1.0.3 to staging failed after 2 min, 3 sec (FAILURE)."
        " Build #43: http://jenkins/job/deploy-cms/43/\nerror: boom\nFinished: FAILURE")
    assert "usually" not in start_report(store.get(failed.id), CATALOG)  # no estimate, no figure


def test_estimates_read_roughly():
    assert [about(ms) for ms in (45_000, 361_000, 4_860_000)] == ["45 sec", "6 min", "1 h, 21 min"]


def test_apps_may_rename_the_job_parameters(tmp_path):
    assert CATALOG.app("cms").job_parameters("1.0.2", "staging", "U1") == {
        "VERSION": "1.0.2", "ENVIRONMENT": "staging", "REQUESTED_BY": "U1"}
    assert CATALOG.app("intranet").job_parameters("1.0.2", "staging", "U1") == {
        "APP_VERSION": "1.0.2", "TARGET_ENV": "staging", "REQUESTED_BY": "U1"}
    bad = tmp_path / "apps.yml"
    bad.write_text("environments: {staging: {aliases: []}}\napps:\n  cms: {name: CMS, jenkins_job: j, environments: [staging],"
                   " jenkins_parameters: {version: 'bad name'}}\n")
    with pytest.raises(CatalogError, match="is not a Jenkins parameter name"):
        load_catalog(bad)
