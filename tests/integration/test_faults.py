"""Jenkins misbehaving: each fault gives a clear message, a truthful record, and no lost or
duplicated report. (Unreachable Jenkins, wrong credentials, a build that never ends and an
action server killed mid-build are in test_deployments.py.)"""
import time

from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import Deployment
from tests.support import http

PARAMETERS = ["VERSION", "ENVIRONMENT", "REQUESTED_BY"]


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
    said = marvin.said(user)
    assert sum(t.startswith("Deploying Customer Relationship Management 7.7.7") for t in said) == 1
    assert sum(t.startswith("Customer Relationship Management: deployed version 7.7.7") for t in said) == 1


def test_a_push_without_the_token_is_refused(stack):
    port = stack.env["MARVIN_ACTIONS_PORT"]
    fake = {"name": "deploy-cms", "url": "job/deploy-cms/", "build": {"number": 1, "phase": "COMPLETED", "status": "SUCCESS"}}
    assert http("POST", f"http://127.0.0.1:{port}/jenkins/notifications", fake)[0] == 403
    assert http("POST", f"http://127.0.0.1:{port}/jenkins/notifications?token=wrong", fake)[0] == 403
