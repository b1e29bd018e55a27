"""Held for approvals, and build systems (issue 22, items 5, 8 and 10), against a stack of its
own: Bender requires codes, one approval and the approver's own code, and trusts the build
system B0JENKINS1 (which must still confirm there); Marvin needs one approval and lets his
trusted build systems skip the question (as shipped).

- An approver's own code request never displaces their own deploy that waits for a code.
- "cancel" withdraws a deploy waiting for approvals; "no" calls off an approval waiting for
  the approver's code.
- Approved under a lock: neither the approver nor the requester is told it starts, and
  every sentence is whole ("… Nothing was deployed.").
- A build system never skips a safeguard: refused where a code is needed (it has no phone),
  waiting for approvals where they are needed; a bot that would let it skip a code does not
  start.

Each attack checks that nothing happened (no build, no deployment, no approval) and that the
refusal or withdrawal is audited."""
import os
import subprocess
import sys
import time

import pytest

from tests.safeguards import ASKED, enrol, next_code
from tests.security.evidence import builds_with, last_audit_id, nothing_deployed, refused
from tests.slack_chat import BOT_USERS, BUILD_SYSTEM, CHANNEL, build_system_says, posts, send_event
from tests.support import ADMIN, ROOT, audit_entries, deployments, grant, new_user_id, running_stack

SETTINGS = {"JENKINS_TIMEOUT": "5", "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "1", "DEPLOYBOT_POLL_SECONDS": "1",
            "BENDER_TWO_FACTOR": "required", "BENDER_APPROVALS": "1", "BENDER_APPROVAL_TIMEOUT": "300s",
            "BENDER_APPROVER_TWO_FACTOR": "true", "BENDER_TRUSTED_BUILD_SYSTEMS": BUILD_SYSTEM, "MARVIN_APPROVALS": "1"}


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("holding"), SETTINGS) as running:
        yield running


@pytest.fixture
def bender(held):
    return held.bots["bender"]


USED_STEP = {}  # the last step whose code each authenticator app gave here


def code_now(app) -> str:
    """The code of the next step (accepted: one step of drift), remembered as used."""
    step = int((time.time() + 30) // 30)
    USED_STEP[app.secret] = step
    return app.at(step * 30)


def later_code(app) -> str:
    """A code of a step after the one last used (waits for it, up to 30 s)."""
    while int((time.time() + 30) // 30) <= USED_STEP.get(app.secret, 0):
        time.sleep(0.5)
    return code_now(app)


def confirmed_with_code(bender, user, app_id, version, name, code_app) -> dict:
    """Asks, says yes, gives the code; returns the approval card."""
    assert bender.texts(user, f"@bender deploy {app_id} {version}") == [f"Deploy {name} {version} to production? (yes/no)"]
    assert bender.texts(user, "yes") == [f"Deploy {name} {version} to production {ASKED}"]
    [card] = bender.say(user, code_now(code_app))
    assert card["text"].startswith(f"Approval needed: Deploy {name} {version} to production, asked by {user} (second factor given)."), card
    return card


def test_an_approvers_code_never_displaces_their_own_deploy_waiting_for_a_code(held, bender):
    requester, approver = new_user_id(), new_user_id()
    requester_app, approver_app = enrol(bender, requester), enrol(bender, approver)
    grant(bender, requester, "cms")
    grant(bender, approver, "cms")
    grant(bender, approver, "shop")
    confirmed_with_code(bender, requester, "cms", "9.5.1", "Content Management System", requester_app)
    # The approver's own deploy waits for their code ...
    assert bender.texts(approver, "@bender deploy shop 9.5.0") == ["Deploy Web Shop 9.5.0 to production? (yes/no)"]
    assert bender.texts(approver, "yes") == [f"Deploy Web Shop 9.5.0 to production {ASKED}"]
    # ... when they approve the colleague's: their approval asks for a code of its own.
    assert bender.texts(approver, "approve") == [
        "Your approval of deploy Content Management System 9.5.1 to production counts with your own code:"
        " send me the 6-digit code your authenticator app shows now."]
    first = code_now(approver_app)
    assert bender.texts(approver, first) == [
        f"Approved: Deploy Content Management System 9.5.1 to production. I'm telling {requester}; it starts now.",
        "Deploy Web Shop 9.5.0 to production still waits for your code: send the next one your app shows."]
    bender.wait_for(requester, f"Approved by {approver}. OK, deploying Content Management System 9.5.1 to production")
    nothing_deployed(held, requested_by=approver)
    # The approver's own deploy was never displaced: the next code releases it (to its approval).
    [card] = bender.say(approver, later_code(approver_app))
    assert card["text"].startswith(f"Approval needed: Deploy Web Shop 9.5.0 to production, asked by {approver} (second factor given)."), card
    nothing_deployed(held, requested_by=approver)


def test_cancel_withdraws_a_deploy_waiting_for_approvals_and_no_approval_deploys_it(held, bender):
    requester, approver = new_user_id(), new_user_id()
    requester_app, approver_app = enrol(bender, requester), enrol(bender, approver)
    grant(bender, requester, "crm")
    grant(bender, approver, "crm")
    confirmed_with_code(bender, requester, "crm", "9.6.0", "Customer Relationship Management", requester_app)
    since = last_audit_id(held)
    assert bender.texts(requester, "cancel") == [
        "Withdrawn: Deploy Customer Relationship Management 9.6.0 to production, which waited for approval. Nothing was deployed,"
        " and an approval of it counts no more."]
    [entry] = [e for e in audit_entries(held, requester, "approval", since) if e.outcome == "withdrawn"]
    assert entry.detail == "withdrawn by the requester while waiting for approval: Deploy Customer Relationship Management 9.6.0 to production"
    assert bender.texts(approver, "approve") == ["Nothing waits for your approval. Nothing was done."]
    assert bender.texts(requester, "no") == ["Nothing is waiting for your confirmation. To deploy, say for example “deploy cms 1.0.2”."]
    time.sleep(2)
    nothing_deployed(held, requested_by=requester)
    assert not [e for e in audit_entries(held, approver, "approval", since) if e.outcome == "done"]


def test_no_calls_off_an_approval_waiting_for_the_approvers_code(held, bender):
    requester, approver = new_user_id(), new_user_id()
    requester_app, approver_app = enrol(bender, requester), enrol(bender, approver)
    grant(bender, requester, "billing")
    grant(bender, approver, "billing")
    confirmed_with_code(bender, requester, "billing", "9.6.1", "Billing Service", requester_app)
    assert bender.texts(approver, "approve")[0].startswith("Your approval of deploy Billing Service 9.6.1 to production counts")
    since = last_audit_id(held)
    assert bender.texts(approver, "no") == [
        "Your approval of deploy Billing Service 9.6.1 to production is not given: it waited for your code, and you called it off."]
    refused(held, "two_factor", since, actor=approver, containing="approver called off their approval")
    assert bender.texts(approver, code_now(approver_app)) == [
        "I'm not waiting for a code from you. Nothing was done with that number. I treated it as used, so it is worthless now."]
    time.sleep(2)
    nothing_deployed(held, requested_by=requester)
    assert not [e for e in audit_entries(held, approver, "approval", since) if e.outcome == "done"]


def test_approved_under_a_lock_nobody_is_told_it_starts_and_every_sentence_is_whole(held, bender):
    requester, approver = new_user_id(), new_user_id()
    requester_app, approver_app = enrol(bender, requester), enrol(bender, approver)
    grant(bender, requester, "intranet")
    grant(bender, approver, "intranet")
    card = confirmed_with_code(bender, requester, "intranet", "9.7.0", "Intranet Portal", requester_app)
    assert "Nothing I deployed runs on production yet. 1 approval needed from someone else" in card["text"], card
    assert "nothing deployed by me yet now" not in card["text"]
    [locked] = bender.texts(ADMIN, "@bender lock intranet on production because of the incident")
    assert locked.startswith("Locked intranet on production"), locked
    try:
        assert bender.texts(approver, "approve")[0].startswith("Your approval of deploy Intranet Portal 9.7.0 to production counts")
        [approved] = bender.texts(approver, code_now(approver_app))
        assert approved.startswith("Approved: Deploy Intranet Portal 9.7.0 to production. It cannot start now: intranet on production is locked by"), approved
        assert approved.endswith(f": the incident. The owner or an admin can unlock it. I'm telling {requester}."), approved
        assert "starts now" not in approved and "No:" not in approved
        [told] = bender.wait_for(requester, "Deploy Intranet Portal 9.7.0 to production was approved by")
        assert told.startswith(f"Deploy Intranet Portal 9.7.0 to production was approved by {approver}, but it cannot start:"
                               " intranet on production is locked by"), told
        assert told.endswith(": the incident. The owner or an admin can unlock it. Nothing was deployed."), told
        nothing_deployed(held, requested_by=requester)
    finally:
        assert bender.texts(ADMIN, "@bender unlock intranet on production")[0].startswith("Unlocked")


def test_a_build_system_is_refused_where_a_code_is_needed(held, bender):
    [granted] = bender.texts(ADMIN, f"@bender auth {BUILD_SYSTEM} search")
    assert " may now deploy " in granted, granted
    since = last_audit_id(held)
    thread = build_system_says(held, "bender", "deploy search 9.8.0")
    [reply] = posts(held, thread, "Deploy Search API 9.8.0 to production")
    assert reply["args"]["text"] == (
        "Deploy Search API 9.8.0 to production needs a two-factor code from the person who asks, and a build system cannot"
        " give one: a person has to ask for it. Nothing was deployed.")
    refused(held, "deploy", since, actor=BUILD_SYSTEM, containing="a build system cannot give one")
    since = last_audit_id(held)
    batch = build_system_says(held, "bender", "deploy search 9.8.2 and cms 9.8.3")  # cms: not granted to it
    [reply] = posts(held, batch, "Deploy Search API 9.8.2 to production")
    assert reply["args"]["text"] == (
        "Deploy Search API 9.8.2 to production needs a two-factor code from the person who asks, and a build system cannot"
        " give one: a person has to ask for it. Nothing was deployed.")
    refused(held, "deploy", since, actor=BUILD_SYSTEM, containing="batch: a build system cannot give a two-factor code")
    time.sleep(2)
    nothing_deployed(held, requested_by=BUILD_SYSTEM)


def test_a_build_system_that_skips_the_question_still_waits_for_approvals(held):
    marvin = held.bots["marvin"]
    approver = new_user_id()
    thread = build_system_says(held, "marvin", "deploy crm 9.8.1 to staging")
    [card] = posts(held, thread, "Approval needed: Deploy Customer Relationship Management 9.8.1 to staging")
    assert f"asked by {BUILD_SYSTEM}." in card["args"]["text"]
    time.sleep(2)
    assert builds_with(held, "VERSION", "9.8.1") == [] and not [d for d in deployments(held) if d.version == "9.8.1"]
    assert marvin.texts(approver, "approve crm") == [
        f"Approved: Deploy Customer Relationship Management 9.8.1 to staging. I'm telling {BUILD_SYSTEM}; it starts now."]
    posts(held, thread, "Approved by " + approver + ". OK, deploying Customer Relationship Management 9.8.1 to staging")


@pytest.mark.parametrize("module", ["deploybot.cli.stack", "deploybot.rasa_glue.action_server"])
def test_a_bot_whose_build_systems_would_skip_a_code_does_not_start(tmp_path, module):
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "DEPLOYBOT_VAR_DIR": str(tmp_path), "DEPLOYBOT_ASSISTANT": "marvin",
               "DEPLOYBOT_ACTIONS_TOKEN": "t" * 32, "MARVIN_TWO_FACTOR": "required", "MARVIN_TRUSTED_BUILD_SYSTEMS": BUILD_SYSTEM,
               "DEPLOYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'deploybot.db'}"}
    arguments = ["--port", "1"] if module.endswith("action_server") else []
    finished = subprocess.run([sys.executable, "-m", module, *arguments], cwd=ROOT, env=environ, capture_output=True,
                              text=True, timeout=120)
    assert finished.returncode == 2, finished.stderr[-2000:]
    assert ("Marvin does not start: its build_systems.skip_confirmation is true and it trusts build systems (B0JENKINS1),"
            " but deploys of ") in finished.stderr
    assert "need a two-factor code, which a build system cannot give." in finished.stderr
