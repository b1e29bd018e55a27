"""The production topology for real: PostgreSQL for deploybot's database and both bots'
tracker stores, Redis as Rasa's lock store, two Rasa replicas and two action servers per
bot, all sharing them."""
import os
import signal
import threading
import time

import pytest
from sqlalchemy import create_engine, select, text

from deploybot.domain import messages
from deploybot.cli.stack import is_ready
from deploybot.storage.database import Database
from deploybot.storage.models import Deployment
from tests.support import grant, new_user_id, rasa_pid, replicated_stack


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    settings = {"DEPLOYBOT_EMULATOR_BUILD_SECONDS": "2", "DEPLOYBOT_POLL_SECONDS": "1"}
    with replicated_stack(tmp_path_factory.mktemp("topology") / "var", settings) as running:
        yield running


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


def jenkins_builds(topology, user):
    return [b for b in topology.jenkins.control("GET", "/builds") if b["parameters"].get("REQUESTED_BY") == user]


def test_the_database_briefly_down_gets_a_plain_answer_and_loses_no_report(topology):
    bot = topology.replicas["marvin"][0]
    user = new_user_id()
    assert bot.texts(user, "deploy billing 3.1.0")[0].endswith("(yes/no)")
    with topology.postgres.unavailable("deploybot"):
        assert bot.texts(user, "yes") == [messages.DATABASE_UNREACHABLE]
    assert records(topology, user) == [] and jenkins_builds(topology, user) == []
    # The request is still pending: the next yes deploys it.
    assert bot.texts(user, "yes")[0].startswith("OK, deploying Billing Service 3.1.0 to staging")
    # The database goes away again while the build runs (2 s) and ends.
    with topology.postgres.unavailable("deploybot"):
        time.sleep(5)
    bot.wait_for(user, "Billing Service: deployed version 3.1.0 to staging in ")
    time.sleep(3)
    said = bot.said(user)
    assert sum(t.startswith("Deploying Billing Service 3.1.0") for t in said) == 1
    assert sum(t.startswith("Billing Service: deployed version 3.1.0") for t in said) == 1
    [record] = records(topology, user)
    assert record.state == "succeeded" and len(jenkins_builds(topology, user)) == 1


def test_a_rasa_server_restarted_mid_conversation_continues_from_the_tracker_store(topology):
    bot = topology.replicas["bender"][1]
    user = new_user_id()
    grant(topology.bots["bender"], user, "crm")
    assert bot.texts(user, "deploy crm 9.1.0 to production") == [
        "Deploy Customer Relationship Management 9.1.0 to production? (yes/no)"]
    os.kill(rasa_pid(bot.port), signal.SIGKILL)
    # The stack starts it again, as a service manager would; loading the model takes a while.
    time.sleep(2)
    deadline = time.monotonic() + 300
    while not is_ready(f"{bot.url}/status?token={bot.token}"):
        assert time.monotonic() < deadline, "the killed Rasa server did not come back"
        time.sleep(2)
    assert bot.texts(user, "yes")[0].startswith("OK, deploying Customer Relationship Management 9.1.0 to production")
    bot.wait_for(user, "Customer Relationship Management: deployed version 9.1.0 to production in ")
