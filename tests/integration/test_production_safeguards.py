"""Production safeguards against the running stack (issue 14): Bender asks for a code from the
requester's authenticator app after the yes and before Jenkins. Enrolment, the code over
REST (as the terminal chat sends it) and on Slack (a direct message; a code typed in a
channel is refused and burnt), wrong codes, replay, the lock, and an admin's reset.

This module runs a stack of its own with BENDER_TWO_FACTOR=required (the shared test stack
switches codes off so that the other Bender tests need no enrolment). Codes come from pyotp
with the secret from the otpauth:// URI the bot handed out, as an authenticator app makes them."""
import json
import re
import time
import urllib.request

import pyotp
import pytest

from deploybot.slack.fake_api import FakeSlack
from tests import slack_requests as slack
from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.slack_chat import click, mention, posts, send_event, updates_of
from tests.support import (
    ADMIN, MODEL, StackDidNotStart, TWO_FACTOR_KEY, audit_entries, deployments, grant, new_user_id, open_ports, start_stack,
    stop_stack,
)

SETTINGS = {"JENKINS_TIMEOUT": "5", "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "1", "DEPLOYBOT_POLL_SECONDS": "1",
            "BENDER_TWO_FACTOR": "required"}
URI = re.compile(r"otpauth://totp/\S+")
ASKED = "needs your second factor: send me the 6-digit code your authenticator app shows now within 10 min. Nothing has been deployed yet."


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    fake = FakeSlack().start()
    try:
        running = start_stack(tmp_path_factory.mktemp("safeguards"), SETTINGS, slack=fake)
    except StackDidNotStart as error:
        fake.stop()
        pytest.fail(str(error))
    yield running
    try:
        assert stop_stack(running) == 0
        assert open_ports(running) == []
    finally:
        fake.stop()


@pytest.fixture
def bender(guarded):
    return guarded.bots["bender"]


def enrol(bender, user) -> pyotp.TOTP:
    """Sets up two-factor over REST as a person would; returns their authenticator app."""
    [instructions] = bender.texts(user, "bender, set up two-factor")
    assert instructions.startswith("Add me to your authenticator app"), instructions
    app = pyotp.parse_uri(URI.search(instructions).group(0))
    assert bender.texts(user, app.now()) == ["Two-factor is set up: production deploys will ask you for a code from your authenticator app."]
    return app


def next_code(app: pyotp.TOTP) -> str:
    """The code of the next 30-second step: accepted (one step of drift) after the current one was used."""
    return app.at(time.time() + 30)


def wrong_code(app: pyotp.TOTP) -> str:
    near = {app.at(time.time() + shift) for shift in (-60, -30, 0, 30, 60)}
    return next(code for code in (f"{n:06d}" for n in range(100000, 999999, 7919)) if code not in near)


def ask_and_confirm(bender, user, app_id, version, name):
    assert bender.texts(user, f"@bender deploy {app_id} {version}") == [f"Deploy {name} {version} to production? (yes/no)"]
    return bender.texts(user, "yes")


def assert_never_said(stack, bender, user, *codes):
    """No reply, no audit entry and no Slack post holds a code."""
    for code in codes:
        assert not any(code in text for text in bender.said(user)), code
        assert not any(code in (entry.detail or "") for entry in audit_entries(stack)), code
        if stack.slack:
            assert not any(code in str(call["args"].get("text", "")) for call in stack.slack.calls("chat.postMessage")), code


def test_a_production_deploy_waits_for_a_right_code_and_every_attempt_is_audited(guarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "cms")
    since = last_audit_id(guarded)
    assert ask_and_confirm(bender, user, "cms", "7.0.1", "Content Management System") == [
        f"Deploy Content Management System 7.0.1 to production {ASKED}"]
    nothing_deployed(guarded, requested_by=user)
    wrong = wrong_code(app)
    assert bender.texts(user, wrong) == [
        "That code is not right (or not the current one). Nothing was deployed yet; send the current code to try again."]
    nothing_deployed(guarded, requested_by=user)
    code = next_code(app)
    [started] = bender.texts(user, code)
    assert started.startswith("OK, deploying Content Management System 7.0.1 to production: Jenkins has queued it."), started
    bender.wait_for(user, "Content Management System: deployed version 7.0.1 to production in ")
    [record] = deployments(guarded, requested_by=user)
    assert (record.version, record.environment, record.state) == ("7.0.1", "production", "succeeded")
    outcomes = [(e.outcome, e.detail) for e in audit_entries(guarded, user, "two_factor", since)]
    assert outcomes == [("asked", "code asked for: Deploy Content Management System 7.0.1 to production"),
                        ("refused", "code wrong for: Deploy Content Management System 7.0.1 to production"),
                        ("done", "code accepted for: Deploy Content Management System 7.0.1 to production")]
    assert_never_said(guarded, bender, user, wrong, code)


def test_a_code_counts_once(guarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "shop")
    ask_and_confirm(bender, user, "shop", "7.1.0", "Web Shop")
    code = next_code(app)
    assert bender.texts(user, code)[0].startswith("OK, deploying Web Shop 7.1.0 to production")
    bender.wait_for(user, "Web Shop: deployed version 7.1.0 to production in ")
    ask_and_confirm(bender, user, "shop", "7.1.1", "Web Shop")
    since = last_audit_id(guarded)
    assert bender.texts(user, code) == ["That code was used already: each code counts once. Wait for the next one and send it."]
    refused(guarded, "two_factor", since, actor=user, containing="code replayed")
    assert [d.version for d in deployments(guarded, requested_by=user)] == ["7.1.0"]


def test_without_enrolment_nothing_is_deployed_and_the_user_is_told_how_to_enrol(guarded, bender):
    user = new_user_id()
    grant(bender, user, "crm")
    since = last_audit_id(guarded)
    [reply] = ask_and_confirm(bender, user, "crm", "7.2.0", "Customer Relationship Management")
    assert reply.startswith("Deploy Customer Relationship Management 7.2.0 to production needs a code from your authenticator app, "
                            "and you have not set up two-factor yet. Say “set up two-factor” to me"), reply
    assert reply.endswith("Nothing was deployed.")
    refused(guarded, "two_factor", since, actor=user, containing="not enrolled")
    assert bender.texts(user, "123456") == ["I'm not waiting for a code from you. Nothing was done with that number."]
    nothing_deployed(guarded, requested_by=user)


def test_five_wrong_codes_lock_two_factor_until_an_admin_resets_it(guarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "billing")
    ask_and_confirm(bender, user, "billing", "7.3.0", "Billing Service")
    wrong = wrong_code(app)
    for _ in range(4):
        assert bender.texts(user, wrong)[0].startswith("That code is not right")
    [locked] = bender.texts(user, wrong)
    assert "Two-factor is locked for you after too many wrong codes" in locked
    assert bender.texts(user, next_code(app)) == ["I'm not waiting for a code from you. Nothing was done with that number."]
    [again] = ask_and_confirm(bender, user, "billing", "7.3.0", "Billing Service")
    assert "Two-factor is locked for you" in again
    nothing_deployed(guarded, requested_by=user)

    outsider = new_user_id()
    since = last_audit_id(guarded)
    assert bender.texts(outsider, f"bender, reset two-factor for <@{user}>") == ["Only an admin can reset someone's two-factor. Nothing was changed."]
    refused(guarded, "two_factor_reset", since, actor=outsider, containing="not an admin")
    assert bender.texts(ADMIN, f"bender, reset two-factor for <@{user}>") == [
        f"Two-factor for {user} is reset: they set it up again before their next production deploy."]
    [entry] = audit_entries(guarded, ADMIN, "two_factor_reset", since)
    assert (entry.outcome, entry.target_user) == ("done", user)
    [unenrolled] = ask_and_confirm(bender, user, "billing", "7.3.0", "Billing Service")
    assert "you have not set up two-factor yet" in unenrolled
    enrol(bender, user)  # a fresh secret: the old one's codes are worthless now


def test_the_secret_is_stored_encrypted_and_the_stack_has_the_key(guarded, bender):
    from sqlalchemy import text

    from deploybot.storage.database import Database

    user = new_user_id()
    [instructions] = bender.texts(user, "bender, set up two-factor")
    secret = pyotp.parse_uri(URI.search(instructions).group(0)).secret
    with Database(guarded.database_url()).transaction() as session:
        stored = session.execute(text("SELECT secret FROM two_factor_enrolments WHERE user_id = :u"), {"u": user}).scalar_one()
    assert secret not in stored and guarded.env["DEPLOYBOT_SECRET_KEY"] == TWO_FACTOR_KEY


# -- Slack ---------------------------------------------------------------------------------


def dm_posts(stack, user, prefix=""):
    channel = "D" + user[1:]
    return [c for c in stack.slack.calls("chat.postMessage")
            if c["args"].get("channel") == channel and str(c["args"].get("text", "")).startswith(prefix)]


def direct_message(stack, user, text):
    assert send_event(stack, "bender", slack.direct_message(user, text, channel="D" + user[1:])) == 200


def wait(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_on_slack_enrolment_goes_to_a_dm_and_a_code_typed_in_a_channel_is_refused_and_burnt(guarded, bender):
    stack, user = guarded, new_user_id()
    stack.slack.add_user(user, "u" + user[1:].lower(), "Robin", "Robin Archer")
    ts = mention(stack, "bender", user, "set up two-factor")
    posts(stack, ts, "I sent you a direct message with the QR code")
    wait(lambda: dm_posts(stack, user, "Add me to your authenticator app"))
    [dm] = dm_posts(stack, user, "Add me to your authenticator app")
    assert not URI.search(str([c["args"].get("text") for c in stack.slack.calls("chat.postMessage") if c["args"].get("thread_ts") == ts]))
    app = pyotp.parse_uri(URI.search(dm["args"]["text"]).group(0))
    direct_message(stack, user, app.now())
    wait(lambda: dm_posts(stack, user, "Two-factor is set up"))

    grant(bender, user, "search")
    thread = mention(stack, "bender", user, "deploy search 7.4.0")
    posts(stack, thread, "Deploy Search API 7.4.0 to production? (yes/no)")
    assert send_event(stack, "bender", slack.thread_reply(user, "yes", thread)) == 200  # typed: no modal without a click
    posts(stack, thread, "Deploy Search API 7.4.0 to production needs your second factor: send me the 6-digit code your "
                         "authenticator app shows now in a direct message (never in a channel)")
    since = last_audit_id(stack)
    burnt_step = int(time.time() // 30) + 1
    burnt = app.at(burnt_step * 30)
    assert send_event(stack, "bender", slack.thread_reply(user, burnt, thread)) == 200
    posts(stack, thread, "Never type a code in a channel: others can see it. I treated that code as used")
    refused(stack, "two_factor", since, actor=user, containing="code typed in a channel, burnt (accepted)")
    nothing_deployed(stack, requested_by=user)
    direct_message(stack, user, burnt)  # the burnt code no longer works, even where codes belong
    wait(lambda: dm_posts(stack, user, "That code was used already"))
    nothing_deployed(stack, requested_by=user)

    wait(lambda: int(time.time() // 30) > burnt_step, timeout=75)  # a step after the burnt one
    direct_message(stack, user, app.now())
    posts(stack, thread, "Deploying Search API 7.4.0 to production: Jenkins build #")  # reports go to the request's thread
    posts(stack, thread, "Search API: deployed version 7.4.0 to production in ")
    assert [d.version for d in deployments(stack, requested_by=user)] == ["7.4.0"]
    assert_never_said(stack, bender, user, burnt)


def test_a_typed_intent_is_no_code(guarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "intranet")
    ask_and_confirm(bender, user, "intranet", "7.5.0", "Intranet Portal")
    code = next_code(app)
    replies = bender.texts(user, f'/two_factor_code{{"code": "{code}"}}')
    assert not any(r.startswith("Deploying") for r in replies), replies
    nothing_deployed(guarded, requested_by=user)


def submit_code(stack, user, view, code):
    """(status, body) of a signed view_submission of the code modal."""
    body, headers = slack.view_submission(stack.slack_secret("bender"), user, view, {"code": {"code": code}},
                                          api_app_id=stack.slack_app("bender"))
    request = urllib.request.Request(f"{stack.bots['bender'].url}/webhooks/slack/webhook", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


def test_on_slack_a_yes_click_opens_a_modal_for_the_code_and_the_code_never_reaches_the_channel(guarded, bender):
    stack, user = guarded, new_user_id()
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


def test_a_forged_modal_submission_is_refused(guarded, bender):
    """Unsigned or wrongly signed, a submission is refused like every Slack request."""
    stack, user = guarded, new_user_id()
    view = {"id": "VFORGED01", "callback_id": "deploybot_two_factor", "private_metadata": "{}"}
    body, headers = slack.view_submission("not-the-signing-secret", user, view, {"code": {"code": "123456"}},
                                          api_app_id=stack.slack_app("bender"))
    request = urllib.request.Request(f"{bender.url}/webhooks/slack/webhook", data=body, headers=headers, method="POST")
    try:
        urllib.request.urlopen(request, timeout=30)
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
    assert status in (401, 403)
    assert bender.tracker(user)["events"] == [] or not any(e["event"] == "user" for e in bender.tracker(user)["events"])
