"""Attacks on who is speaking: senders named without proof, hostile requester ids, events
from another Slack workspace. Each one: refused, nothing recorded or deployed, audited."""
import uuid

import pytest

from tests import slack_requests as slack
from tests.security.evidence import (
    builds_with,
    deployments,
    grants_of,
    last_audit_id,
    nothing_deployed,
    refused,
    user_texts,
)
from tests.slack_chat import (
    BOT_USERS,
    CHANNEL,
    click,
    mention,
    new_ts,
    posts,
    send_event,
    updates_of,
)
from tests.support import ADMIN, TOKENS, http, new_user_id

TOKEN_REQUIRED = {"error": "A valid API token is required (Authorization: Bearer <token>)."}


def forged_grant(bender, headers):
    """As the issue found it: an admin's id named by anyone, granting mallory an app."""
    mallory = "mallory" + uuid.uuid4().hex[:6]
    status, answer = bender.post_rest({"sender": ADMIN, "message": f"auth {mallory} cms"}, headers=headers)
    return mallory, status, answer


@pytest.mark.parametrize("headers", [
    {},                                                        # no token at all
    {"Authorization": "Bearer not-the-token"},                 # a wrong token
    {"Authorization": f"Bearer {TOKENS['marvin']}"},           # the other bot's token
    {"Authorization": f"Basic {TOKENS['bender']}"},            # the right token, not as a bearer token
], ids=["no-token", "wrong-token", "other-bots-token", "not-bearer"])
def test_a_sender_named_without_the_bots_token_is_refused(bender, stack, headers):
    since = last_audit_id(stack)
    mallory, status, answer = forged_grant(bender, headers)
    assert (status, answer) == (401, TOKEN_REQUIRED)
    assert grants_of(stack, mallory) == []
    assert not [t for t in user_texts(bender.tracker(ADMIN)) if mallory in t]  # nothing recorded
    refused(stack, "rest_request", since, actor="unknown", containing=f"claimed sender '{ADMIN}'")


def test_the_whole_forged_production_deploy_of_the_issue_gets_nowhere(bender, stack):
    mallory, status, _ = forged_grant(bender, {})
    assert status == 401
    for text in ("deploy cms 1.0.2", "yes"):
        assert bender.post_rest({"sender": mallory, "message": text}, headers={})[0] == 401
    nothing_deployed(stack, requested_by=mallory)


def test_the_token_also_works_in_the_query_and_the_callback_channel_needs_it_too(bender, stack, user):
    status, replies = http("POST", f"{bender.url}/webhooks/rest/webhook?token={bender.token}", {"sender": user, "message": "which apps?"})
    assert status == 200 and replies[0]["text"].startswith("I deploy these apps to production:")
    since = last_audit_id(stack)
    status, answer = http("POST", f"{bender.url}/webhooks/callback/webhook", {"sender": ADMIN, "message": f"auth {user} cms"})
    assert (status, answer) == (401, TOKEN_REQUIRED)
    assert grants_of(stack, user) == []
    refused(stack, "callback_request", since, actor="unknown")


@pytest.mark.parametrize("sender", ["x$(touch /tmp/pwned)", "jbrueder; reboot", "a b", "x" * 65, "jbrueder\n", "ünï",
                                    {"$ne": None}, ["jbrueder"], 42, None])
def test_a_hostile_requester_id_never_reaches_jenkins(marvin, stack, sender):
    since = last_audit_id(stack)
    status, answer = marvin.post_rest({"sender": sender, "message": "deploy cms 6.6.1"})
    assert status == 400 and answer["error"].startswith("The sender must be a plain id")
    nothing_deployed(stack, version="6.6.1")
    if isinstance(sender, str):
        assert builds_with(stack, "REQUESTED_BY", sender) == []
    refused(stack, "rest_request", since, actor="unknown", containing="not a plain id")


def test_a_caller_cannot_pose_as_slack_or_as_a_trusted_build_system(marvin, stack, user):
    # Rasa's REST channel takes input_channel and metadata from the caller: here they are ignored.
    body = {"sender": user, "message": "deploy crm 7.7.1", "input_channel": "slack",
            "metadata": {"build_system": "B0JENKINS1", "out_channel": CHANNEL, "thread_id": "1700000000.000100"}}
    status, replies = marvin.post_rest(body)
    assert status == 200
    assert [r["text"] for r in replies] == ["Deploy Customer Relationship Management 7.7.1 to staging? (yes/no)"]
    assert deployments(stack, requested_by=user) == []  # a build system would not have been asked
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    assert marvin.tracker(user)["latest_input_channel"] == "rest"
    assert not [c for c in stack.slack.calls() if "7.7.1" in str(c["args"].get("text", ""))]
    nothing_deployed(stack, version="7.7.1")


def test_events_from_another_workspace_are_refused(stack):
    user = new_user_id()
    since = last_audit_id(stack)
    ts = new_ts()
    event = slack.app_mention(user, f"<@{BOT_USERS['marvin']}> deploy shop 8.8.1", BOT_USERS["marvin"], channel=CHANNEL, ts=ts)
    assert send_event(stack, "marvin", event, team_id="TOTHERCO1") == 200
    refused(stack, "slack_request", since, containing="from another workspace (TOTHERCO1)")
    assert not [c for c in stack.slack.calls() if c["args"].get("thread_ts") == ts]
    nothing_deployed(stack, version="8.8.1")


def test_a_slack_connect_user_from_another_company_is_not_everyone(stack):
    # A shared channel: the envelope is our workspace's, the user is not.
    user, since, ts = new_user_id(), last_audit_id(stack), new_ts()
    event = slack.app_mention(user, f"<@{BOT_USERS['marvin']}> deploy shop 8.8.2", BOT_USERS["marvin"], channel=CHANNEL, ts=ts)
    event.update(team="TOTHERCO1", user_team="TOTHERCO1", source_team="TOTHERCO1")
    assert send_event(stack, "marvin", event) == 200
    refused(stack, "slack_request", since, actor=user, containing="from another workspace (TOTHERCO1)")
    assert not [c for c in stack.slack.calls() if c["args"].get("thread_ts") == ts]
    nothing_deployed(stack, version="8.8.2")


def test_a_click_from_another_workspace_is_refused(stack):
    user = new_user_id()
    ts = mention(stack, "marvin", user, "deploy shop 8.8.3")
    [question] = posts(stack, ts, "Deploy Web Shop 8.8.3 to staging? (yes/no)")
    since = last_audit_id(stack)
    assert click(stack, "marvin", question, user, "someone", "Yes", team_id="TOTHERCO1") == 200
    refused(stack, "slack_request", since, containing="from another workspace (TOTHERCO1)")
    nothing_deployed(stack, version="8.8.3")
    assert updates_of(stack, question) == []  # the question is still open
