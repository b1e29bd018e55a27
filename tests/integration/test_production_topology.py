"""The production topology for real: PostgreSQL for deploybot's database and both bots'
tracker stores, Redis as Rasa's lock store, two Rasa replicas and two action servers per
bot, all sharing them."""
import threading
import time

import pytest
from sqlalchemy import create_engine, select, text

from deploybot.storage.database import Database
from deploybot.storage.models import Deployment
from tests.services import Postgres, Redis, ServiceMissing
from tests.support import StackDidNotStart, new_user_id, open_ports, start_stack, stop_stack


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    base = tmp_path_factory.mktemp("topology")
    postgres, redis = Postgres(), Redis()
    try:
        postgres.start()
        redis.start()
        settings = {"DEPLOYBOT_DATABASE_URL": postgres.url("deploybot"), "DEPLOYBOT_REDIS_URL": redis.url,
                    "MARVIN_TRACKER_URL": postgres.url("marvin_tracker"), "BENDER_TRACKER_URL": postgres.url("bender_tracker"),
                    "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "2", "DEPLOYBOT_POLL_SECONDS": "1"}
        running = start_stack(base / "var", settings, startup_timeout=600, replicas=2)
        running.postgres = postgres
        yield running
        assert stop_stack(running) == 0
        assert open_ports(running) == []
    except (ServiceMissing, StackDidNotStart) as problem:
        pytest.fail(str(problem))
    finally:
        postgres.stop()
        redis.stop()


def records(topology, user):
    with Database(topology.postgres.url("deploybot")).transaction() as session:
        return list(session.scalars(select(Deployment).where(Deployment.requested_by == user)))


def test_a_conversation_continues_across_replicas_and_each_report_comes_once(topology):
    first, second = topology.replicas["marvin"]
    user = new_user_id()
    assert first.texts(user, "deploy cms 1.0.2") == ["Deploy Content Management System 1.0.2 to staging? (yes/no)"]
    assert second.texts(user, "yes")[0].startswith("OK, deploying Content Management System 1.0.2 to staging")
    second.wait_for(user, "Content Management System: deployed version 1.0.2 to staging in ")
    time.sleep(3)  # both action servers' watchers keep polling: still one report each
    said = first.said(user)
    assert sum(t.startswith("Deploying Content Management System 1.0.2") for t in said) == 1
    assert sum(t.startswith("Content Management System: deployed version 1.0.2") for t in said) == 1
    [record] = records(topology, user)
    assert record.state == "succeeded"
    with create_engine(topology.postgres.url("marvin_tracker"), future=True).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :u"), {"u": user}).scalar() > 5


def test_concurrent_confirmations_on_two_replicas_start_exactly_one_build(topology):
    first, second = topology.replicas["marvin"]
    users = [new_user_id(), new_user_id()]
    assert first.texts(users[0], "deploy shop 4.0.0")[0].endswith("(yes/no)")
    assert second.texts(users[1], "deploy shop 4.0.1")[0].endswith("(yes/no)")
    answers = {}

    def confirm(bot, user):
        answers[user] = bot.texts(user, "yes")[0]

    threads = [threading.Thread(target=confirm, args=pair) for pair in ((first, users[0]), (second, users[1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [u for u, a in answers.items() if a.startswith("OK, deploying Web Shop")]
    refused = [u for u, a in answers.items() if a.startswith("shop is already being deployed to staging by ")]
    assert len(started) == 1 and len(refused) == 1, answers
    builds = [b for b in topology.jenkins.control("GET", "/builds") if b["parameters"].get("REQUESTED_BY") in users]
    assert [b["parameters"]["REQUESTED_BY"] for b in builds] == started
    first.wait_for(started[0], "Web Shop: deployed version")
    assert records(topology, refused[0]) == []
