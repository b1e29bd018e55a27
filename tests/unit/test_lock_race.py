"""A lock set at the very moment a deployment starts: the lock wins, or it comes after the
deployment, never neither (deploybot.storage.gates). On a real SQLite and a real
PostgreSQL (tests/services.py starts one), the databases deploybot runs on."""
import threading
import time
from datetime import datetime, timezone

import pytest

from deploybot.domain.catalog import load_catalog
from deploybot.domain.deploy_request import DeployRequest, RequestRejected
from deploybot.domain.deployments import DeploymentStore, NewDeployment, utc
from deploybot.domain.locks import Locks, check_unlocked
from deploybot.storage.models import Deployment

CATALOG = load_catalog()
THE_MOMENT = 0.5  # how long the start lingers between its lock check and its record


@pytest.fixture
def db(db_on_both):
    return db_on_both


def new(version="1.0.2"):
    return NewDeployment(assistant="marvin", request=DeployRequest("cms", version, "staging"), kind="deploy",
                         requested_by="theresa", conversation_id="theresa", output_channel="rest",
                         requested_at=datetime.now(timezone.utc))


def start_slowly(store: DeploymentStore, checked: threading.Event, outcome: dict) -> threading.Thread:
    """Starts a deployment that lingers after its lock check, in a thread of its own."""
    def check(session):
        check_unlocked(session, "cms", "staging")
        checked.set()
        time.sleep(THE_MOMENT)

    def run():
        try:
            outcome["deployment"] = store.begin(new(), check=check)
        except RequestRejected as refusal:
            outcome["refusal"] = refusal
        except Exception as error:  # noqa: BLE001 - a database error is a failure of this test
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_lock_set_while_a_deployment_starts_comes_after_it(db):
    store, locks, checked, outcome = DeploymentStore(db, CATALOG), Locks(db), threading.Event(), {}
    thread = start_slowly(store, checked, outcome)
    assert checked.wait(10)
    answer = locks.lock("walter", "staging", None, "load test")  # while the start is between check and record
    thread.join(15)
    assert answer.startswith("Locked staging"), answer
    assert "error" not in outcome and "refusal" not in outcome, outcome
    lock = locks.find("staging", None)
    # The lock waited for the deployment: it was recorded before the lock, so the lock did not miss it.
    assert utc(outcome["deployment"].confirmed_at) < utc(lock.locked_at)
    store.mark_finished(outcome["deployment"].id, "succeeded", jenkins_result="SUCCESS")
    with pytest.raises(RequestRejected, match="staging is locked by walter"):
        store.begin(new("1.0.3"), check=lambda session: check_unlocked(session, "cms", "staging"))


def test_a_lock_set_first_stops_the_deployment(db):
    store, locks = DeploymentStore(db, CATALOG), Locks(db)
    locks.lock("walter", "staging", "cms", "incident 4711")
    with pytest.raises(RequestRejected, match="cms on staging is locked by walter"):
        store.begin(new(), check=lambda session: check_unlocked(session, "cms", "staging"))
    with db.transaction() as session:
        assert session.query(Deployment).count() == 0
