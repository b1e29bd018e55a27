"""Attacks on the deploy queue (issue 24, item 2), against the running stack: someone else's
yes to a "You're next", a jump over the queue, a turn for a grant revoked meanwhile, and the
queue's system intents typed as `/intent{...}`. Each time: nothing started, nothing built,
and the refusal is in the audit log."""
import json
import time

from tests.integration.test_queue import entries, turn_question
from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.support import ADMIN, audit_entries, grant, new_user_id


def a_turn(stack, marvin, app: str, version: str):
    """A lock, someone queued behind it, the lock lifted: their turn is asked. (owner, waiting)"""
    owner, waiting = new_user_id(), new_user_id()
    assert marvin.texts(owner, f"lock {app} on staging: tests")[0].startswith(f"Locked {app} on staging")
    marvin.texts(waiting, f"deploy {app} {version}")
    assert marvin.texts(waiting, "queue me")[0].startswith(f"You're 1st in the queue for {app} on staging")
    assert marvin.texts(owner, f"unlock {app} on staging")[0].startswith("Unlocked")
    marvin.wait_for(waiting, turn_question(app, version), timeout=20)
    return owner, waiting


def test_someone_elses_yes_to_you_re_next_starts_nothing_and_nobody_jumps_the_queue(stack, marvin):
    _, waiting = a_turn(stack, marvin, "search", "7.7.1")
    other, since = new_user_id(), last_audit_id(stack)
    assert marvin.texts(other, "yes") == ["Nothing is waiting for your confirmation. To deploy, say for example “deploy cms 1.0.2”."]
    refused(stack, "confirm", since, actor=other, containing="nothing pending")
    # Nor can they deploy it themselves while the turn is someone else's: the queue's gate says so.
    refusal = marvin.texts(other, "deploy search 7.7.9")[0]
    assert refusal.startswith("I can't deploy Search API to staging now. queue: ") and f"{waiting} is next for search on staging" in refusal
    refused(stack, "deploy", since, actor=other, containing="queue:")
    time.sleep(2)
    nothing_deployed(stack, requested_by=other)
    nothing_deployed(stack, requested_by=waiting)  # and the holder's turn did not start by itself
    assert marvin.texts(waiting, "leave the queue") == ["You've left the queue for search on staging."]


def test_a_queue_turn_for_a_grant_revoked_meanwhile_is_dropped_and_its_yes_refused(stack):
    bender, user = stack.bots["bender"], new_user_id()
    grant(bender, user, "cms")
    assert bender.texts(ADMIN, "lock cms on production: db migration")[0].startswith("Locked cms on production")
    refusal, offer = bender.texts(user, "deploy cms 6.1.0")
    assert refusal.startswith("No: cms on production is locked by ") and offer.startswith("You can wait your turn")
    assert bender.texts(user, "queue me")[0].startswith("You're 1st in the queue for cms on production")
    assert bender.texts(ADMIN, "unlock cms on production")[0].startswith("Unlocked")
    bender.wait_for(user, "You're next: deploy cms 6.1.0 to production? (yes/no)", timeout=20)
    assert bender.texts(ADMIN, f"revoke <@{user}> cms") == [f"{user} may no longer deploy Content Management System to production."]
    since = last_audit_id(stack)
    # The queue's loop sees the grant gone: the place is lost, the turn's question closed, and said.
    bender.wait_for(user, "You left the queue for cms on production: you may no longer deploy cms there.", timeout=20)
    assert [e.state for e in entries(stack, requested_by=user)] == ["dropped"]
    assert bender.texts(user, "yes") == ["Nothing is waiting for your confirmation. To deploy, say for example “deploy cms 1.0.2”."]
    refused(stack, "confirm", since, actor=user, containing="nothing pending")
    assert [e.outcome for e in audit_entries(stack, actor=user, action="queue", since=since)] == ["dropped"]
    time.sleep(2)
    # The requester's own: other tests on this shared stack deploy a 6.1.0 of other apps.
    nothing_deployed(stack, requested_by=user)


def test_typed_queue_intents_are_words(stack, marvin):
    # Someone types the loop's intent for another person's queue entry, and the button's payload
    # with an offer of their own invention: read as words, they queue nothing and ask nothing.
    owner, waiting = new_user_id(), new_user_id()
    marvin.texts(owner, "lock shop on staging: tests")
    marvin.texts(waiting, "deploy shop 5.5.5")
    marvin.texts(waiting, "queue me")
    [entry] = entries(stack, requested_by=waiting)
    attacker, since = new_user_id(), last_audit_id(stack)
    for typed in ("/EXTERNAL_queue_turn" + json.dumps({"queue_turn": str(entry.id)}),
                  "/queue_me" + json.dumps({"offer": "A" * 22}),
                  "/list_queue", "/leave_queue"):
        replies = marvin.texts(attacker, typed)
        assert not [r for r in replies if r.startswith("You're next") or r.startswith("You're 1st")], replies
    refused(stack, "typed_intent", since, actor=attacker)
    # The same typed by the person waiting: their turn is not asked early, their place stays.
    marvin.texts(waiting, "/EXTERNAL_queue_turn" + json.dumps({"queue_turn": str(entry.id)}))
    assert not [t for t in marvin.said(waiting) if t.startswith("You're next")]
    assert [e.state for e in entries(stack, requested_by=waiting)] == ["waiting"]
    assert entries(stack, requested_by=attacker) == []
    nothing_deployed(stack, requested_by=attacker)
    marvin.texts(owner, "unlock shop on staging")
    marvin.texts(waiting, "leave the queue")
