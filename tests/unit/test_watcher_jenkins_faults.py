"""The watcher when Jenkins behaves as a real one does: restarts, proxy errors, forgotten queue
items, builds listing more parameters than deploybot sent. The real Watcher, Deployer and
JenkinsClient, a SQLite database in a temporary directory and the Jenkins emulator over
HTTP; only the Rasa side is replaced, by a reporter that records what it would say."""
import time
from datetime import timedelta
from typing import Callable, List, Tuple

import pytest

from deploybot.domain.catalog import load_catalog
from deploybot.domain.deploy_request import DeployRequest
from tests.unit.cleared import start_cleared
from deploybot.domain.deployments import DeploymentStore, NewDeployment, now
from deploybot.adapters.jenkins.client import JenkinsClient, JenkinsSettings
from deploybot.domain.profiles import load_profiles
from deploybot.storage.database import Database, migrate
from deploybot.storage.models import Deployment
from deploybot.domain.outbox import Outbox
from deploybot.delivery.watcher import Watcher
from devtools.jenkins_emulator import JenkinsEmulator, jobs_from_catalog

from tests.unit.test_jenkins_client import TOKEN, USER, control

CATALOG = load_catalog()
BUILD_SECONDS, QUEUE_SECONDS = 0.3, 0.2


class RecordingReporter:
    """Stands in for RasaReporter and Rasa: records each report it would put into the
    conversation and, as the report action does when it speaks, marks it said."""

    def __init__(self, outbox: Outbox):
        self.outbox = outbox
        self.sent: List[Tuple[int, str, str]] = []

    def send(self, deployment: Deployment, report: str) -> bool:
        self.sent.append((deployment.id, report, deployment.state))
        return self.outbox.mark_said(deployment.id, report)


class RecordingNotifier:
    def __init__(self):
        self.posts: List[Tuple[str, str]] = []

    def post(self, channel: str, text: str) -> bool:
        self.posts.append((channel, text))
        return True


@pytest.fixture
def emulator():
    emulator = JenkinsEmulator(USER, TOKEN, jobs_from_catalog(CATALOG), build_seconds=BUILD_SECONDS,
                               queue_seconds=QUEUE_SECONDS, forget_seconds=300)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'deploybot.db'}"
    migrate(url)
    return Database(url)


@pytest.fixture
def store(db) -> DeploymentStore:
    return DeploymentStore(db, CATALOG)


@pytest.fixture
def client(emulator) -> JenkinsClient:
    return JenkinsClient(JenkinsSettings(emulator.url, USER, TOKEN, timeout=1))


@pytest.fixture
def reporter(db) -> RecordingReporter:
    return RecordingReporter(Outbox(db))


@pytest.fixture
def watcher(store, client, reporter) -> Watcher:
    # poll_seconds=0: a deployment whose trigger went unanswered is looked for at once.
    return Watcher(store=store, jenkins=client, reporter=reporter, notifier=RecordingNotifier(),
                   profiles=load_profiles(), catalog=CATALOG, assistant="marvin", poll_seconds=0,
                   build_timeout_seconds=60)


def deploy(store, client, app="cms", version="1.4.2", user="alice") -> Tuple[int, str]:
    """Starts a deployment as the bot's yes does; returns its id and the reply."""
    new = NewDeployment(assistant="marvin", request=DeployRequest(app, version, "staging"), kind="deploy",
                        requested_by=user, conversation_id=user, output_channel="rest", requested_at=now())
    reply = start_cleared(store, client, CATALOG, new)
    [record] = [d for d in store.active(app, "staging") if d.requested_by == user]
    return record.id, reply


# Waits return as soon as their condition holds; the bound is only for a test that would hang.
# 5 s was too short at the end of a clean-clone `make test` (a build not yet running in time).
WAIT_SECONDS = 30.0


def rounds_until(watcher: Watcher, condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while True:
        watcher.round()
        if condition():
            return
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def jenkins_has(emulator, wanted: Callable[[dict], object], timeout: float = WAIT_SECONDS) -> None:
    """Waits until the emulator records a build request (or build) like that."""
    deadline = time.monotonic() + timeout
    while not any(wanted(build) for build in control(emulator, "GET", "/builds")):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def succeeded_and_reported_once(store, reporter, deployment_id: int) -> bool:
    return (store.get(deployment_id).state == "succeeded"
            and [(i, r) for i, r, _ in reporter.sent] == [(deployment_id, "start"), (deployment_id, "outcome")])


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_proxy_or_restart_error_on_the_queue_item_keeps_the_deployment_queued_and_busy(
        emulator, store, db, client, watcher, reporter, status):
    control(emulator, "POST", "/settings", {"queue_seconds": 1})
    deployment_id, _ = deploy(store, client)
    queue_id = store.get(deployment_id).queue_id
    control(emulator, "POST", "/faults", {"path": f"/queue/item/{queue_id}/", "status": status})

    watcher.round()
    record = store.get(deployment_id)
    assert record.state == "queued" and record.error is None
    assert store.active_for("cms", "staging").id == deployment_id  # still busy: its fate is unknown
    assert reporter.sent == []

    rounds_until(watcher, lambda: succeeded_and_reported_once(store, reporter, deployment_id))


def test_a_restart_keeps_deployments_busy_and_left_items_it_forgot_are_found_by_queue_id(
        emulator, store, db, client, watcher, reporter):
    control(emulator, "POST", "/next-build", {"job": "deploy-cms", "hang": True})
    running_id, _ = deploy(store, client, app="cms")
    rounds_until(watcher, lambda: store.get(running_id).state == "running")
    # This one's build starts before the watcher looks again; the restart then forgets its
    # (left) queue item, so only the build's queueId tells where it went.
    control(emulator, "POST", "/next-build", {"job": "deploy-shop", "hang": True})
    started_id, _ = deploy(store, client, app="shop")
    queue_id = store.get(started_id).queue_id
    jenkins_has(emulator, lambda build: build["queue_id"] == queue_id and build["started_at"])
    control(emulator, "POST", "/restart", {"seconds": 60})

    for _ in range(3):
        watcher.round()
    assert [store.get(i).state for i in (running_id, started_id)] == ["running", "queued"]
    assert {d.id for d in store.active()} == {running_id, started_id}

    control(emulator, "POST", "/restart", {"seconds": 0})
    rounds_until(watcher, lambda: store.get(started_id).state == "running")
    for job, deployment_id in (("deploy-cms", running_id), ("deploy-shop", started_id)):
        control(emulator, "POST", "/finish", {"job": job, "number": store.get(deployment_id).build_number})
    rounds_until(watcher, lambda: all(store.get(i).state == "succeeded" for i in (running_id, started_id)))
    for deployment_id in (running_id, started_id):
        assert [r for i, r, _ in reporter.sent if i == deployment_id] == ["start", "outcome"]


def test_a_build_request_answered_too_late_is_found_though_the_build_lists_more_parameters(
        emulator, store, db, client, watcher, reporter):
    # Jenkins queues the build but answers after the client's 1 s timeout.
    control(emulator, "POST", "/faults", {"path": "buildWithParameters", "delay": 2})
    deployment_id, reply = deploy(store, client)
    assert reply.startswith("Jenkins did not answer in time")
    assert store.get(deployment_id).state == "confirmed"
    jenkins_has(emulator, lambda build: build["job"] == "deploy-cms")  # the request is in Jenkins' queue
    # Long enough ago that a watcher not finding the build would give it up as never started.
    store.annotate(deployment_id, confirmed_at=now() - timedelta(seconds=100))

    rounds_until(watcher, lambda: succeeded_and_reported_once(store, reporter, deployment_id))
    [build] = control(emulator, "GET", "/builds")
    assert store.get(deployment_id).build_number == build["number"]
    assert set(build["parameters"]) > {"VERSION", "ENVIRONMENT", "REQUESTED_BY"}  # DRY_RUN and the rest too


def test_a_queue_item_a_healthy_jenkins_no_longer_knows_and_no_build_came_from_is_a_failure(
        emulator, store, db, client, watcher, reporter):
    control(emulator, "POST", "/settings", {"queue_seconds": 5, "forget_seconds": 0})
    deployment_id, _ = deploy(store, client)
    client.cancel_queue(store.get(deployment_id).queue_id)  # behind the bot's back: the item is gone

    watcher.round()
    record = store.get(deployment_id)
    assert (record.state, record.active_key) == ("failed", None)
    assert record.error == f"Jenkins dropped queue item {record.queue_id} before a build started."
    assert [(r, state) for _, r, state in reporter.sent] == [("outcome", "failed")]


def failed_build_finished(emulator, store, client, watcher) -> int:
    """A deployment whose build has failed in Jenkins, not yet looked at by the watcher."""
    control(emulator, "POST", "/next-build", {"job": "deploy-cms", "result": "FAILURE"})
    deployment_id, _ = deploy(store, client)
    rounds_until(watcher, lambda: store.get(deployment_id).state == "running")
    number = store.get(deployment_id).build_number
    jenkins_has(emulator, lambda build: build["number"] == number and build["result"] == "FAILURE")
    return deployment_id


@pytest.mark.parametrize("fault, reason", [
    ({"method": "HEAD", "path": "/logText/progressiveText", "status": 405}, "(HTTP 405)"),  # a proxy refusing HEAD
    ({"method": "GET", "path": "/logText/progressiveText", "status": 500}, "(HTTP 500)"),  # Jenkins failing the log
])
def test_a_failed_build_whose_console_cannot_be_read_is_recorded_with_its_result_and_frees_the_app(
        emulator, store, db, client, watcher, reporter, fault, reason):
    deployment_id = failed_build_finished(emulator, store, client, watcher)
    control(emulator, "POST", "/faults", {**fault, "count": 1000})  # for good, not for one round

    watcher.round()
    record = store.get(deployment_id)
    assert (record.state, record.jenkins_result, record.active_key) == ("failed", "FAILURE", None)
    assert record.console_tail is None
    assert record.error.startswith("console unavailable: ") and reason in record.error
    assert store.active_for("cms", "staging") is None  # the app is free for the next deploy
    assert [(r, state) for _, r, state in reporter.sent] == [("start", "running"), ("outcome", "failed")]
    from deploybot.delivery.reports import outcome_report
    assert record.error in outcome_report(record, CATALOG)  # the report says why there are no log lines


def test_a_failed_build_with_a_readable_console_still_reports_its_last_lines(
        emulator, store, db, client, watcher, reporter):
    deployment_id = failed_build_finished(emulator, store, client, watcher)
    watcher.round()
    record = store.get(deployment_id)
    assert (record.state, record.error) == ("failed", None)
    assert "marked build as failure" in record.console_tail


def test_a_build_jenkins_no_longer_knows_is_recorded_as_lost_after_the_bounded_wait(
        emulator, store, db, client, reporter):
    lost_after = 1.0
    watcher = Watcher(store=store, jenkins=client, reporter=reporter, notifier=RecordingNotifier(),
                      profiles=load_profiles(), catalog=CATALOG, assistant="marvin", poll_seconds=0,
                      build_timeout_seconds=60, lost_after_seconds=lost_after)
    control(emulator, "POST", "/next-build", {"job": "deploy-cms", "hang": True})
    deployment_id, _ = deploy(store, client)
    rounds_until(watcher, lambda: store.get(deployment_id).state == "running")
    number = store.get(deployment_id).build_number
    control(emulator, "POST", "/forget", {"job": "deploy-cms", "number": number})

    watcher.round()  # a 404 may be passing (a job being re-created): not lost at once
    assert store.get(deployment_id).state == "running"
    started = time.monotonic()
    rounds_until(watcher, lambda: store.get(deployment_id).state == "failed")
    assert time.monotonic() - started < lost_after + 2
    record = store.get(deployment_id)
    assert record.active_key is None and store.active_for("cms", "staging") is None
    assert record.error.startswith(f"lost: Jenkins no longer knows build #{number} of deploy-cms")
    assert [(r, state) for _, r, state in reporter.sent] == [("start", "running"), ("outcome", "failed")]



def test_the_wait_before_a_build_counts_as_lost_is_configurable_and_checked():
    from deploybot.rasa_glue.action_server import lost_after_seconds
    assert (lost_after_seconds(""), lost_after_seconds("30"), lost_after_seconds("0")) == (600.0, 30.0, 0.0)
    for bad in ("ten minutes", "-1", "inf", "nan"):
        with pytest.raises(ValueError, match="DEPLOYBOT_BUILD_LOST_AFTER_SECONDS must be a number of seconds"):
            lost_after_seconds(bad)


def test_a_console_jenkins_cannot_serve_just_now_is_asked_for_again_for_a_while_then_left_out(
        emulator, store, db, client, watcher, reporter):
    deployment_id = failed_build_finished(emulator, store, client, watcher)
    control(emulator, "POST", "/faults", {"path": "/logText/progressiveText", "status": 503, "count": 1000})
    watcher.round()  # Jenkins restarting: the log may come in a moment
    assert store.get(deployment_id).state == "running"
    watcher.console_grace_seconds = 0  # the grace is over
    watcher.round()
    record = store.get(deployment_id)
    assert (record.state, record.jenkins_result, record.active_key) == ("failed", "FAILURE", None)
    assert record.error.startswith("console unavailable: Jenkins at ") and "(HTTP 503" in record.error
