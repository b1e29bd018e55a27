"""Scheduled deploys against the running stack (issue 24, item 3): confirmed now through the
whole pipeline (the yes, Bender's code), stored, and at their time asked about once more and
started on that last yes; across a restart of the stack and with two replicas, exactly one
question and one start; a revoked grant at its time starts nothing.

No test waits for a real time: a test schedules "tomorrow at 07:00" and then moves the stored
start (its own row) into the past; the announcer polls every second (DEPLOYBOT_POLL_SECONDS)."""
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from deploybot.storage.database import Database
from deploybot.storage.models import ScheduledDeploy
from tests.conftest import TEST_SETTINGS
from tests.safeguards import ASKED, enrol, next_code
from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.support import ADMIN, audit_entries, deployments, grant, http, new_user_id, replicated_stack, running_stack

BERLIN = ZoneInfo("Europe/Berlin")
DUE = "It's time for your scheduled deploy: "


def tomorrow_at_seven() -> str:
    """How the bots restate "tomorrow at 07:00" (their time zone is Europe/Berlin)."""
    day = datetime.now(BERLIN).date() + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 7, 0, tzinfo=BERLIN)
    return f"{start:%a %Y-%m-%d} at 07:00 {start.tzname()}"


def rows(database_url: str, user: str):
    with Database(database_url).transaction() as session:
        return list(session.scalars(select(ScheduledDeploy).where(ScheduledDeploy.requested_by == user)))


def make_due(database_url: str, user: str, **values) -> None:
    """Moves the user's scheduled start (or when the last yes was asked) into the past."""
    values = values or {"run_at": datetime.now(timezone.utc) - timedelta(minutes=1)}
    with Database(database_url).transaction() as session:
        session.execute(update(ScheduledDeploy).where(ScheduledDeploy.requested_by == user).values(**values))


def trigger_due(bot, user: str, schedule_id: str) -> None:
    """What the schedule announcer sends (trigger_intent, with the bot's API token)."""
    status, answer = http("POST", f"{bot.url}/conversations/{user}/trigger_intent?output_channel=latest&token={bot.token}",
                          {"name": "EXTERNAL_scheduled_deploy", "entities": {"schedule": schedule_id}})
    assert status == 200, answer


def schedule_on_marvin(marvin, user, app="cms", name="Content Management System", version="1.0.9"):
    when = tomorrow_at_seven()
    assert marvin.texts(user, f"deploy {app} {version} tomorrow at 07:00") == [
        f"Deploy {name} {version} to staging on {when}? (yes/no)"]
    assert marvin.texts(user, "yes") == [
        f"Scheduled: Deploy {name} {version} to staging on {when}. At that time I'll ask you here for one last yes "
        "and check everything again; “cancel my scheduled deploy” cancels it."]


def test_a_production_deploy_is_confirmed_with_its_code_now_and_started_on_the_last_yes(safeguarded):
    bender, user = safeguarded.bots["bender"], new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "cms")
    when = tomorrow_at_seven()
    assert bender.texts(user, "@bender deploy cms 7.5.0 tomorrow at 07:00") == [
        f"Deploy Content Management System 7.5.0 to production on {when}? (yes/no)"]
    assert bender.texts(user, "yes") == [f"Deploy Content Management System 7.5.0 to production {ASKED}"]
    [scheduled] = bender.texts(user, next_code(app))
    assert scheduled.startswith(f"Scheduled: Deploy Content Management System 7.5.0 to production on {when}."), scheduled
    nothing_deployed(safeguarded, requested_by=user)
    [row] = rows(safeguarded.database_url(), user)
    assert (row.state, row.second_factor, row.confirmed) == ("scheduled", True, "YES")
    [listed] = bender.texts(user, "what's scheduled?")
    assert f"• Deploy Content Management System 7.5.0 to production on {when}, for {user}" in listed, listed

    make_due(safeguarded.database_url(), user)
    bender.wait_for(user, DUE)
    time.sleep(3)  # several rounds of the announcer: still one question
    assert [t for t in bender.said(user) if t.startswith(DUE)] == [
        f"{DUE}Deploy Content Management System 7.5.0 to production now? (yes/no)"]
    nothing_deployed(safeguarded, requested_by=user)  # nothing deploys by itself
    [started] = bender.texts(user, "yes")  # one click: no code again, it was given when scheduled
    assert started.startswith("OK, deploying Content Management System 7.5.0 to production"), started
    bender.wait_for(user, "Content Management System: deployed version 7.5.0 to production in ")
    [record] = deployments(safeguarded, requested_by=user)
    assert (record.version, record.state) == ("7.5.0", "succeeded")
    [row] = rows(safeguarded.database_url(), user)
    assert (row.state, row.deployment_id) == ("started", record.id)
    outcomes = [e.outcome for e in audit_entries(safeguarded, user, "schedule")]
    assert outcomes == ["scheduled", "asked", "started"]
    assert bender.texts(user, "what's scheduled?") == ["Nothing is scheduled."] or \
        user not in bender.texts(user, "what's scheduled?")[0]


def test_a_revoked_grant_at_its_time_starts_nothing_and_says_why(safeguarded):
    bender, user = safeguarded.bots["bender"], new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "billing")
    assert bender.texts(user, "@bender deploy billing 7.6.0 tomorrow at 07:00")[0].endswith("(yes/no)")
    bender.texts(user, "yes")
    assert bender.texts(user, next_code(app))[0].startswith("Scheduled: ")
    [reply] = bender.texts(ADMIN, f"@bender revoke <@{user}> billing")
    since = last_audit_id(safeguarded)
    make_due(safeguarded.database_url(), user)
    [said] = bender.wait_for(user, "It's time for your scheduled Deploy Billing Service 7.6.0 to production, but I can't: ")
    assert said.endswith("Nothing was deployed."), said
    assert not any(t.startswith(DUE) for t in bender.said(user))
    nothing_deployed(safeguarded, requested_by=user)
    [row] = rows(safeguarded.database_url(), user)
    assert row.state == "refused"
    refused(safeguarded, "schedule", since, actor=user, containing="at its time")


def test_without_an_answer_in_time_nothing_is_deployed_and_the_requester_is_told(stack):
    marvin, user = stack.bots["marvin"], new_user_id()
    schedule_on_marvin(marvin, user, "search", "Search API", "3.9.0")
    make_due(stack.database_url(), user)
    marvin.wait_for(user, DUE)
    make_due(stack.database_url(), user, asked_at=datetime.now(timezone.utc) - timedelta(hours=1))
    marvin.wait_for(user, "You did not answer in time, so Deploy Search API 3.9.0 to staging was not deployed.")
    assert marvin.texts(user, "yes")[0] != "OK"
    nothing_deployed(stack, requested_by=user)
    [row] = rows(stack.database_url(), user)
    assert row.state == "expired"


def test_cancel_and_what_is_scheduled(stack):
    marvin, user = stack.bots["marvin"], new_user_id()
    schedule_on_marvin(marvin, user, "crm", "Customer Relationship Management", "5.9.0")
    assert marvin.texts(user, "cancel my scheduled deploy") == [
        "Cancelled, nothing will be deployed: Deploy Customer Relationship Management 5.9.0 to staging."]
    [row] = rows(stack.database_url(), user)
    assert (row.state, row.ended_by) == ("cancelled", user)
    make_due(stack.database_url(), user)
    time.sleep(3)
    assert not any(t.startswith(DUE) for t in marvin.said(user))
    assert [e.outcome for e in audit_entries(stack, user, "schedule")] == ["scheduled", "cancelled"]


@pytest.mark.parametrize("text, reason", [
    ("deploy cms 1.0.9 after the freeze", "There is no freeze now, so there is nothing to wait for"),
    ("deploy cms 1.0.9 today at 00:00", "has passed already"),
])
def test_a_start_that_cannot_be_scheduled_is_refused_clearly(stack, text, reason):
    marvin, user = stack.bots["marvin"], new_user_id()
    [said] = marvin.texts(user, text)
    assert reason in said, said
    assert rows(stack.database_url(), user) == []


def test_a_scheduled_deploy_survives_a_restart_of_the_stack(tmp_path):
    user = new_user_id()
    with running_stack(tmp_path / "var", TEST_SETTINGS) as first:
        schedule_on_marvin(first.bots["marvin"], user)
        database_url = first.database_url()
    make_due(database_url, user)
    with running_stack(tmp_path / "var", TEST_SETTINGS) as second:
        marvin = second.bots["marvin"]
        marvin.wait_for(user, DUE)
        assert marvin.texts(user, "yes")[0].startswith("OK, deploying Content Management System 1.0.9 to staging")
        marvin.wait_for(user, "Content Management System: deployed version 1.0.9 to staging in ")
        assert len([t for t in marvin.said(user) if t.startswith(DUE)]) == 1
        assert len(deployments(second, requested_by=user)) == 1


def test_two_replicas_ask_once_and_start_once(tmp_path):
    settings = {"DEPLOYBOT_EMULATOR_BUILD_SECONDS": "2", "DEPLOYBOT_POLL_SECONDS": "1"}
    user = new_user_id()
    with replicated_stack(tmp_path / "var", settings) as topology:
        first, second = topology.replicas["marvin"]
        database_url = topology.postgres.url("deploybot")
        schedule_on_marvin(first, user, "shop", "Web Shop", "4.9.0")
        make_due(database_url, user)
        # Besides both announcers, each replica gets the announcer's trigger at the same moment
        # (as after a restart that sends again): only the action that claims the row speaks.
        [row] = rows(database_url, user)
        threads = [threading.Thread(target=trigger_due, args=(bot, user, row.id)) for bot in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        first.wait_for(user, DUE)
        time.sleep(4)  # both action servers' announcers keep polling
        assert len([t for t in second.said(user) if t.startswith(DUE)]) == 1
        assert second.texts(user, "yes")[0].startswith("OK, deploying Web Shop 4.9.0 to staging")
        assert second.texts(user, "yes")[0].startswith("Nothing is waiting for your confirmation")
        first.wait_for(user, "Web Shop: deployed version 4.9.0 to staging in ")
        with Database(database_url).transaction() as session:
            from deploybot.storage.models import Deployment
            assert len(list(session.scalars(select(Deployment).where(Deployment.requested_by == user)))) == 1
        [row] = rows(database_url, user)
        assert row.state == "started"


def test_the_dashboard_shows_what_is_scheduled_and_which_deployment_came_from_a_schedule(stack, tmp_path):
    from tests.integration.test_ledger_web import start_dashboard, stop

    marvin, waiting, started = stack.bots["marvin"], new_user_id(), new_user_id()
    schedule_on_marvin(marvin, waiting, "intranet", "Intranet Portal", "2.9.7")
    schedule_on_marvin(marvin, started, "cms", "Content Management System", "1.0.77")
    make_due(stack.database_url(), started)
    marvin.wait_for(started, DUE)
    assert marvin.texts(started, "yes")[0].startswith("OK, deploying")
    [record] = deployments(stack, requested_by=started)
    dashboard = start_dashboard(stack.database_url(), tmp_path)
    try:
        session = dashboard.signed_in()
        now = dashboard.get("/", session).text
        assert "<h2>Scheduled deploys</h2>" in now
        assert f"Intranet Portal 2.9.7 to staging at " in now and f"for {waiting}" in now
        assert "Content Management System 1.0.77" not in now.split("<h2>Scheduled deploys</h2>")[1]  # started: no longer listed
        page = dashboard.get(f"/deployments/{record.id}", session).text
        assert "<dt>From a schedule</dt>" in page
        assert "<dt>From a schedule</dt>" not in dashboard.get(f"/deployments/{record.id - 1}", session).text
    finally:
        stop(dashboard)
        marvin.texts(waiting, "cancel my scheduled deploy")


def test_the_terminal_chat_schedules_asks_at_the_time_and_starts_on_the_last_yes(stack):
    from tests.integration.test_terminal_chat import Chat

    user = new_user_id()
    chat = Chat(stack.env, user=user)
    try:
        chat.expect_start("You are ")
        when = tomorrow_at_seven()
        chat.type("marvin, deploy search 3.9.5 tomorrow at 07:00")
        chat.expect(f"Marvin: Deploy Search API 3.9.5 to staging on {when}? (yes/no)")
        chat.expect("        [Yes]  [No]")
        chat.type("yes")
        chat.expect_start(f"Marvin: Scheduled: Deploy Search API 3.9.5 to staging on {when}.")
        chat.type("marvin, what's scheduled?")
        chat.expect("Marvin: Scheduled:")
        make_due(stack.database_url(), user)
        chat.expect(f"Marvin: {DUE}Deploy Search API 3.9.5 to staging now? (yes/no)")
        chat.expect("        [Yes]  [No]")
        chat.type("yes")
        chat.expect_start("Marvin: OK, deploying Search API 3.9.5 to staging")
        chat.expect_start("Marvin: Search API: deployed version 3.9.5 to staging in ")
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
    finally:
        chat.process.kill()


@pytest.fixture(scope="module")
def four_eyes(tmp_path_factory):
    """Bender with a code and one approval for production (approvers need no code of their own here)."""
    settings = {"JENKINS_TIMEOUT": "5", "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "1", "DEPLOYBOT_POLL_SECONDS": "1",
                "BENDER_TWO_FACTOR": "required", "BENDER_APPROVALS": "1"}
    with running_stack(tmp_path_factory.mktemp("schedule-four-eyes"), settings) as running:
        yield running


def test_approvals_are_collected_before_the_time_and_kept_for_the_start(four_eyes):
    bender, user, colleague = four_eyes.bots["bender"], new_user_id(), new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "cms")
    grant(bender, colleague, "cms")
    when = tomorrow_at_seven()
    assert bender.texts(user, "@bender deploy cms 8.5.0 tomorrow at 07:00") == [
        f"Deploy Content Management System 8.5.0 to production on {when}? (yes/no)"]
    bender.texts(user, "yes")
    [card] = bender.texts(user, next_code(app))
    assert card.startswith(f"Approval needed: Deploy Content Management System 8.5.0 to production on {when}, asked by {user}"), card
    bender.texts(colleague, "bender, approve")
    bender.wait_for(user, f"Approved by {colleague}. Scheduled: Deploy Content Management System 8.5.0 to production on {when}.")
    nothing_deployed(four_eyes, requested_by=user)
    [row] = rows(four_eyes.database_url(), user)
    assert (row.state, row.approved_by, row.second_factor) == ("scheduled", colleague, True)
    make_due(four_eyes.database_url(), user)
    bender.wait_for(user, DUE)
    assert bender.texts(user, "yes")[0].startswith("OK, deploying Content Management System 8.5.0 to production")
    [record] = deployments(four_eyes, requested_by=user)
    assert (record.approved_by, record.second_factor) == (colleague, True)
