"""Locks that expire (deploybot.domain.lock_expiry, deploybot.domain.locks) on SQLite and PostgreSQL: an
expired lock stops nothing, is lifted once, and its lifting is said once."""
from datetime import timedelta
from threading import Barrier, Thread

import pytest

from deploybot.domain.deploy_request import DeployRequest, RequestRejected
from deploybot.domain.deployments import DeploymentStore, NewDeployment, now
from deploybot.domain.lock_expiry import LockExpiryAnnouncer, lift_expired, mark_said
from deploybot.domain.locks import Locks
from deploybot.storage.models import LiftedLock
from tests.unit.test_deployments import CATALOG

ORIGIN = {"assistant": "marvin", "conversation_id": "theresa", "output_channel": "rest", "reply_to": None}


def expire(db, locks, environment, app=None):
    """Moves the lock's expiry into the past, as time would."""
    from sqlalchemy import update
    from deploybot.storage.models import Lock
    with db.transaction() as session:
        session.execute(update(Lock).where(Lock.id == locks.find(environment, app).id)
                        .values(expires_at=now() - timedelta(seconds=1)))


def test_a_lock_with_an_expiry_says_until_when_and_stops_deployments_until_then(db_on_both):
    locks = Locks(db_on_both)
    text = locks.lock("theresa", "staging", None, "the load test", now() + timedelta(hours=2), ORIGIN)
    assert text.startswith("Locked staging until ") and " UTC (in 2 h, 0 min" in text
    assert text.endswith("Reason: the load test.")
    with pytest.raises(RequestRejected, match=r"staging is locked by theresa since .* until .* UTC: the load test"):
        locks.check("cms", "staging")


def test_an_expired_lock_stops_nothing_even_before_the_announcer_comes_round(db_on_both):
    locks, store = Locks(db_on_both), DeploymentStore(db_on_both, CATALOG)
    locks.lock("theresa", "staging", "cms", "QA", now() + timedelta(minutes=5), ORIGIN)
    expire(db_on_both, locks, "staging", "cms")
    locks.check("cms", "staging")
    from deploybot.domain.locks import check_unlocked
    record = store.begin(NewDeployment("marvin", DeployRequest("cms", "1.0.2", "staging"), "deploy", "walter", "walter",
                                       "rest", now()), check=lambda session: check_unlocked(session, "cms", "staging"))
    assert record.id
    with db_on_both.transaction() as session:
        [lifted] = session.query(LiftedLock).all()
    assert (lifted.environment, lifted.app, lifted.reason, lifted.conversation_id) == ("staging", "cms", "QA", "theresa")
    # Locking the same scope again works: the expired lock is gone.
    assert locks.lock("walter", "staging", "cms", "again").startswith("Locked cms on staging")


def test_a_lock_is_lifted_once_however_many_lift_it_at_the_same_time(db_on_both):
    locks = Locks(db_on_both)
    locks.lock("theresa", "staging", None, "migration", now() + timedelta(minutes=5), ORIGIN)
    expire(db_on_both, locks, "staging")
    barrier, lifted = Barrier(4), []

    def lift():
        barrier.wait()
        try:
            with db_on_both.transaction() as session:
                lifted.extend(row.lock_id for row in lift_expired(session))
        except Exception as error:  # a loser may also see the unique constraint
            lifted.append(type(error).__name__)

    threads = [Thread(target=lift) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len([x for x in lifted if isinstance(x, int)]) == 1, lifted
    with db_on_both.transaction() as session:
        assert session.query(LiftedLock).count() == 1


def test_the_announcer_sends_each_lifted_lock_until_it_is_said_and_it_is_said_once(db_on_both):
    locks = Locks(db_on_both)
    locks.lock("theresa", "staging", None, "migration", now() + timedelta(minutes=5), ORIGIN)
    expire(db_on_both, locks, "staging")
    sent = []
    announcer = LockExpiryAnnouncer(db_on_both, {"marvin": "http://127.0.0.1:9"}, None, "marvin")
    announcer.send = lambda row: sent.append(row.id) or True  # what Rasa is asked is tested on the stack
    announcer.round()
    assert len(sent) == 1
    announcer.round()
    assert len(sent) == 1  # not again within RESEND_AFTER
    assert mark_said(db_on_both, sent[0]) is True
    assert mark_said(db_on_both, sent[0]) is False
    assert announcer.due(now() + timedelta(minutes=5)) == []  # said: never sent again
    other = LockExpiryAnnouncer(db_on_both, {"bender": "http://127.0.0.1:9"}, None, "bender")
    assert other.due(now() + timedelta(minutes=5)) == []  # another bot's lock is not bender's to announce


def test_locks_one_after_another_are_each_lifted_even_when_the_database_reuses_their_id(db_on_both):
    locks = Locks(db_on_both)
    for reason in ("first", "second"):
        locks.lock("theresa", "staging", None, reason, now() + timedelta(minutes=5), ORIGIN)
        expire(db_on_both, locks, "staging")
        with db_on_both.transaction() as session:
            assert [row.reason for row in lift_expired(session)] == [reason]


def test_an_expiry_given_in_another_time_zone_is_kept_as_the_same_moment(db_on_both):
    """"until 6pm" in Europe/Berlin is 17:00 UTC in winter: stored as that moment on both
    databases (SQLite drops a datetime's zone), and said in the bot's zone."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from deploybot.domain.locks import Locks
    from deploybot.storage.models import Lock

    berlin = ZoneInfo("Europe/Berlin")
    until = (datetime.now(berlin) + timedelta(hours=3)).replace(second=0, microsecond=0)
    text = Locks(db_on_both, berlin).lock("theresa", "staging", None, "the load test", until)
    assert f"until {until:%Y-%m-%d %H:%M} {until.tzname()}" in text
    with db_on_both.transaction() as session:
        [stored] = session.query(Lock).all()
        kept = stored.expires_at if stored.expires_at.tzinfo else stored.expires_at.replace(tzinfo=timezone.utc)
    assert kept == until
