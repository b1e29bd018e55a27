"""The deploy queue's store, loop and gate rule (deploybot.domain.deploy_queue,
deploybot.pipeline.queue_gate) on SQLite and PostgreSQL: turns given only when the app and
environment are free, once across replicas, passed on when unanswered, dropped for a revoked
grant, and nobody but the turn's holder passes the gate. What Rasa is sent is tested on the stack."""
from datetime import timedelta
from threading import Barrier, Thread

from sqlalchemy import update

from deploybot.domain.deploy_queue import QueueStore, QueueTurns
from deploybot.domain.deploy_request import DeployRequest
from deploybot.domain.deployments import DeploymentStore, NewDeployment, now
from deploybot.domain.locks import Locks
from deploybot.pipeline.queue_gate import queue_check
from deploybot.storage.models import QueueEntry
from tests.unit.test_deployments import CATALOG

WHERE = {"conversation_id": "c", "output_channel": "rest", "reply_to": None, "asked_in": {"channel": "rest"}}


def queued(db, *people, app="cms", environment="staging"):
    store = QueueStore(db)
    return [store.join("marvin", person, app, "1.0.2", environment, {**WHERE, "conversation_id": person})[0] for person in people]


def loop(db, sent, may_deploy=lambda user, app: True):
    turns = QueueTurns(db, {"marvin": "http://127.0.0.1:9"}, None, "marvin", turn_seconds=600,
                       audit=lambda *args, **details: None, may_deploy=may_deploy)
    turns.send = lambda row: sent.append((row.requested_by, row.state)) or True
    return turns


def states(db):
    with db.transaction() as session:
        return [(row.requested_by, row.state) for row in session.query(QueueEntry).order_by(QueueEntry.id)]


def test_places_are_said_in_order_and_joining_twice_keeps_the_place(db_on_both):
    store = QueueStore(db_on_both)
    assert [store.join("marvin", p, "cms", "1.0.2", "staging", WHERE)[1:] for p in ("theresa", "walter")] == [(1, True), (2, True)]
    assert store.join("marvin", "theresa", "cms", "1.0.3", "staging", WHERE)[1:] == (1, False)
    assert [row.version for row in store.line("cms", "staging")] == ["1.0.3", "1.0.2"]
    assert [row.requested_by for row in store.leave("theresa", ["staging"])] == ["theresa"]
    assert [row.requested_by for row in store.line("cms", "staging")] == ["walter"]


def test_a_turn_is_given_once_across_two_replicas_and_only_when_free(db_on_both):
    locks = Locks(db_on_both)
    locks.lock("owner", "staging", "cms", "migration")
    queued(db_on_both, "theresa", "walter", "kim")
    sent = []
    replicas = [loop(db_on_both, sent), loop(db_on_both, sent)]
    for replica in replicas:
        replica.round()
    assert sent == [] and {state for _, state in states(db_on_both)} == {"waiting"}  # locked: no turn
    locks.unlock("owner", "staging", "cms", is_admin=False)
    barrier = Barrier(2)

    def go(replica):
        barrier.wait()
        replica.round()
    threads = [Thread(target=go, args=(replica,)) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert states(db_on_both) == [("theresa", "offered"), ("walter", "waiting"), ("kim", "waiting")]
    assert sent == [("theresa", "offered")]  # one ping, not one per replica
    for replica in replicas:
        replica.round()
    assert sent == [("theresa", "offered")]  # not again within RESEND_AFTER


def test_an_unanswered_turn_passes_on_and_the_skipped_person_is_told(db_on_both):
    queued(db_on_both, "theresa", "walter")
    sent = []
    turns = loop(db_on_both, sent)
    turns.round()
    with db_on_both.transaction() as session:
        session.execute(update(QueueEntry).where(QueueEntry.requested_by == "theresa")
                        .values(turn_expires_at=now() - timedelta(seconds=1)))
    turns.round()
    assert states(db_on_both) == [("theresa", "expired"), ("walter", "offered")]
    assert sent == [("theresa", "offered"), ("theresa", "expired"), ("walter", "offered")]


def test_a_revoked_grant_loses_its_place(db_on_both):
    queued(db_on_both, "theresa", "walter")
    sent = []
    loop(db_on_both, sent, may_deploy=lambda user, app: user != "theresa").round()
    assert states(db_on_both) == [("theresa", "dropped"), ("walter", "offered")]


def test_the_turns_deployment_is_noted_on_the_queue_row(db_on_both):
    [entry] = queued(db_on_both, "theresa")
    turns = loop(db_on_both, [])
    turns.round()
    record = DeploymentStore(db_on_both, CATALOG).begin(
        NewDeployment("marvin", DeployRequest("cms", "1.0.2", "staging"), "deploy", "theresa", "theresa", "rest", now()))
    turns.round()
    row = QueueStore(db_on_both).get(entry.id)
    assert (row.state, row.deployment_id) == ("deployed", record.id)
    assert QueueStore(db_on_both).from_queue(record.id).id == entry.id


def test_nobody_but_the_turns_holder_passes_the_gate(db_on_both):
    check = queue_check(db_on_both)
    assert check("cms", "staging", "anyone", now()) is None  # nobody waits
    queued(db_on_both, "theresa", "walter")
    assert check("cms", "staging", "theresa", now()) is None  # first in line
    block = check("cms", "staging", "walter", now())
    assert (block.rule, block.reason, block.opens_at) == ("queue", "theresa is next for cms on staging", None)
    loop(db_on_both, []).round()
    block = check("cms", "staging", "kim", now())
    assert block.reason == "theresa is next for cms on staging" and block.opens_at > now() + timedelta(minutes=9)
    assert check("cms", "staging", "theresa", now()) is None
    assert check("shop", "staging", "kim", now()) is None  # another app's queue is not this one
