"""The deploy queue over the running stack (issue 24, item 2): a busy or locked refusal offers to
queue, the place is said, the queue is listed and left, and when the app and environment are
free the first person is asked "You're next" where they queued. Nothing deploys without their
yes; an unanswered turn (its stored expiry moved into the past: no test waits ten minutes)
passes to the next person, who is asked, and the skipped person is told."""
import time
from datetime import timedelta

from sqlalchemy import select, update

from deploybot.domain.deployments import now
from deploybot.storage.database import Database
from deploybot.storage.models import QueueEntry
from tests.support import audit_entries, deployments, new_user_id

OFFER = "You can wait your turn: say “queue me” and I'll ask you when {app} on staging is free. Nothing deploys without your yes."


def entries(stack, **where):
    with Database(stack.database_url()).transaction() as session:
        query = select(QueueEntry).order_by(QueueEntry.id)
        for column, value in where.items():
            query = query.where(getattr(QueueEntry, column) == value)
        return list(session.scalars(query))


def expire_turn(stack, user: str) -> None:
    """The turn's ten minutes are over: its stored expiry moves into the past."""
    with Database(stack.database_url()).transaction() as session:
        done = session.execute(update(QueueEntry).where(QueueEntry.requested_by == user, QueueEntry.state == "offered")
                               .values(turn_expires_at=now() - timedelta(seconds=1))).rowcount
    assert done == 1


def turn_question(app: str, version: str) -> str:
    return f"You're next: deploy {app} {version} to staging? (yes/no)"


def test_a_queue_of_three_with_one_not_answering(stack, marvin):
    first, b, c, d = (new_user_id() for _ in range(4))
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-crm", "seconds": 12})
    assert marvin.texts(first, "deploy crm 2.0.0") == ["Deploy Customer Relationship Management 2.0.0 to staging? (yes/no)"]
    marvin.texts(first, "yes")

    # b: crm is busy, said before the question (every rule that blocks), and the refusal offers the queue.
    replies = marvin.say(b, "deploy crm 2.0.1")
    busy, offer = (r.get("text") for r in replies)
    assert busy.startswith("crm is already being deployed to staging by ") and offer == OFFER.format(app="crm")
    assert [button["title"] for button in replies[1]["buttons"]] == ["Queue me"]
    assert marvin.texts(b, "queue me") == [
        "You're 1st in the queue for crm on staging: I'll ask you here as soon as it is free. Nothing deploys without your yes."]

    # c and d: refused before the question, b is ahead; "queue me for staging" queues that request.
    refusal, offer = marvin.texts(c, "deploy crm 2.0.2")
    # every rule that blocks: crm is busy, and b is ahead in its queue
    assert refusal.startswith("I can't deploy Customer Relationship Management to staging now. busy: ") \
        and f"; queue: {b} is next for crm on staging" in refusal, refusal
    assert offer == OFFER.format(app="crm")
    assert marvin.texts(c, "queue me for staging")[0].startswith(f"You're 2nd in the queue for crm on staging, after {b}.")
    marvin.texts(d, "deploy crm 2.0.3")
    assert marvin.texts(d, "queue me")[0].startswith(f"You're 3rd in the queue for crm on staging, after {b}, {c}.")
    assert marvin.texts(d, "queue me")[0].startswith("You're still 3rd in the queue")
    [listed] = marvin.texts(d, "who is waiting for staging?")
    assert f"Waiting for crm on staging: 1. {b}: crm 2.0.1; 2. {c}: crm 2.0.2; 3. {d}: crm 2.0.3." in listed, listed

    # The first deployment ends: b's turn, asked in b's conversation. b does not answer.
    marvin.wait_for(b, turn_question("crm", "2.0.1"), timeout=40)
    assert [e.state for e in entries(stack, app="crm", environment="staging")[-3:]] == ["offered", "waiting", "waiting"]
    time.sleep(2)
    assert deployments(stack, requested_by=b) == []  # asked, never started by itself
    expire_turn(stack, b)
    [told] = marvin.wait_for(b, "Your turn for crm on staging passed", timeout=20)
    assert "went to the next person" in told and "Nothing was deployed" in told
    marvin.wait_for(c, turn_question("crm", "2.0.2"), timeout=20)
    # b's late yes finds nothing; c's yes deploys, through the whole pipeline.
    assert marvin.texts(b, "yes") == ["Nothing is waiting for your confirmation. To deploy, say for example “deploy cms 1.0.2”."]
    assert deployments(stack, requested_by=b) == []
    [started] = marvin.texts(c, "yes")
    assert "2.0.2" in started, started
    [record] = deployments(stack, requested_by=c)
    deadline = time.monotonic() + 20
    while entries(stack, requested_by=c)[0].deployment_id is None and time.monotonic() < deadline:
        time.sleep(0.3)
    assert entries(stack, requested_by=c)[0].deployment_id == record.id
    # d's turn after c's deployment; d says no: the queue is empty and d is told.
    marvin.wait_for(d, turn_question("crm", "2.0.3"), timeout=40)
    assert marvin.texts(d, "no") == ["Cancelled, nothing was deployed.",
                                     "You've left the queue for crm on staging; the turn goes to the next person."]
    assert deployments(stack, requested_by=d) == []
    assert marvin.texts(d, "who is waiting for staging?") == ["Nobody is waiting for staging."]
    outcomes = [(e.actor, e.outcome) for e in audit_entries(stack, action="queue") if e.actor in (b, c, d)]
    for expected in [(b, "joined"), (c, "joined"), (d, "joined"), (b, "turn"), (b, "expired"), (c, "turn"),
                     (c, "deployed"), (d, "turn"), (d, "declined")]:
        assert expected in outcomes, (expected, outcomes)


def test_a_queue_turn_after_a_lock_is_lifted_deploys_only_on_a_yes(stack, marvin):
    owner, waiting = new_user_id(), new_user_id()
    assert marvin.texts(owner, "lock billing on staging: release checks")[0].startswith("Locked billing on staging")
    refusal, offer = marvin.texts(waiting, "deploy billing 3.1.0")
    assert refusal.startswith("No: billing on staging is locked by ") and offer == OFFER.format(app="billing")
    assert marvin.texts(waiting, "queue me")[0].startswith("You're 1st in the queue for billing on staging")
    time.sleep(3)  # locked: no turn
    assert not [t for t in marvin.said(waiting) if t.startswith("You're next")]
    assert marvin.texts(owner, "unlock billing on staging")[0].startswith("Unlocked billing on staging")
    marvin.wait_for(waiting, turn_question("billing", "3.1.0"), timeout=20)
    time.sleep(3)  # a few loop rounds: nothing starts without the yes
    assert deployments(stack, requested_by=waiting) == []
    [started] = marvin.texts(waiting, "yes")
    assert "3.1.0" in started
    [record] = deployments(stack, requested_by=waiting)
    assert record.version == "3.1.0"
    marvin.wait_for(waiting, "Billing Service: deployed version 3.1.0 to staging in ", timeout=40)
    [entry] = entries(stack, requested_by=waiting)
    assert (entry.state, entry.deployment_id) == ("deployed", record.id)


def test_leave_the_queue(stack, marvin):
    owner, waiting = new_user_id(), new_user_id()
    marvin.texts(owner, "lock intranet on staging: smoke test")
    marvin.texts(waiting, "deploy intranet 4.0.1")
    marvin.texts(waiting, "queue me")
    assert marvin.texts(waiting, "leave the queue") == ["You've left the queue for intranet on staging."]
    assert marvin.texts(waiting, "leave the queue") == ["You're not in the queue for staging."]
    assert marvin.texts(owner, "unlock intranet on staging")[0].startswith("Unlocked")
    assert [e.state for e in entries(stack, requested_by=waiting)] == ["left"]


def test_queue_me_without_a_refusal_queues_nothing(marvin, stack):
    user = new_user_id()
    [reply] = marvin.texts(user, "queue me for staging")
    assert reply.startswith("There is nothing to queue")
    assert entries(stack, requested_by=user) == []


def test_the_queue_in_the_terminal_chat(stack):
    """The Queue me button shows as [Queue me]; the turn arrives in the chat as it comes."""
    from tests.integration.test_terminal_chat import Chat

    owner, waiting = new_user_id(), new_user_id()
    chat = Chat(stack.env, user=owner)
    try:
        chat.type("marvin, lock intranet on staging: smoke test")
        chat.expect_start("Marvin: Locked intranet on staging")
        chat.type(f"/user {waiting}")
        chat.type("marvin, deploy intranet 4.2.0")
        chat.expect_start("Marvin: No: intranet on staging is locked by ")
        chat.expect("Marvin: " + OFFER.format(app="intranet"))
        chat.expect("        [Queue me]")
        chat.type("queue me")
        chat.expect_start("Marvin: You're 1st in the queue for intranet on staging")
        chat.type(f"/user {owner}")
        chat.type("unlock intranet on staging")
        chat.expect_start("Marvin: Unlocked intranet on staging")
        chat.expect_start("Marvin: intranet on staging is free and it's your turn, until ")
        chat.expect("Marvin: " + turn_question("intranet", "4.2.0"))
        chat.expect("        [Yes]  [No]")
        chat.type(f"/user {waiting}")
        chat.type("yes")
        chat.expect_start("Marvin: OK, deploying Intranet Portal 4.2.0 to staging")
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
    finally:
        chat.process.kill()
