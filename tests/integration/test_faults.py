"""Jenkins misbehaving: each fault gives a clear message, a truthful record, and no lost or
duplicated report. (Unreachable Jenkins, wrong credentials, a build that never ends and an
action server killed mid-build are in test_deployments.py.)"""
import time
from contextlib import contextmanager

from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import Deployment
from tests.support import http

PARAMETERS = ["VERSION", "ENVIRONMENT", "REQUESTED_BY"]


def said_once(bot, user, *prefixes) -> bool:
    """Whether each of these messages is in the conversation exactly once."""
    said = bot.said(user)
    return all(sum(text.startswith(prefix) for text in said) == 1 for prefix in prefixes)


def records(stack, user):
    with Database(stack.database_url()).transaction() as session:
        return list(session.scalars(select(Deployment).where(Deployment.requested_by == user)))


def test_a_missing_job_is_named_and_recorded_as_failed_to_start(marvin, stack, user):
    stack.jenkins.control("DELETE", "/jobs/deploy-billing")
    try:
        assert marvin.texts(user, "deploy billing 1.2.3") == ["Deploy Billing Service 1.2.3 to staging? (yes/no)"]
        assert marvin.texts(user, "yes") == [
            "I could not start deploying Billing Service 1.2.3 to staging: Jenkins has no job called deploy-billing. Nothing was deployed."]
    finally:
        stack.jenkins.control("POST", "/jobs", {"name": "deploy-billing", "parameters": PARAMETERS})
    assert [(r.state, r.error) for r in records(stack, user)] == [("failed_to_start", "Jenkins has no job called deploy-billing.")]


def test_a_queue_item_jenkins_forgets_before_the_build_number_is_known_is_found_again(marvin, stack, user):
    # No pushes, and Jenkins forgets the queue item the moment its build starts.
    stack.jenkins.control("POST", "/settings", {"push": False, "forget_seconds": 0, "queue_seconds": 0.2})
    try:
        marvin.texts(user, "deploy search 2.7.0")
        assert marvin.texts(user, "yes")[0].startswith("OK, deploying Search API 2.7.0")
        marvin.wait_for(user, "Search API: deployed version 2.7.0 to staging in ")
    finally:
        stack.jenkins.control("POST", "/reset")
    [record] = records(stack, user)
    assert record.state == "succeeded" and record.build_number is not None


def test_duplicated_pushes_still_give_one_report_each(marvin, stack, user):
    port = stack.env["MARVIN_ACTIONS_PORT"]
    url = f"http://127.0.0.1:{port}/jenkins/notifications?token=test-push-token"
    stack.jenkins.control("POST", "/settings", {"notify_url": f"{url} {url} {url}"})
    try:
        marvin.texts(user, "deploy crm 7.7.7")
        marvin.texts(user, "yes")
        marvin.wait_for(user, "Customer Relationship Management: deployed version 7.7.7 to staging in ")
        time.sleep(2.5)
    finally:
        stack.jenkins.control("POST", "/reset")
    assert said_once(marvin, user, "Deploying Customer Relationship Management 7.7.7",
                     "Customer Relationship Management: deployed version 7.7.7")


def test_a_push_without_the_token_is_refused(stack):
    port = stack.env["MARVIN_ACTIONS_PORT"]
    fake = {"name": "deploy-cms", "url": "job/deploy-cms/", "build": {"number": 1, "phase": "COMPLETED", "status": "SUCCESS"}}
    assert http("POST", f"http://127.0.0.1:{port}/jenkins/notifications", fake)[0] == 403
    assert http("POST", f"http://127.0.0.1:{port}/jenkins/notifications?token=wrong", fake)[0] == 403


@contextmanager
def jenkins_faults(stack, *faults):
    """Inside the block the emulator misbehaves, each fault for the next `count` requests
    whose path contains `path`; then it is reset."""
    for fault in faults:
        stack.jenkins.control("POST", "/faults", fault)
    try:
        yield
    finally:
        stack.jenkins.control("POST", "/reset")


def builds_for(stack, user):
    return [b for b in stack.jenkins.control("GET", "/builds") if b["parameters"].get("REQUESTED_BY") == user]


def test_jenkins_answering_500_to_the_build_request_is_said_and_recorded(marvin, stack, user):
    marvin.texts(user, "deploy billing 1.2.4")
    with jenkins_faults(stack, {"path": "buildWithParameters", "status": 500}):
        assert marvin.texts(user, "yes") == [
            "I could not start deploying Billing Service 1.2.4 to staging: Jenkins failed while starting"
            " deploy-billing (HTTP 500). Nothing was deployed."]
    assert [(r.state, r.active_key) for r in records(stack, user)] == [("failed_to_start", None)]
    assert builds_for(stack, user) == []


def test_jenkins_answering_403_twice_names_the_missing_permission(marvin, stack, user):
    # The first 403 could be a stale crumb: the client retries once with a fresh session.
    marvin.texts(user, "deploy billing 1.2.5")
    with jenkins_faults(stack, {"path": "buildWithParameters", "status": 403, "count": 2}):
        [reply] = marvin.texts(user, "yes")
    assert reply == ("I could not start deploying Billing Service 1.2.5 to staging: Jenkins denied deploybot permission"
                     " (HTTP 403): that Jenkins user needs Job/Read and Job/Build on the deploy jobs. Nothing was deployed.")
    assert [r.state for r in records(stack, user)] == ["failed_to_start"] and builds_for(stack, user) == []


def test_one_403_with_a_stale_crumb_is_retried_and_deploys(marvin, stack, user):
    marvin.texts(user, "deploy billing 1.2.6")
    with jenkins_faults(stack, {"path": "buildWithParameters", "status": 403, "count": 1}):
        assert marvin.texts(user, "yes")[0].startswith("OK, deploying Billing Service 1.2.6 to staging")
    marvin.wait_for(user, "Billing Service: deployed version 1.2.6 to staging in ")
    assert len(builds_for(stack, user)) == 1


def test_a_build_request_jenkins_answers_too_late_is_found_and_reported_once(marvin, stack, user):
    # Jenkins queues the build but answers after the client's 5 s timeout: the bot must not
    # claim "nothing was deployed"; the watcher finds the build by its parameters.
    marvin.texts(user, "deploy crm 7.8.0")
    with jenkins_faults(stack, {"path": "buildWithParameters", "delay": 7}):
        assert marvin.texts(user, "yes") == [
            "Jenkins did not answer in time when I asked it to deploy Customer Relationship Management 7.8.0 to"
            " staging, so I don't know yet whether it started. I'm watching Jenkins and will report here either way."]
        marvin.wait_for(user, "Customer Relationship Management: deployed version 7.8.0 to staging in ", timeout=90)
    time.sleep(2)
    assert said_once(marvin, user, "Deploying Customer Relationship Management 7.8.0",
                     "Customer Relationship Management: deployed version 7.8.0")
    [record] = records(stack, user)
    [build] = builds_for(stack, user)
    assert (record.state, record.build_number) == ("succeeded", build["number"])


def test_jenkins_failing_and_slow_while_a_build_runs_delays_the_report_but_never_doubles_it(marvin, stack, user):
    marvin.texts(user, "deploy search 2.8.0")
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Search API 2.8.0")
    # The watcher's reads now fail with 500 and 503, then answer after 6 s (past the timeout).
    with jenkins_faults(stack, {"path": "/api/json", "status": 500, "count": 3},
                        {"path": "/api/json", "status": 503, "count": 2},
                        {"path": "/api/json", "delay": 6, "count": 2}):
        marvin.wait_for(user, "Search API: deployed version 2.8.0 to staging in ", timeout=90)
    time.sleep(2)
    assert said_once(marvin, user, "Deploying Search API 2.8.0",
                     "Search API: deployed version 2.8.0")
    [record] = records(stack, user)
    assert record.state == "succeeded" and record.outcome_reported_at is not None


def test_a_report_sent_again_after_a_timed_out_send_is_not_said_twice(marvin, stack, user):
    # A send that timed out may have been said anyway (Rasa goes on after the client gives
    # up); the watcher sends it again, and the report action must then stay silent.
    marvin.texts(user, "deploy shop 4.4.4")
    marvin.texts(user, "yes")
    marvin.wait_for(user, "Web Shop: deployed version 4.4.4 to staging in ")
    [record] = records(stack, user)
    for report in ("start", "outcome"):
        status, _ = http("POST", f"{marvin.url}/conversations/{user}/trigger_intent?output_channel=latest&token={marvin.token}",
                         {"name": "EXTERNAL_deployment_report", "entities": {"deployment": str(record.id), "report": report}})
        assert status == 200
    assert said_once(marvin, user, "Deploying Web Shop 4.4.4",
                     "Web Shop: deployed version 4.4.4")


def test_a_report_resent_into_a_new_rasa_session_is_not_said_twice(marvin, stack, user):
    # A long conversation at rest gets a new session (deploybot.rasa_glue.conversation_sessions), and the
    # tracker a resend sees starts there: only the outbox's said-mark can keep it silent.
    marvin.texts(user, "deploy shop 4.5.6")
    marvin.texts(user, "yes")
    marvin.wait_for(user, "Web Shop: deployed version 4.5.6 to staging in ")
    [record] = records(stack, user)
    marvin.add_events(user, [{"event": "session_started"}, {"event": "action", "name": "action_listen"}])
    status, answer = http("POST", f"{marvin.url}/conversations/{user}/trigger_intent?output_channel=latest&token={marvin.token}",
                          {"name": "EXTERNAL_deployment_report", "entities": {"deployment": str(record.id), "report": "outcome"}})
    assert status == 200
    # The resend's tracker starts at the new session: the reports said before are not in it.
    assert not any(e["event"] == "bot" and (e.get("text") or "").startswith("Deploying Web Shop")
                   for e in answer["tracker"]["events"])
    assert said_once(marvin, user, "Deploying Web Shop 4.5.6", "Web Shop: deployed version 4.5.6")


def test_a_jenkins_restart_while_a_build_is_queued_keeps_the_app_busy_and_reports_once(marvin, stack, user):
    # Jenkins answers 503 to everything for a while (start-up), the queue survives: the
    # deployment must not be called dropped, its app stays busy, and the build is reported once.
    stack.jenkins.control("POST", "/settings", {"queue_seconds": 3})
    try:
        assert marvin.texts(user, "deploy shop 7.6.0") == ["Deploy Web Shop 7.6.0 to staging? (yes/no)"]
        assert marvin.texts(user, "yes")[0].startswith("OK, deploying Web Shop 7.6.0 to staging: Jenkins has queued it.")
        stack.jenkins.control("POST", "/restart", {"seconds": 8})
        time.sleep(4)  # several watcher rounds meet the restart
        [record] = records(stack, user)
        assert record.state == "queued", (record.state, record.error)
        other = user + "x"
        # Busy is said before the question (issue 24: every rule that blocks, before the yes).
        assert marvin.texts(other, "deploy shop 7.6.1")[0].startswith(f"shop is already being deployed to staging by {user}")
        marvin.wait_for(user, "Web Shop: deployed version 7.6.0 to staging in ", timeout=90)
    finally:
        stack.jenkins.control("POST", "/reset")
    time.sleep(2)
    assert said_once(marvin, user, "Deploying Web Shop 7.6.0", "Web Shop: deployed version 7.6.0")
    [record] = records(stack, user)
    assert record.state == "succeeded" and record.error is None


def test_a_failed_build_whose_console_cannot_be_read_is_reported_and_frees_the_app(marvin, stack, user):
    # A proxy in front of Jenkins refuses HEAD, which reading a console's tail starts with.
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-billing", "result": "FAILURE"})
    marvin.texts(user, "deploy billing 1.3.0")
    with jenkins_faults(stack, {"method": "HEAD", "path": "/logText/progressiveText", "status": 405, "count": 1000}):
        assert marvin.texts(user, "yes")[0].startswith("OK, deploying Billing Service 1.3.0 to staging")
        [report] = marvin.wait_for(user, "Billing Service: deploying version 1.3.0 to staging failed after ", timeout=90)
    assert "(FAILURE)" in report
    assert report.endswith("console unavailable: Jenkins failed while reading the console of deploy-billing"
                           f" #{records(stack, user)[0].build_number} (HTTP 405).")
    [record] = records(stack, user)
    assert (record.state, record.jenkins_result, record.active_key) == ("failed", "FAILURE", None)
    # The app is free: the next deploy starts instead of hearing "already being deployed".
    marvin.texts(user, "deploy billing 1.3.1")
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Billing Service 1.3.1 to staging")
    marvin.wait_for(user, "Billing Service: deployed version 1.3.1 to staging in ", timeout=90)
