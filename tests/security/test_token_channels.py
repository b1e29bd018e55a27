"""Attacks (issue 22, item 3): a caller with a bot's API token trying to be somebody else.

The stack here runs without the test harness's opt-ins (tests/support.HARNESS_OPT_INS):
token channels speak for local names only, and nothing of approve, enrol, reset_two_factor,
grant or break_glass is allowed to them, as Bender's profile ships. Bender's REST channel is
switched on (as an operator might, for a tool), which is the worst case: the profile ships it
off. Slack's people, their grants and their approval cards are made through the Slack fake,
as Slack delivers them. After each attempt: nothing happened, and the refusal is audited."""
import pytest
from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import ApprovalRequest, Lock, TwoFactorEnrolment
from tests import slack_requests as slack
from tests.security.evidence import grants_of, last_audit_id, nothing_deployed, refused
from tests.slack_chat import mention, posts, send_event
from tests.support import ADMIN, http, new_user_id, running_stack

STRICT = {"JENKINS_TIMEOUT": "5", "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "1", "DEPLOYBOT_POLL_SECONDS": "1",
          "DEPLOYBOT_DIGEST": "off", "BENDER_APPROVALS": "1", "BENDER_TWO_FACTOR": "off",
          # Bender's REST on, for the attack; none of the harness's opt-ins.
          "BENDER_REST_CHANNEL": "on", "DEPLOYBOT_TOKEN_SENDERS_MAY_BE_SLACK_IDS": "false",
          "MARVIN_TOKEN_CHANNELS_MAY": "", "BENDER_TOKEN_CHANNELS_MAY": ""}


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("token-channels"), STRICT) as running:
        yield running


def slack_grant(stack, user, app):
    """An admin grants on Slack, naming the person by mention."""
    thread = mention(stack, "bender", ADMIN, f"auth <@{user}> {app}")
    posts(stack, thread, "")
    assert app in grants_of(stack, user)


def approvals_of(stack, requester):
    with Database(stack.database_url()).transaction() as session:
        return [(a.state, a.approved_by) for a in session.scalars(select(ApprovalRequest).where(ApprovalRequest.requested_by == requester))]


def enrolment_of(stack, user):
    with Database(stack.database_url()).transaction() as session:
        return session.get(TwoFactorEnrolment, user)


def api(stack, bot_id, method, path, body):
    bot = stack.bots[bot_id]
    return http(method, f"{bot.url}{path}?token={bot.token}", body)


def test_the_token_cannot_approve_as_a_colleague_nor_deploy_as_them(strict):
    stack, bender = strict, strict.bots["bender"]
    requester, colleague = new_user_id(), new_user_id()
    for person in (requester, colleague):
        stack.slack.add_user(person, "u" + person[1:].lower(), person, person)
        slack_grant(stack, person, "cms")
    thread = mention(stack, "bender", requester, "deploy cms 3.1.4")
    posts(stack, thread, "Deploy Content Management System 3.1.4 to production? (yes/no)")
    assert send_event(stack, "bender", slack.thread_reply(requester, "yes", thread)) == 200
    posts(stack, thread, "Approval needed: Deploy Content Management System 3.1.4 to production")
    since = last_audit_id(stack)

    # The attack: {"sender": "<colleague>", "message": "approve"} with Bender's token.
    status, answer = bender.post_rest({"sender": colleague, "message": "approve"})
    assert status == 403 and "Slack id" in answer["error"], answer
    # Through the terminal chat's channel, and through the HTTP API, as the colleague.
    status, _ = http("POST", f"{bender.url}/webhooks/callback/webhook", {"sender": colleague, "message": "approve"},
                     headers={"Authorization": f"Bearer {bender.token}"})
    assert status == 403
    for intent in ("approve_deployment", "affirm"):
        status, answer = api(stack, "bender", "POST", f"/conversations/{colleague}/trigger_intent", {"name": intent})
        assert status == 403, answer
    status, _ = api(stack, "bender", "POST", f"/conversations/{colleague}/tracker/events",
                    [{"event": "user", "text": "approve", "parse_data": {"intent": {"name": "approve_deployment", "confidence": 1}},
                      "input_channel": "slack"}])
    assert status == 403
    status, _ = api(stack, "bender", "POST", f"/conversations/{colleague}/execute", {"name": "action_approve_deployment"})
    assert status == 403
    # The skeleton key's other use: deploying as the colleague, who is granted cms.
    status, _ = bender.post_rest({"sender": colleague, "message": "deploy cms 3.1.5"})
    assert status == 403

    assert approvals_of(stack, requester) == [("pending", "")]
    nothing_deployed(stack, requested_by=requester)
    nothing_deployed(stack, requested_by=colleague)
    refused(stack, "rest_request", since, containing="Slack id")
    refused(stack, "callback_request", since, containing="Slack id")
    refused(stack, "api_request", since, containing="approve_deployment")
    refused(stack, "api_request", since, containing="no Slack person's conversation")


def test_the_token_cannot_get_a_new_hires_two_factor_secret(strict):
    stack, bender = strict, strict.bots["bender"]
    new_hire = new_user_id()
    stack.slack.add_user(new_hire, "u" + new_hire[1:].lower(), new_hire, new_hire)
    since = last_audit_id(stack)

    status, answer = bender.post_rest({"sender": new_hire, "message": "set up two-factor"})
    assert status == 403 and "otpauth" not in str(answer)
    status, answer = api(stack, "bender", "POST", f"/conversations/{new_hire}/trigger_intent", {"name": "set_up_two_factor"})
    assert status == 403 and "otpauth" not in str(answer)
    status, answer = api(stack, "bender", "POST", f"/conversations/{new_hire}/execute", {"name": "action_set_up_two_factor"})
    assert status == 403 and "otpauth" not in str(answer)

    assert enrolment_of(stack, new_hire) is None
    assert not [c for c in stack.slack.calls() if "otpauth" in str(c["args"])]  # no DM was sent either
    refused(stack, "rest_request", since, containing="Slack id")
    refused(stack, "api_request", since, containing="set_up_two_factor")


def test_a_local_name_does_nothing_that_makes_someone_count(strict):
    """"jbrueder" is an admin in Bender's profile (the terminal chat's demo admin): over a token
    channel that name is whoever holds the token, so no grant, enrolment, reset, approval or
    break glass, unless the profile lists it (make run does, for its terminal chat); no dashboard sign-in
    link either, which would sign in whoever the token names."""
    stack, bender = strict, strict.bots["bender"]
    since = last_audit_id(stack)
    attempts = {
        ("jbrueder", "bender, auth mallory cms"): "grant or revoke permissions",
        ("jbrueder", "revoke jbrueder cms"): "grant or revoke permissions",
        ("mallory", "set up two-factor"): "set up two-factor",
        ("jbrueder", "reset two-factor for theresa"): "reset two-factor",
        ("mallory", "approve"): "approve or reject deployments",
        ("jbrueder", "emergency deploy cms 1.0.3, reason: outage INC-123"): "deploy in an emergency",
        ("jbrueder", "bender, dashboard link"): "send a personal sign-in link to the dashboard",
    }
    for (sender, text), what in attempts.items():
        assert bender.texts(sender, text) == [
            f"I can't {what} over the rest channel: whoever holds its token names the sender, so it proves no person. "
            "Do it on Slack. Nothing was done."], text
    assert grants_of(stack, "mallory") == []
    assert enrolment_of(stack, "mallory") is None
    nothing_deployed(stack, requested_by="jbrueder", version="1.0.3")
    for actor, act in (("jbrueder", "grant"), ("mallory", "enrol"), ("jbrueder", "reset_two_factor"),
                       ("mallory", "approve"), ("jbrueder", "break_glass"), ("jbrueder", "dashboard")):
        refused(stack, "token_channel", since, actor=actor, containing=f"{act} over the rest channel")


def test_the_token_cannot_swap_the_model(strict):
    since = last_audit_id(strict)
    assert api(strict, "bender", "PUT", "/model", {"model_file": "/tmp/evil.tar.gz"})[0] == 403
    assert api(strict, "bender", "DELETE", "/model", None)[0] == 403
    assert api(strict, "marvin", "POST", "/model/train", {})[0] == 403
    refused(strict, "api_request", since, containing="the model cannot be changed")
    assert strict.bots["bender"].parse("deploy cms 1.0.2")["intent"]["name"] == "deploy"  # still the model it started with


def test_a_local_admin_name_lifts_no_one_elses_lock(strict):
    """An admin's rights over others' locks (and deployments) count over a token channel only
    when the profile allows `admin`: "jbrueder" there is whoever holds the token."""
    stack, bender = strict, strict.bots["bender"]
    thread = mention(stack, "bender", ADMIN, "lock production because of the incident review")
    posts(stack, thread, "Locked production")
    since = last_audit_id(stack)
    assert bender.texts("jbrueder", "unlock production") == [f"Only {ADMIN}, who locked production, or an admin can unlock it."]
    with Database(stack.database_url()).transaction() as session:
        assert [lock.locked_by for lock in session.scalars(select(Lock).where(Lock.environment == "production"))] == [ADMIN]
    refused(stack, "unlock", since, actor="jbrueder")
    thread = mention(stack, "bender", ADMIN, "unlock production")  # on Slack the admin is the admin
    posts(stack, thread, "Unlocked production")
