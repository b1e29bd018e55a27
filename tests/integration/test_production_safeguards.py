"""Production safeguards against the running stack (issue 14): Bender asks for a code from the
requester's authenticator app after the yes and before Jenkins. Enrolment, the code over
REST (as the terminal chat sends it) and in a Slack modal, wrong codes, the lock, an admin's
reset, and encrypted storage. The attacks are in tests/security/test_two_factor_attacks.py.

The stack is the session fixture `safeguarded` (tests/conftest.py): BENDER_TWO_FACTOR=required
(the shared test stack switches codes off so that the other Bender tests need no enrolment).
Codes come from pyotp with the secret of the otpauth:// URI the bot handed out."""
import json
import time

import pyotp
import pytest

from tests.safeguards import (
    ASKED, URI, ask_and_confirm, assert_never_said, enrol, next_code, shown_privately, submit_code, wait, wrong_code,
)
from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.slack_chat import click, mention, posts, updates_of
from tests.support import ADMIN, TWO_FACTOR_KEY, audit_entries, deployments, grant, new_user_id


@pytest.fixture
def bender(safeguarded):
    return safeguarded.bots["bender"]


def test_a_production_deploy_waits_for_a_right_code_and_every_attempt_is_audited(safeguarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "cms")
    since = last_audit_id(safeguarded)
    assert ask_and_confirm(bender, user, "cms", "7.0.1", "Content Management System") == [
        f"Deploy Content Management System 7.0.1 to production {ASKED}"]
    nothing_deployed(safeguarded, requested_by=user)
    wrong = wrong_code(app)
    assert bender.texts(user, wrong) == [
        "That code is not right (or not the current one). Nothing was deployed yet; send the current code to try again."
        " 4 wrong codes more and two-factor locks."]
    nothing_deployed(safeguarded, requested_by=user)
    code = next_code(app)
    [started] = bender.texts(user, code)
    assert started.startswith("OK, deploying Content Management System 7.0.1 to production: Jenkins has queued it."), started
    bender.wait_for(user, "Content Management System: deployed version 7.0.1 to production in ")
    [record] = deployments(safeguarded, requested_by=user)
    assert (record.version, record.environment, record.state) == ("7.0.1", "production", "succeeded")
    outcomes = [(e.outcome, e.detail) for e in audit_entries(safeguarded, user, "two_factor", since)]
    assert outcomes == [("asked", "code asked for: Deploy Content Management System 7.0.1 to production"),
                        ("refused", "code wrong for: Deploy Content Management System 7.0.1 to production"),
                        ("done", "code accepted for: Deploy Content Management System 7.0.1 to production")]
    assert_never_said(safeguarded, bender, user, wrong, code)


def test_without_enrolment_nothing_is_deployed_and_the_user_is_told_how_to_enrol(safeguarded, bender):
    user = new_user_id()
    grant(bender, user, "crm")
    since = last_audit_id(safeguarded)
    [reply] = ask_and_confirm(bender, user, "crm", "7.2.0", "Customer Relationship Management")
    assert reply.startswith("Deploy Customer Relationship Management 7.2.0 to production needs a code from your authenticator app, "
                            "and you have not set up two-factor yet. Say “set up two-factor” to me"), reply
    assert reply.endswith("Nothing was deployed.")
    refused(safeguarded, "two_factor", since, actor=user, containing="not enrolled")
    assert bender.texts(user, "123456") == ["I'm not waiting for a code from you. Nothing was done with that number."]
    nothing_deployed(safeguarded, requested_by=user)


def test_five_wrong_codes_lock_two_factor_until_an_admin_resets_it(safeguarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "billing")
    ask_and_confirm(bender, user, "billing", "7.3.0", "Billing Service")
    wrong = wrong_code(app)
    for left in (4, 3, 2):
        assert bender.texts(user, wrong) == [
            "That code is not right (or not the current one). Nothing was deployed yet; send the current code to try again."
            f" {left} wrong codes more and two-factor locks."]
    # After 3 wrong codes each try waits twice as long (10 s, then 20 s); one sent sooner is not checked.
    assert bender.texts(user, wrong) == [
        "Too many wrong codes in a row: I check the next code in 10 s, not sooner, so that one was not checked. "
        "Nothing was deployed yet. 2 wrong codes more and two-factor locks."]
    time.sleep(10)
    assert bender.texts(user, wrong)[0].endswith(" 1 wrong code more and two-factor locks.")
    time.sleep(20)
    [locked] = bender.texts(user, wrong)
    assert "Two-factor is locked for you after too many wrong codes" in locked
    assert bender.texts(user, next_code(app)) == ["I'm not waiting for a code from you. Nothing was done with that number."]
    [again] = ask_and_confirm(bender, user, "billing", "7.3.0", "Billing Service")
    assert "Two-factor is locked for you" in again
    nothing_deployed(safeguarded, requested_by=user)

    outsider = new_user_id()
    since = last_audit_id(safeguarded)
    assert bender.texts(outsider, f"bender, reset two-factor for <@{user}>") == ["Only an admin can reset someone's two-factor. Nothing was changed."]
    refused(safeguarded, "two_factor_reset", since, actor=outsider, containing="not an admin")
    assert bender.texts(ADMIN, f"bender, reset two-factor for <@{user}>") == [
        f"Two-factor for {user} is reset: they set it up again before their next production deploy."]
    [entry] = audit_entries(safeguarded, ADMIN, "two_factor_reset", since)
    assert (entry.outcome, entry.target_user) == ("done", user)
    [unenrolled] = ask_and_confirm(bender, user, "billing", "7.3.0", "Billing Service")
    assert "you have not set up two-factor yet" in unenrolled
    enrol(bender, user)  # a fresh secret: the old one's codes are worthless now


def test_the_secret_is_stored_encrypted_and_the_stack_has_the_key(safeguarded, bender):
    from sqlalchemy import text

    from deploybot.storage.database import Database

    user = new_user_id()
    instructions = shown_privately(bender, user, "bender, set up two-factor")
    secret = pyotp.parse_uri(URI.search(instructions).group(0)).secret
    with Database(safeguarded.database_url()).transaction() as session:
        stored = session.execute(text("SELECT secret FROM two_factor_enrolments WHERE user_id = :u"), {"u": user}).scalar_one()
    assert secret not in stored and safeguarded.env["DEPLOYBOT_SECRET_KEY"] == TWO_FACTOR_KEY


def test_on_slack_a_yes_click_opens_a_modal_for_the_code_and_the_code_never_reaches_the_channel(safeguarded, bender):
    stack, user = safeguarded, new_user_id()
    app = enrol(bender, user)  # over REST: the same person's conversation
    grant(bender, user, "cms")
    thread = mention(stack, "bender", user, "deploy cms 7.6.0")
    [question] = posts(stack, thread, "Deploy Content Management System 7.6.0 to production? (yes/no)")
    assert click(stack, "bender", question, user, "robin", "Yes") == 200
    wait(lambda: [c for c in stack.slack.calls("views.open") if "7.6.0" in json.dumps(c["args"])])
    [opened] = [c for c in stack.slack.calls("views.open") if "7.6.0" in json.dumps(c["args"])]
    view = opened["answer"]["view"]
    assert view["callback_id"] == "deploybot_two_factor"
    assert [b["element"]["type"] for b in view["blocks"] if b["type"] == "input"] == ["plain_text_input"]
    wait(lambda: updates_of(stack, question))
    assert updates_of(stack, question)[0]["args"]["text"].endswith("waiting for a two-factor code")
    nothing_deployed(stack, requested_by=user)

    status, answer = submit_code(stack, user, view, "twelve")
    assert status == 200 and json.loads(answer) == {"response_action": "errors",
                                                    "errors": {"code": "Six digits, as your authenticator app shows them."}}
    code = next_code(app)
    assert submit_code(stack, user, view, code) == (200, "")
    posts(stack, thread, "OK, deploying Content Management System 7.6.0 to production: Jenkins has queued it.")
    posts(stack, thread, "Content Management System: deployed version 7.6.0 to production in ")
    assert [d.version for d in deployments(stack, requested_by=user)] == ["7.6.0"]
    assert_never_said(stack, bender, user, code)


def test_a_correction_while_the_code_is_awaited_drops_the_held_deploy(safeguarded, bender):
    """Issues 14 and 16 together: after the yes the deploy waits for the code; "make it 7.4.2"
    must not leave 7.4.1 held, or the next code would deploy the version just called wrong."""
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "search")
    since = last_audit_id(safeguarded)
    ask_and_confirm(bender, user, "search", "7.4.1", "Search API")
    dropped, question = bender.texts(user, "actually make it 7.4.2")
    assert dropped == ("Dropped “Deploy Search API 7.4.1 to production”: it was still waiting for your two-factor code,"
                       " so nothing was deployed. Your correction is a new request:")
    assert question == "Deploy Search API 7.4.2 to production? (yes/no)"
    [not_waiting] = bender.texts(user, wrong_code(app))
    assert not_waiting.startswith("I'm not waiting for a code from you. Nothing was done with that number."), not_waiting
    nothing_deployed(safeguarded, requested_by=user)
    [withdrawn] = [e for e in audit_entries(safeguarded, user, "deploy", since) if e.outcome == "withdrawn"]
    assert (withdrawn.app, withdrawn.environment) == ("search", "production")
    assert bender.texts(user, "yes") == [f"Deploy Search API 7.4.2 to production {ASKED}"]
    [started] = bender.texts(user, next_code(app))
    assert started.startswith("OK, deploying Search API 7.4.2 to production"), started
    bender.wait_for(user, "Search API: deployed version 7.4.2 to production in ")
    assert [(d.version, d.state) for d in deployments(safeguarded, requested_by=user)] == [("7.4.2", "succeeded")]


def test_a_batch_to_production_needs_one_code_and_names_the_app_without_a_grant(safeguarded, bender):
    """Several apps to Bender (issue 16): the app not granted is named before the yes; one code
    starts the rest, each its own deployment; the summary comes after their reports."""
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "cms")
    grant(bender, user, "crm")
    [question] = bender.texts(user, "@bender deploy cms 7.7.0, crm 7.7.1 and billing 7.7.2 to production")
    assert question.startswith("1 app of your request cannot go ahead:\n• Billing Service: ")
    assert question.endswith("Deploy the other 2 to production anyway?\n• Content Management System 7.7.0\n"
                             "• Customer Relationship Management 7.7.1\n(yes: go on without it, no: deploy nothing)")
    assert bender.texts(user, "yes") == [
        "Deploy Content Management System 7.7.0, Customer Relationship Management 7.7.1 to production " + ASKED]
    nothing_deployed(safeguarded, requested_by=user)
    [started] = bender.texts(user, next_code(app))
    assert started.split("\n")[1:] == [
        "• OK, deploying Content Management System 7.7.0 to production: Jenkins has queued it. I'll report here when"
        " the build starts and when it ends.",
        "• OK, deploying Customer Relationship Management 7.7.1 to production: Jenkins has queued it. I'll report here"
        " when the build starts and when it ends."]
    bender.wait_for(user, "Content Management System: deployed version 7.7.0 to production in ")
    bender.wait_for(user, "Customer Relationship Management: deployed version 7.7.1 to production in ")
    [summary] = bender.wait_for(user, "2 of 2 deployed to production:")
    assert summary.endswith("• Content Management System 7.7.0: deployed\n• Customer Relationship Management 7.7.1: deployed")
    records = deployments(safeguarded, requested_by=user)
    assert sorted((d.app, d.second_factor) for d in records) == [("cms", True), ("crm", True)]
    assert len({d.batch_id for d in records}) == 1


def test_a_correction_while_a_batch_waits_for_its_code_drops_it(safeguarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "shop")
    grant(bender, user, "search")
    bender.say(user, "@bender deploy shop 7.8.0 and search 7.8.1")
    assert bender.texts(user, "yes")[0].endswith(ASKED)
    texts = bender.texts(user, "actually search 7.8.2")
    assert texts[0] == ("Dropped “Deploy Web Shop 7.8.0, Search API 7.8.1 to production”: it was still waiting for your"
                        " two-factor code, so nothing was deployed. Your correction is a new request:")
    assert texts[-1] == "Deploy these 2 apps to production?\n• Web Shop 7.8.0\n• Search API 7.8.2\n(yes/no)"
    assert bender.texts(user, next_code(app))[0].startswith("I'm not waiting for a code from you.")  # the dropped batch is gone
    # Again, with a correction that changes both apps.
    assert bender.texts(user, "yes")[0].endswith(ASKED)
    texts = bender.texts(user, "no, shop 7.8.3 and search 7.8.4 instead")
    assert texts[0].startswith("Dropped “Deploy Web Shop 7.8.0, Search API 7.8.2 to production”"), texts
    assert texts[-1] == "Deploy these 2 apps to production?\n• Web Shop 7.8.3\n• Search API 7.8.4\n(yes/no)"
    nothing_deployed(safeguarded, requested_by=user)
    assert bender.texts(user, "no") == ["Cancelled, nothing was deployed."]
