"""Attacks on the second factor (issue 14), against the stack with two-factor required
(the session fixture `safeguarded`): a replayed code, a code typed in a Slack channel (refused
and burnt), a typed `/two_factor_code{...}`, and a forged modal submission."""
import time
import urllib.error
import urllib.request

import pyotp
import pytest

from deploybot.adapters.slack.formatting import typed_text

from tests import slack_requests as slack
from tests.safeguards import (
    URI, ask_and_confirm, assert_never_said, direct_message, dm_posts, enrol, next_code, qr_modules, qr_of, wait,
)
from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.slack_chat import mention, posts, send_event
from tests.support import audit_entries, deployments, grant, new_user_id


@pytest.fixture
def bender(safeguarded):
    return safeguarded.bots["bender"]


def test_a_code_counts_once(safeguarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "shop")
    ask_and_confirm(bender, user, "shop", "7.1.0", "Web Shop")
    code = next_code(app)
    assert bender.texts(user, code)[0].startswith("OK, deploying Web Shop 7.1.0 to production")
    bender.wait_for(user, "Web Shop: deployed version 7.1.0 to production in ")
    ask_and_confirm(bender, user, "shop", "7.1.1", "Web Shop")
    since = last_audit_id(safeguarded)
    assert bender.texts(user, code) == ["That code was used already: each code counts once. Wait for the next one and send it."
                                        " 4 wrong codes more and two-factor locks."]
    refused(safeguarded, "two_factor", since, actor=user, containing="code replayed")
    assert [d.version for d in deployments(safeguarded, requested_by=user)] == ["7.1.0"]


def test_on_slack_enrolment_goes_to_a_dm_and_a_code_typed_in_a_channel_is_refused_and_burnt(safeguarded, bender):
    stack, user = safeguarded, new_user_id()
    stack.slack.add_user(user, "u" + user[1:].lower(), "Robin", "Robin Archer")
    ts = mention(stack, "bender", user, "set up two-factor")
    posts(stack, ts, "I sent you a direct message with the QR code")
    wait(lambda: stack.slack.files("D" + user[1:]))
    [image] = stack.slack.files("D" + user[1:])  # the QR code as a PNG image, with the link as its message
    assert image["initial_comment"].startswith("Add me to your authenticator app") and image["user"] == "UBENDER01"
    uri = URI.search(typed_text(image["initial_comment"])).group(0)  # as Slack shows it: & is sent as &amp;
    assert qr_modules(image["content"]) == qr_of(uri)
    assert dm_posts(stack, user, "Add me to your authenticator app") == []  # no text QR code: the image arrived
    assert [f["channel"] for f in stack.slack.files() if uri in typed_text(f["initial_comment"])] == ["D" + user[1:]]
    assert not URI.search(str([c["args"].get("text") for c in stack.slack.calls("chat.postMessage") if c["args"].get("thread_ts") == ts]))
    app = pyotp.parse_uri(uri)
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


def test_a_typed_intent_is_no_code(safeguarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "intranet")
    ask_and_confirm(bender, user, "intranet", "7.5.0", "Intranet Portal")
    code = next_code(app)
    replies = bender.texts(user, f'/two_factor_code{{"code": "{code}"}}')
    assert not any(r.startswith("Deploying") for r in replies), replies
    nothing_deployed(safeguarded, requested_by=user)


def test_a_forged_modal_submission_is_refused(safeguarded, bender):
    """Unsigned or wrongly signed, a submission is refused like every Slack request."""
    stack, user = safeguarded, new_user_id()
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


def test_a_code_sent_when_nothing_awaits_it_is_spent(safeguarded, bender):
    """The tracker keeps every message's text: a code it holds must be worthless."""
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "crm")
    code = next_code(app)
    assert bender.texts(user, code) == [
        "I'm not waiting for a code from you. Nothing was done with that number. I treated it as used, so it is worthless now."]
    ask_and_confirm(bender, user, "crm", "7.7.0", "Customer Relationship Management")
    assert bender.texts(user, code)[0].startswith("That code was used already")
    nothing_deployed(safeguarded, requested_by=user)


def test_without_a_secret_key_a_bot_that_requires_codes_says_so_and_deploys_nothing(tmp_path_factory):
    """No DEPLOYBOT_SECRET_KEY: the action server says so at start, and a production deploy
    that needs a code is refused (never deployed without it)."""
    from tests.safeguards import SAFEGUARD_SETTINGS
    from tests.support import StackDidNotStart, open_ports, start_stack, stop_stack

    try:
        running = start_stack(tmp_path_factory.mktemp("no-key"), {**SAFEGUARD_SETTINGS, "DEPLOYBOT_SECRET_KEY": ""})
    except StackDidNotStart as error:
        pytest.fail(str(error))
    try:
        log = (running.var_dir / "log" / "bender-actions.log").read_text()
        assert "Bender requires two-factor codes for deploys, but Two-factor is off: DEPLOYBOT_SECRET_KEY is not set" in log
        bender, user = running.bots["bender"], new_user_id()
        grant(bender, user, "cms")
        [refusal] = ask_and_confirm(bender, user, "cms", "7.8.0", "Content Management System")
        assert refusal.startswith("Two-factor is off: DEPLOYBOT_SECRET_KEY is not set") and refusal.endswith("Nothing was deployed."), refusal
        assert bender.texts(user, "bender, set up two-factor")[0].startswith("Two-factor is off")
        assert deployments(running, requested_by=user) == []
    finally:
        assert stop_stack(running) == 0
        assert open_ports(running) == []


def test_to_marvin_a_number_is_just_a_number(safeguarded, bender):
    """Marvin never asks for codes: six digits sent to him spend nothing and count as no wrong code."""
    user = new_user_id()
    enrol(bender, user)
    since = last_audit_id(safeguarded)
    marvin = safeguarded.bots["marvin"]
    for _ in range(6):  # more than the lock takes
        assert marvin.texts(user, "123456") == ["I'm not waiting for a code from you. Nothing was done with that number."]
    assert [e for e in audit_entries(safeguarded, user, "two_factor", since)] == []
    grant(bender, user, "search")
    assert "needs your second factor" in ask_and_confirm(bender, user, "search", "7.9.0", "Search API")[0]  # not locked
