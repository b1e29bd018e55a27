"""Deployments end to end: the real stack (both bots, their action servers with the watcher,
the Jenkins emulator, a real database), driven over the REST channel. Reports arrive later
through trigger_intent; the tests read them from the tracker over the HTTP API.

Each test uses its own app or waits for its builds to end, so that the one-active-
deployment rule of one test never meets another's."""
import json
import os
import re
import signal
import subprocess
import time

from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import AuditEntry
from tests.conftest import TEST_SETTINGS
from tests.support import ADMIN, deployments, grant, new_user_id

BUILD_URL = r"http://127\.0\.0\.1:\d+/job/{job}/(\d+)/"


def deploy(bot, user, message, expected_question):
    assert bot.texts(user, message) == [expected_question]
    [reply] = bot.texts(user, "yes")
    return reply


def start_pattern(name, version, environment, job):
    return re.compile(
        rf"^Deploying {name} {re.escape(version)} to {environment}: Jenkins build #(\d+) started"
        rf"(?: \(usually takes about [^)]+\))?\. {BUILD_URL.format(job=re.escape(job))}$"
    )


def test_deploy_to_staging_reports_the_start_and_the_success_in_the_conversation(marvin, stack, user):
    reply = deploy(marvin, user, "marvin, put cms 1.0.2 on staging", "Deploy Content Management System 1.0.2 to staging? (yes/no)")
    assert reply == ("OK, deploying Content Management System 1.0.2 to staging: Jenkins has queued it."
                     " I'll report here when the build starts and when it ends.")
    [started] = marvin.wait_for(user, "Deploying Content Management System")
    match = start_pattern("Content Management System", "1.0.2", "staging", "deploy-cms").match(started)
    assert match, started
    assert match.group(1) == match.group(2)  # the build number in the text and in the URL
    [done] = marvin.wait_for(user, "Content Management System: deployed")
    assert re.fullmatch(r"Content Management System: deployed version 1\.0\.2 to staging in \d+ sec", done), done

    # Jenkins got exactly one build with the validated parameters (a real job lists its other
    # parameters too, with their defaults), and the record is complete.
    [build] = [b for b in stack.jenkins.builds("deploy-cms") if b["parameters"].get("REQUESTED_BY") == user]
    sent = {name: value for name, value in build["parameters"].items() if name in ("VERSION", "ENVIRONMENT", "REQUESTED_BY")}
    assert sent == {"VERSION": "1.0.2", "ENVIRONMENT": "staging", "REQUESTED_BY": user}
    [record] = deployments(stack, requested_by=user)
    assert (record.assistant, record.app, record.environment, record.version, record.state, record.jenkins_result) == (
        "marvin", "cms", "staging", "1.0.2", "succeeded", "SUCCESS")
    assert record.build_number == build["number"] and record.active_key is None
    for moment in (record.requested_at, record.confirmed_at, record.queued_at, record.started_at, record.finished_at,
                   record.start_reported_at, record.outcome_reported_at):
        assert moment is not None
    # Reported once each, even with pushes and polling both following the build.
    time.sleep(2.5)
    said = marvin.said(user)
    assert sum(t.startswith("Deploying Content Management System") for t in said) == 1
    assert sum(t.startswith("Content Management System: deployed") for t in said) == 1


def test_a_renamed_parameter_set_and_a_folder_job_reach_jenkins_as_configured(marvin, stack, user):
    deploy(marvin, user, "deploy intranet 3.1.0", "Deploy Intranet Portal 3.1.0 to staging? (yes/no)")
    marvin.wait_for(user, "Intranet Portal: deployed version 3.1.0 to staging in ")
    [build] = [b for b in stack.jenkins.builds("intranet/deploy") if b["parameters"].get("REQUESTED_BY") == user]
    sent = {name: value for name, value in build["parameters"].items() if name in ("APP_VERSION", "TARGET_ENV", "REQUESTED_BY")}
    assert sent == {"APP_VERSION": "3.1.0", "TARGET_ENV": "staging", "REQUESTED_BY": user}


def test_a_failed_build_is_reported_with_the_last_console_lines(marvin, stack, user):
    console = [f"step {n}" for n in range(1, 15)] + ["ERROR: migration 42 failed"]
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-billing", "result": "FAILURE", "seconds": 1, "console": console})
    deploy(marvin, user, "deploy billing 2.3.4 to stage", "Deploy Billing Service 2.3.4 to staging? (yes/no)")
    [failed] = marvin.wait_for(user, "Billing Service: deploying version 2.3.4 to staging failed")
    first, *tail = failed.splitlines()
    assert re.fullmatch(r"Billing Service: deploying version 2\.3\.4 to staging failed after \d+ sec \(FAILURE\)\. "
                        + r"Build #(\d+): " + BUILD_URL.format(job="deploy-billing"), first), first
    assert len(tail) == 10 and tail[-1] == "Finished: FAILURE" and "ERROR: migration 42 failed" in tail
    [record] = deployments(stack, requested_by=user)
    assert (record.state, record.jenkins_result) == ("failed", "FAILURE")


def test_production_needs_a_grant_and_a_success_goes_to_the_management_channel(bender, stack, user):
    [refusal] = bender.texts(user, "@bender deploy shop 5.0.0")
    assert refusal.startswith("You may not deploy Web Shop to production: an admin has to grant it to you first")
    outsider = new_user_id()
    assert bender.texts(outsider, f"@bender auth <@{user}> shop")[0].startswith("Only admins can grant")
    grant(bender, user, "shop")
    deploy(bender, user, "@bender deploy shop 5.0.0", "Deploy Web Shop 5.0.0 to production? (yes/no)")
    bender.wait_for(user, "Deploying Web Shop 5.0.0 to production: Jenkins build #")
    [done] = bender.wait_for(user, "Web Shop: deployed version 5.0.0 to production in ")
    management = stack.var_dir / "log" / "management.log"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and user not in (management.read_text() if management.exists() else ""):
        time.sleep(0.3)
    posts = [json.loads(line) for line in management.read_text().splitlines() if user in line]
    assert len(posts) == 1 and posts[0]["channel"] == "#deployments-management"
    assert re.fullmatch(rf"Web Shop 5\.0\.0 is on production: deployed by {user} in \d+ sec\. Build #\d+: "
                        + BUILD_URL.format(job="deploy-shop"), posts[0]["text"]), posts[0]
    with Database(stack.database_url()).transaction() as session:
        actions = [(e.action, e.outcome) for e in session.scalars(select(AuditEntry).where(AuditEntry.actor == outsider))]
    assert actions == [("grant", "refused")]


def test_a_second_deployment_of_the_same_app_is_refused_and_only_the_requester_or_an_admin_cancels(marvin, stack, user):
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-crm", "hang": True})
    deploy(marvin, user, "deploy crm 1.4.0", "Deploy Customer Relationship Management 1.4.0 to staging? (yes/no)")
    marvin.wait_for(user, "Deploying Customer Relationship Management 1.4.0 to staging: Jenkins build #")
    [record] = deployments(stack, requested_by=user)
    other = new_user_id()
    # Refused before the question (every rule that blocks, before the yes), with the queue offered (issue 24).
    refusal, offer = marvin.texts(other, "deploy crm 1.5.0")
    assert offer.startswith("You can wait your turn: say “queue me”")
    assert re.fullmatch(rf"crm is already being deployed to staging by {user} \(version 1\.4\.0, build #{record.build_number}, "
                        r"started \d+ sec ago\)\.", refusal), refusal
    assert not deployments(stack, requested_by=other)  # nothing recorded, nothing sent to Jenkins
    assert [b["parameters"]["VERSION"] for b in stack.jenkins.builds("deploy-crm")].count("1.5.0") == 0

    assert marvin.texts(other, "cancel the crm deployment") == [
        f"Only {user}, who asked for this deployment, or an admin can cancel it."]
    assert marvin.texts(user, "cancel the crm deployment") == [
        f"Cancelling the deployment of crm 1.4.0 to staging (build #{record.build_number}). I'll confirm when Jenkins has stopped it."]
    [aborted] = marvin.wait_for(user, "Customer Relationship Management: deploying version 1.4.0 to staging was aborted")
    assert re.fullmatch(rf"Customer Relationship Management: deploying version 1\.4\.0 to staging was aborted by {user} "
                        rf"after \d+ sec\. Build #{record.build_number}: " + BUILD_URL.format(job="deploy-crm"), aborted), aborted
    [record] = deployments(stack, requested_by=user)
    assert (record.state, record.jenkins_result, record.cancelled_by) == ("aborted", "ABORTED", user)


def test_rollback_redeploys_the_previous_successful_version_after_a_yes(marvin, user):
    for version in ("1.0.0", "1.1.0"):
        deploy(marvin, user, f"deploy search {version}", f"Deploy Search API {version} to staging? (yes/no)")
        marvin.wait_for(user, f"Search API: deployed version {version} to staging in ")
    assert marvin.texts(user, "roll back search") == ["Roll back Search API on staging from 1.1.0 to 1.0.0? (yes/no)"]
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Search API 1.0.0 to staging")
    # The rollback's own report: the first 1.0.0's was said already (the app stays busy until then).
    marvin.wait_for(user, "Search API: deployed version 1.0.0 to staging in ", count=2)


def test_a_lock_stops_deployments_and_rollbacks_until_its_owner_or_an_admin_unlocks(marvin, stack, user):
    other = new_user_id()
    assert marvin.texts(user, "lock staging because we are running load tests") == [
        "Locked staging: no deployments until it is unlocked. Reason: we are running load tests."]
    try:
        refusal, offer = marvin.texts(other, "deploy shop 2.0.0")
        assert offer.startswith("You can wait your turn: say “queue me”")  # the queue (issue 24)
        assert re.fullmatch(rf"No: staging is locked by {user} since \d{{4}}-\d\d-\d\d \d\d:\d\d CES?T \(\d+ sec ago\): "
                            r"we are running load tests\. The owner or an admin can unlock it\.", refusal), refusal
        assert marvin.texts(other, "roll back search")[0].startswith(f"No: staging is locked by {user}")
        assert marvin.texts(other, "unlock staging") == [f"Only {user}, who locked staging, or an admin can unlock it."]
    finally:
        assert marvin.texts(user, "unlock staging") == ["Unlocked staging: deployments are allowed again."]
    assert marvin.texts(other, "deploy shop 2.0.0") == ["Deploy Web Shop 2.0.0 to staging? (yes/no)"]
    assert marvin.texts(other, "no") == ["Cancelled, nothing was deployed."]
    # An admin may lift someone else's lock.
    marvin.texts(user, "lock staging")
    assert marvin.texts(ADMIN, "unlock staging") == ["Unlocked staging: deployments are allowed again."]


def test_bender_offers_to_promote_what_staging_runs(marvin, bender, stack, user):
    deploy(marvin, user, "deploy crm 4.2.0", "Deploy Customer Relationship Management 4.2.0 to staging? (yes/no)")
    marvin.wait_for(user, "Customer Relationship Management: deployed version 4.2.0 to staging in ")
    grant(bender, user, "crm")
    reply = deploy(bender, user, "bender, deploy crm", "Promote Customer Relationship Management 4.2.0 from staging to production? (yes/no)")
    assert reply.startswith("OK, deploying Customer Relationship Management 4.2.0 to production")
    bender.wait_for(user, "Customer Relationship Management: deployed version 4.2.0 to production in ")
    assert [d.kind for d in deployments(stack, requested_by=user)] == ["deploy", "promotion"]


def test_status_and_history_answer_from_the_records(marvin, user):
    deploy(marvin, user, "deploy billing 7.0.1", "Deploy Billing Service 7.0.1 to staging? (yes/no)")
    marvin.wait_for(user, "Billing Service: deployed version 7.0.1 to staging in ")
    [status] = marvin.texts(user, "what version of billing is on staging?")
    assert status.startswith("Nothing is running. Last results:\n• Billing Service: 7.0.1 is on staging (deployed by ")
    [history] = marvin.texts(user, "history of billing on staging")
    assert history.startswith("The last ") and f"billing 7.0.1 → staging by {user}: succeeded in " in history


def test_jenkins_unreachable_is_said_plainly_and_recorded_as_failed_to_start(marvin, stack, user):
    stack.jenkins.control("POST", "/refuse-connections", {"seconds": 30})
    try:
        reply = deploy(marvin, user, "deploy shop 3.3.3", "Deploy Web Shop 3.3.3 to staging? (yes/no)")
    finally:
        stack.jenkins.control("POST", "/refuse-connections", {"seconds": 0})
    assert re.fullmatch(r"I could not start deploying Web Shop 3\.3\.3 to staging: Jenkins at http://127\.0\.0\.1:\d+ "
                        r"is unreachable \(connection refused\)\. Nothing was deployed\.", reply), reply
    [record] = deployments(stack, requested_by=user)
    assert (record.state, record.active_key) == ("failed_to_start", None)
    assert "unreachable" in record.error


def test_wrong_jenkins_credentials_are_said_plainly(marvin, stack, user):
    stack.jenkins.control("POST", "/settings", {"api_token": "rotated-by-someone-else"})
    try:
        reply = deploy(marvin, user, "deploy cms 9.9.9", "Deploy Content Management System 9.9.9 to staging? (yes/no)")
    finally:
        stack.jenkins.control("POST", "/reset")
    assert reply.startswith("I could not start deploying Content Management System 9.9.9 to staging: "
                            "Jenkins refused the credentials in JENKINS_USER/JENKINS_API_TOKEN"), reply
    assert [d.state for d in deployments(stack, requested_by=user)] == ["failed_to_start"]


def action_server_pid(port: int) -> int:
    found = subprocess.run(["pgrep", "-f", f"deploybot.rasa_glue.action_server --host 127.0.0.1 --port {port}"],
                           capture_output=True, text=True).stdout.split()
    assert len(found) == 1, found
    return int(found[0])


def test_a_build_outlives_its_action_server_and_is_still_reported_exactly_once(marvin, stack, user):
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-shop", "hang": True})
    deploy(marvin, user, "deploy shop 8.0.0", "Deploy Web Shop 8.0.0 to staging? (yes/no)")
    marvin.wait_for(user, "Deploying Web Shop 8.0.0 to staging: Jenkins build #")
    [record] = deployments(stack, requested_by=user)
    port = int(stack.env["MARVIN_ACTIONS_PORT"])
    os.kill(action_server_pid(port), signal.SIGKILL)
    # The build ends while nobody watches; its push is lost.
    stack.jenkins.control("POST", "/finish", {"job": "deploy-shop", "number": record.build_number, "result": "SUCCESS"})
    # deploybot.cli.stack starts the action server again; its watcher resumes from the database.
    marvin.wait_for(user, "Web Shop: deployed version 8.0.0 to staging in ", timeout=180)
    time.sleep(3)
    said = marvin.said(user)
    assert sum(t.startswith("Web Shop: deployed version 8.0.0") for t in said) == 1
    assert sum(t.startswith("Deploying Web Shop 8.0.0") for t in said) == 1
    assert deployments(stack, requested_by=user)[0].state == "succeeded"


def test_a_build_that_never_ends_is_reported_as_timed_out(marvin, stack, user):
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-search", "hang": True})
    deploy(marvin, user, "deploy search 6.6.6", "Deploy Search API 6.6.6 to staging? (yes/no)")
    [timed_out] = marvin.wait_for(user, "Search API: deploying version 6.6.6 to staging timed out", timeout=90)
    limit = TEST_SETTINGS["DEPLOYBOT_BUILD_TIMEOUT_SECONDS"]
    assert re.fullmatch(r"Search API: deploying version 6\.6\.6 to staging timed out: build #(\d+) was still running after "
                        rf"{limit} sec, so I asked Jenkins to stop it\. Build #\1: " + BUILD_URL.format(job="deploy-search"), timed_out), timed_out
    [record] = deployments(stack, requested_by=user)
    assert (record.state, record.active_key) == ("timed_out", None)


def test_on_bender_only_people_with_a_grant_or_admins_may_lock(bender, stack, user):
    assert bender.texts(user, "lock production") == ["Only people who may deploy to production, or an admin, can lock it."]
    assert bender.texts(ADMIN, "lock billing on production, audit in progress") == [
        "Locked billing on production: no deployments until it is unlocked. Reason: audit in progress."]
    assert bender.texts(ADMIN, "unlock billing on production") == ["Unlocked billing on production: deployments are allowed again."]
    with Database(stack.database_url()).transaction() as session:
        audited = [(e.action, e.outcome) for e in session.scalars(select(AuditEntry).where(AuditEntry.actor == user))]
    assert audited == [("lock", "refused")]
