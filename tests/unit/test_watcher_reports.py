"""Reports that are never lost and never doubled, at the watcher: the real Watcher, Deployer
and JenkinsClient, a SQLite database and the Jenkins emulator over HTTP. Rasa is replaced
by FakeRasa, which runs what the report action does (the outbox's said-mark, then speaking)
and can be told to die mid-send, as an action server killed during a send does."""
import time
from datetime import datetime, timezone
from typing import List, Optional, Tuple

import pytest

from deploybot.domain.batch_store import BatchStore
from deploybot.domain.deploy_request import DeployRequest
from tests.unit.cleared import start_cleared
from deploybot.domain.deployments import NewDeployment
from deploybot.delivery.notifier import AllOf
from deploybot.domain.outbox import Outbox
from deploybot.domain.profiles import load_profiles
from deploybot.delivery.watcher import Watcher

from tests.unit.test_watcher_jenkins_faults import CATALOG, client, db, emulator, rounds_until, store  # noqa: F401 (fixtures)

LEASE = 1.0
Said = List[Tuple[int, str]]


class SenderDied(Exception):
    """The action server dying in the middle of a send: nothing after it runs."""


class FakeRasa:
    """Stands in for RasaReporter and Rasa: a send runs the report action, which marks the
    report said and speaks only if it won (one conversation, shared by every watcher).
    die: "before_saying" (Rasa never got it) or "after_saying" (said, the answer lost)."""

    def __init__(self, outbox: Outbox, conversation: Said, die: Optional[str] = None):
        self.outbox, self.conversation, self.die, self.sends = outbox, conversation, die, 0

    def send(self, deployment, report: str) -> bool:
        self.sends += 1
        if self.die == "before_saying":
            raise SenderDied()
        spoke = self.outbox.mark_said(deployment.id, report)
        if spoke:
            self.conversation.append((deployment.id, report))
        if self.die == "after_saying":
            raise SenderDied()
        return spoke


class Destination:
    """A management destination that records what it delivered; fails its first `failures` posts."""

    def __init__(self, name: str, failures: int = 0):
        self.name, self.failures, self.tries, self.delivered = name, failures, 0, []

    def post(self, channel: str, text: str) -> bool:
        self.tries += 1
        if self.tries <= self.failures:
            return False
        self.delivered.append((channel, text))
        return True


def watcher_for(assistant, store, client, reporter, notifier=None) -> Watcher:  # noqa: F811
    return Watcher(store=store, jenkins=client, reporter=reporter, notifier=notifier or AllOf([]),
                   profiles=load_profiles(), catalog=CATALOG, assistant=assistant, poll_seconds=0,
                   build_timeout_seconds=60, lease_seconds=LEASE)


def deploy(store, client, assistant="marvin", environment="staging", app="cms", user="alice") -> int:  # noqa: F811
    new = NewDeployment(assistant=assistant, request=DeployRequest(app, "1.4.2", environment), kind="deploy",
                        requested_by=user, conversation_id=user, output_channel="rest",
                        requested_at=datetime.now(timezone.utc))
    start_cleared(store, client, CATALOG, new)
    [record] = [d for d in store.active(app, environment) if d.requested_by == user]
    return record.id


@pytest.mark.parametrize("moment", ["before_saying", "after_saying"])
def test_a_sender_that_dies_mid_send_leaves_the_report_to_be_sent_again_after_its_lease(
        store, client, moment):  # noqa: F811
    outbox, conversation = Outbox(store.db), []
    dying = FakeRasa(outbox, conversation, die=moment)
    dead = watcher_for("marvin", store, client, dying)
    deployment_id = deploy(store, client)
    rounds_until(dead, lambda: dying.sends == 1)
    assert conversation == ([] if moment == "before_saying" else [(deployment_id, "start")])

    # The action server comes back as a new process: the report is not sent while the dead one's lease runs.
    rasa = FakeRasa(outbox, conversation)
    restarted = watcher_for("marvin", store, client, rasa)
    restarted.round()
    assert rasa.sends == 0 and outbox.row(deployment_id, "start").leased_by == dead.sender

    rounds_until(restarted, lambda: store.get(deployment_id).outcome_reported_at is not None, timeout=LEASE + 5)
    for _ in range(3):
        restarted.round()
    assert conversation == [(deployment_id, "start"), (deployment_id, "outcome")]
    assert all(row.done_at is not None for row in outbox.rows(deployment_id))
    assert store.get(deployment_id).start_reported_at is not None


def test_a_management_post_that_fails_is_retried_and_delivered_once(store, client):  # noqa: F811
    outbox, conversation = Outbox(store.db), []
    log, slack = Destination("log"), Destination("slack", failures=2)
    watcher = watcher_for("bender", store, client, FakeRasa(outbox, conversation), AllOf([log, slack]))
    deployment_id = deploy(store, client, assistant="bender", environment="production")

    rounds_until(watcher, lambda: slack.delivered != [])
    for _ in range(3):
        watcher.round()
    assert conversation == [(deployment_id, "start"), (deployment_id, "outcome")]
    assert slack.tries == 3 and len(slack.delivered) == 1
    assert log.tries == 1 and len(log.delivered) == 1  # Slack failing never writes the log twice
    [(channel, text)] = slack.delivered
    assert channel == "#deployments-management" and text.startswith("Content Management System 1.4.2 is on production")
    assert outbox.deployments_with_pending("bender") == []


def deploy_in_batch(store, client, batch_id, app, version, user="bob") -> int:  # noqa: F811
    new = NewDeployment(assistant="marvin", request=DeployRequest(app, version, "staging"), kind="deploy",
                        requested_by=user, conversation_id=user, output_channel="rest",
                        requested_at=datetime.now(timezone.utc), batch_id=batch_id)
    start_cleared(store, client, CATALOG, new)
    [record] = [d for d in store.active(app, "staging") if d.requested_by == user]
    return record.id


def test_a_batch_is_summed_up_once_after_its_last_outcome(store, client):  # noqa: F811
    outbox, conversation = Outbox(store.db), []
    batches = BatchStore(store.db)
    items = [{"app": "cms", "version": "2.0.1"}, {"app": "shop", "version": "2.0.2"}]
    batches.create("B-once", "marvin", "bob", "staging", items, "bob", "rest", None)
    cms, shop = (deploy_in_batch(store, client, "B-once", item["app"], item["version"]) for item in items)
    watchers = [watcher_for("marvin", store, client, FakeRasa(outbox, conversation)) for _ in range(2)]  # two replicas
    deadline = time.monotonic() + 10
    while (cms, "summary") not in conversation:
        for watcher in watchers:
            watcher.round()
        assert time.monotonic() < deadline, conversation
    for _ in range(3):
        for watcher in watchers:
            watcher.round()
    assert conversation.count((cms, "summary")) == 1
    outcomes = [i for i, said in enumerate(conversation) if said[1] == "outcome"]
    assert conversation.index((cms, "summary")) > max(outcomes)  # after both outcomes
    assert (shop, "outcome") in conversation and batches.get("B-once").summarized_at is not None
    assert batches.unsummarized("marvin") == []


def test_a_summary_whose_row_was_never_added_is_found_by_the_sweep(store, client):  # noqa: F811
    """A sender died between the last outcome and adding the summary: the next round's sweep sends it."""
    outbox, conversation = Outbox(store.db), []
    batches = BatchStore(store.db)
    batches.create("B-sweep", "marvin", "carl", "staging", [{"app": "crm", "version": "2.1.0"}], "carl", "rest", None)
    crm = deploy_in_batch(store, client, "B-sweep", "crm", "2.1.0", user="carl")
    watcher = watcher_for("marvin", store, client, FakeRasa(outbox, conversation))
    watcher._summarize = lambda batch_id: None  # this process dies before it adds the summary row
    rounds_until(watcher, lambda: store.get(crm).outcome_reported_at is not None)
    assert outbox.row(crm, "summary") is None and (crm, "summary") not in conversation
    restarted = watcher_for("marvin", store, client, FakeRasa(outbox, conversation))
    rounds_until(restarted, lambda: (crm, "summary") in conversation)
    restarted.round()
    assert conversation.count((crm, "summary")) == 1
