"""Races and refusals at the edges: a lock set at the moment a yes arrives wins or comes
after the deployment (never neither), and a refused cancel is audited like every refusal."""
import threading

from sqlalchemy import select

from deploybot.domain.deployments import utc
from deploybot.storage.database import Database
from deploybot.storage.models import Lock
from tests.security.evidence import deployments, last_audit_id, refused
from tests.support import new_user_id

ROUNDS = 3


def locks_now(stack):
    with Database(stack.database_url()).transaction() as session:
        return list(session.scalars(select(Lock)))


def test_a_lock_set_while_the_yes_arrives_wins_or_comes_after(marvin, stack):
    for round_number in range(ROUNDS):
        requester, locker = new_user_id(), new_user_id()
        version = f"9.1.{round_number}"
        assert marvin.texts(requester, f"deploy billing {version}") == [f"Deploy Billing Service {version} to staging? (yes/no)"]
        barrier, answers = threading.Barrier(2), {}

        def say(who, text):
            barrier.wait()
            answers[who] = marvin.texts(who, text)

        threads = [threading.Thread(target=say, args=(requester, "yes")),
                   threading.Thread(target=say, args=(locker, "lock billing on staging for the race test"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        try:
            [lock] = [lock for lock in locks_now(stack) if lock.app == "billing"]
            assert answers[locker][0].startswith("Locked billing on staging"), answers
            started = deployments(stack, requested_by=requester)
            if started:  # the deployment came first: it was recorded before the lock
                assert utc(started[0].confirmed_at) < utc(lock.locked_at)
                assert answers[requester][0].startswith(f"OK, deploying Billing Service {version} to staging")
                marvin.wait_for(requester, f"Billing Service: deployed version {version} to staging in ")
            else:  # the lock came first and stopped it
                assert answers[requester][0].startswith(f"No: billing on staging is locked by {locker}"), answers
        finally:
            marvin.texts(locker, "unlock billing on staging")
        assert not [lock for lock in locks_now(stack) if lock.app == "billing"]


def test_a_refused_cancel_is_audited(marvin, stack):
    requester, other = new_user_id(), new_user_id()
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-shop", "hang": True})
    assert marvin.texts(requester, "deploy shop 9.2.0") == ["Deploy Web Shop 9.2.0 to staging? (yes/no)"]
    marvin.texts(requester, "yes")
    marvin.wait_for(requester, "Deploying Web Shop 9.2.0 to staging: Jenkins build #")
    since = last_audit_id(stack)
    try:
        assert marvin.texts(other, "cancel the shop deployment") == [
            f"Only {requester}, who asked for this deployment, or an admin can cancel it."]
        refused(stack, "cancel", since, actor=other, containing="can cancel it")
        [record] = deployments(stack, requested_by=requester)
        assert record.state == "running" and record.cancelled_by is None
    finally:
        marvin.texts(requester, "cancel the shop deployment")
        marvin.wait_for(requester, "Web Shop: deploying version 9.2.0 to staging was aborted")
