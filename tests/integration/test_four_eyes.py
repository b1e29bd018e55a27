"""Four-eyes approvals and break glass against the running stack (issue 14): with
BENDER_APPROVALS=1 a confirmed production deploy (after its code) waits for someone else's
approval, recorded in the database; the requester hears the outcome in their own
conversation, and an approved deploy starts there. Approval requests expire after
BENDER_APPROVAL_TIMEOUT (short here), and an approval counts with the approver's own code
(BENDER_APPROVER_TWO_FACTOR). An admin's emergency deploy skips approvals but not
the code, and is posted to the management channel and the audit log. Billing's approvers are
the Slack user group @sre-oncall here (DEPLOYBOT_APPS: apps.yml with that one change)."""
import json
import time
from pathlib import Path

import yaml

import pytest

from tests import slack_requests as slack
from tests.safeguards import enrol, enrol_in_chat, next_code, submit_code, wait
from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.slack_chat import click, mention, posts, send_event, updates_of
from tests.support import (
    ADMIN, ROOT, audit_entries, deployments, grant, new_user_id, running_stack,
)

TIMEOUT_SECONDS = 20
SETTINGS = {"JENKINS_TIMEOUT": "5", "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "1", "DEPLOYBOT_POLL_SECONDS": "1",
            "BENDER_TWO_FACTOR": "required", "BENDER_APPROVALS": "1", "BENDER_APPROVAL_TIMEOUT": f"{TIMEOUT_SECONDS}s",
            "BENDER_APPROVER_TWO_FACTOR": "true"}


ONCALL_GROUP = "S0ONCALL01"


def apps_with_group_approvers(directory: Path) -> Path:
    """apps.yml, but billing's deploys are approved by the Slack user group @sre-oncall."""
    catalog = yaml.safe_load((ROOT / "apps.yml").read_text())
    catalog["apps"]["billing"]["approvers"] = ["@sre-oncall"]
    path = directory / "apps.yml"
    path.write_text(yaml.safe_dump(catalog))
    return path


@pytest.fixture(scope="module")
def eyes(tmp_path_factory):
    var = tmp_path_factory.mktemp("four-eyes")
    with running_stack(var, {**SETTINGS, "DEPLOYBOT_APPS": str(apps_with_group_approvers(var))}) as running:
        yield running


@pytest.fixture
def bender(eyes):
    return eyes.bots["bender"]


def requested(bender, user, app_id, version, name, code_app) -> str:
    """Asks, says yes and gives the code; returns the approval card."""
    assert bender.texts(user, f"@bender deploy {app_id} {version}") == [f"Deploy {name} {version} to production? (yes/no)"]
    assert bender.texts(user, "yes")[0].startswith(f"Deploy {name} {version} to production needs your second factor")
    [card] = bender.say(user, next_code(code_app))
    return card


def test_a_granted_colleague_approves_and_the_deploy_starts_for_the_requester(eyes, bender):
    user, colleague, outsider = new_user_id(), new_user_id(), new_user_id()
    code_app, colleague_app = enrol(bender, user), enrol(bender, colleague)
    grant(bender, user, "cms")
    grant(bender, colleague, "cms")
    card = requested(bender, user, "cms", "8.0.1", "Content Management System", code_app)
    assert card["text"].startswith(f"Approval needed: Deploy Content Management System 8.0.1 to production, asked by {user} "
                                   "(second factor given). Nothing I deployed runs on production yet.")
    assert "1 approval needed from someone else, within 0 min" not in card["text"]
    assert [b["title"] for b in card["buttons"]] == ["Approve", "Reject"]
    nothing_deployed(eyes, requested_by=user)

    since = last_audit_id(eyes)
    assert bender.texts(user, "approve") == ["Nothing waits for your approval. Nothing was done."]  # never your own
    assert bender.texts(outsider, "approve") == ["Nothing waits for your approval. Nothing was done."]
    nothing_deployed(eyes, requested_by=user)
    assert bender.texts(colleague, "bender, approve") == [
        "Your approval of deploy Content Management System 8.0.1 to production counts with your own code: "
        "send me the 6-digit code your authenticator app shows now."]
    nothing_deployed(eyes, requested_by=user)
    assert bender.texts(colleague, next_code(colleague_app)) == [
        f"Approved: Deploy Content Management System 8.0.1 to production. I'm telling {user}; it starts now."]
    [started] = bender.wait_for(user, f"Approved by {colleague}. OK, deploying Content Management System 8.0.1 to production")
    bender.wait_for(user, "Content Management System: deployed version 8.0.1 to production in ")
    [record] = deployments(eyes, requested_by=user)
    assert (record.version, record.approved_by, record.second_factor, record.break_glass_reason) == ("8.0.1", colleague, True, None)
    [approval] = [e for e in audit_entries(eyes, colleague, "approval", since) if e.outcome == "done"]
    assert approval.detail == "approved: Deploy Content Management System 8.0.1 to production" and approval.target_user == user
    assert bender.texts(colleague, "approve") == ["Nothing waits for your approval. Nothing was done."]  # it is gone
    [history] = bender.texts(user, "history of cms on production")
    assert f"cms 8.0.1 → production by {user} (approved by {colleague}; second factor): succeeded" in history, history


def test_a_rejection_reaches_the_requester_with_its_reason_and_deploys_nothing(eyes, bender):
    user, colleague = new_user_id(), new_user_id()
    code_app = enrol(bender, user)
    grant(bender, user, "shop")
    grant(bender, colleague, "shop")
    requested(bender, user, "shop", "8.1.0", "Web Shop", code_app)
    assert bender.texts(colleague, "reject") == [
        "Say why, for example “reject, reason: the migration is not reviewed”. Nothing was done."]
    assert bender.texts(colleague, "reject, reason: tests are red") == [
        f"Rejected: Deploy Web Shop 8.1.0 to production. I'm telling {user} why."]
    bender.wait_for(user, f"Deploy Web Shop 8.1.0 to production was rejected by {colleague}: tests are red. Nothing was deployed.")
    nothing_deployed(eyes, requested_by=user)


def test_an_unapproved_request_expires_and_deploys_nothing(eyes, bender):
    user, colleague = new_user_id(), new_user_id()
    code_app = enrol(bender, user)
    grant(bender, user, "crm")
    grant(bender, colleague, "crm")
    requested(bender, user, "crm", "8.2.0", "Customer Relationship Management", code_app)
    bender.wait_for(user, "Nobody approved Deploy Customer Relationship Management 8.2.0 to production within 1 min, so the "
                          "request expired and nothing was deployed.", timeout=TIMEOUT_SECONDS + 30)
    assert bender.texts(colleague, "approve") == ["Nothing waits for your approval. Nothing was done."]
    nothing_deployed(eyes, requested_by=user)


def test_on_slack_the_card_is_bound_to_its_request(eyes, bender):
    """The card goes to the request's thread; only someone else's click approves; a click
    on a card that is no longer open does nothing but say so; a typed payload is text."""
    stack, user, colleague = eyes, new_user_id(), new_user_id()
    for person in (user, colleague):
        stack.slack.add_user(person, "u" + person[1:].lower(), person, person)
    code_app, colleague_app = enrol(bender, user), enrol(bender, colleague)
    grant(bender, user, "search")
    grant(bender, colleague, "search")
    thread = mention(stack, "bender", user, "deploy search 8.3.0")
    posts(stack, thread, "Deploy Search API 8.3.0 to production? (yes/no)")
    assert send_event(stack, "bender", slack.thread_reply(user, "yes", thread)) == 200
    posts(stack, thread, "Deploy Search API 8.3.0 to production needs your second factor")
    assert send_event(stack, "bender", slack.direct_message(user, next_code(code_app), channel="D" + user[1:])) == 200
    [card] = posts(stack, thread, "Approval needed: Deploy Search API 8.3.0 to production")
    nothing_deployed(stack, requested_by=user)

    since = last_audit_id(stack)
    assert click(stack, "bender", card, user, "requester", "Approve") == 200  # the requester's own click
    posts(stack, thread, "You asked for this deployment: someone else has to approve it. Nothing was done.")
    refused(stack, "approval", since, actor=user, containing="You asked for this deployment")
    outsider = new_user_id()
    assert click(stack, "bender", card, outsider, "outsider", "Approve") == 200  # not granted search
    posts(stack, thread, "Only people granted Search API, or an admin, may approve its deployments. Nothing was done.")
    refused(stack, "approval", since, actor=outsider, containing="Only people granted Search API")
    approval_id = json.loads(card["args"]["blocks"])[1]["elements"][0]["value"].split('"approval": "')[1].split('"')[0] \
        if isinstance(card["args"]["blocks"], str) else card["args"]["blocks"][1]["elements"][0]["value"].split('"approval": "')[1].split('"')[0]
    typed = slack.thread_reply(colleague, f'/approve_deployment{{"approval": "{approval_id}"}}', thread)
    assert send_event(stack, "bender", {**typed, "text": f"<@UBENDER01> {typed['text']}"}) == 200
    time.sleep(3)
    nothing_deployed(stack, requested_by=user)

    assert click(stack, "bender", card, colleague, "colleague", "Approve") == 200  # a modal asks for the approver's code
    wait(lambda: [c for c in stack.slack.calls("views.open") if "Approve Deploy Search API 8.3.0" in json.dumps(c["args"])])
    [opened] = [c for c in stack.slack.calls("views.open") if "Approve Deploy Search API 8.3.0" in json.dumps(c["args"])]
    nothing_deployed(stack, requested_by=user)
    assert submit_code(stack, colleague, opened["answer"]["view"], next_code(colleague_app)) == (200, "")
    posts(stack, thread, f"Approved by {colleague}. OK, deploying Search API 8.3.0 to production")
    posts(stack, thread, "Search API: deployed version 8.3.0 to production in ")
    assert [d.approved_by for d in deployments(stack, requested_by=user)] == [colleague]
    assert any(u["args"]["text"].endswith("approved, deploying") for u in updates_of(stack, card))

    assert click(stack, "bender", card, colleague, "colleague", "Approve") == 200  # the old card again
    posts(stack, thread, "That request was approved and started already: Deploy Search API 8.3.0 to production. This changes nothing.")
    assert click(stack, "bender", card, colleague, "colleague", "Reject") == 200
    posts(stack, thread, "That request was approved and started already: Deploy Search API 8.3.0 to production. This changes nothing.", count=2)
    assert len(deployments(stack, requested_by=user)) == 1


def test_an_admin_breaks_the_glass_with_a_reason_and_a_code(eyes, bender):
    outsider = new_user_id()
    grant(bender, outsider, "billing")
    since = last_audit_id(eyes)
    assert bender.texts(outsider, "bender, emergency deploy billing 8.4.0, reason: outage INC-1") == [
        "Only an admin can deploy in an emergency without approvals. Nothing was deployed."]
    refused(eyes, "break_glass", since, actor=outsider, containing="not an admin")

    admin_app = enrol(bender, ADMIN)
    [asked] = bender.texts(ADMIN, "bender, emergency deploy billing 8.4.0, reason: outage INC-123")
    assert asked.startswith("Deploy Billing Service 8.4.0 to production needs your second factor"), asked
    nothing_deployed(eyes, version="8.4.0")
    [started] = bender.texts(ADMIN, next_code(admin_app))
    assert started.startswith("OK, deploying Billing Service 8.4.0 to production"), started
    [record] = deployments(eyes, version="8.4.0")
    assert (record.requested_by, record.break_glass_reason, record.second_factor, record.approved_by) == (
        ADMIN, "outage INC-123", True, None)
    [entry] = audit_entries(eyes, ADMIN, "break_glass", since)
    assert entry.outcome == "done" and "Reason: outage INC-123" in entry.detail
    [status] = bender.texts(ADMIN, "history of billing on production")
    assert "(break glass: outage INC-123; second factor)" in status, status
    management = eyes.var_dir / "log" / "management.log"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "Break glass" not in (management.read_text() if management.exists() else ""):
        time.sleep(0.3)
    assert f"Break glass: {ADMIN} skipped approvals for Deploy Billing Service 8.4.0 to production. Reason: outage INC-123." \
        in management.read_text()


def test_the_whole_flow_in_the_terminal_chat_with_user_switching(eyes):
    """As README's example: enrol, deploy with a code, and a colleague approves after /user."""
    from tests.integration.test_terminal_chat import Chat

    user, colleague = new_user_id(), new_user_id()
    bender = eyes.bots["bender"]
    colleague_app = enrol(bender, colleague)
    grant(bender, user, "intranet")
    grant(bender, colleague, "intranet")
    chat = Chat(eyes.env, user=user)
    try:
        chat.expect_start("You are ")
        code_app = enrol_in_chat(chat)
        chat.type("bender deploy intranet 8.5.0")
        chat.expect("Bender: Deploy Intranet Portal 8.5.0 to production? (yes/no)")
        chat.type("yes")
        chat.expect_start("Bender: Deploy Intranet Portal 8.5.0 to production needs your second factor")
        chat.type(next_code(code_app))
        chat.expect_start(f"Bender: Approval needed: Deploy Intranet Portal 8.5.0 to production, asked by {user}")
        chat.expect("        [Approve]  [Reject]")
        chat.type(f"/user {colleague}")
        chat.type("bender, approve")
        chat.expect_start("Bender: Your approval of deploy Intranet Portal 8.5.0 to production counts with your own code")
        chat.type(next_code(colleague_app))
        chat.expect_start("Bender: Approved: Deploy Intranet Portal 8.5.0 to production.")
        chat.expect_start(f"Bender: Approved by {colleague}. OK, deploying Intranet Portal 8.5.0 to production")
        chat.expect_start("Bender: Intranet Portal: deployed version 8.5.0 to production in ")
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
    finally:
        chat.process.kill()
    assert [d.approved_by for d in deployments(eyes, requested_by=user)] == [colleague]


def test_on_slack_a_reject_click_asks_for_the_reason_in_a_modal(eyes, bender):
    stack, user, colleague = eyes, new_user_id(), new_user_id()
    code_app = enrol(bender, user)
    grant(bender, user, "shop")
    grant(bender, colleague, "shop")
    thread = mention(stack, "bender", user, "deploy shop 8.6.0")
    posts(stack, thread, "Deploy Web Shop 8.6.0 to production? (yes/no)")
    assert send_event(stack, "bender", slack.thread_reply(user, "yes", thread)) == 200
    posts(stack, thread, "Deploy Web Shop 8.6.0 to production needs your second factor")
    assert send_event(stack, "bender", slack.direct_message(user, next_code(code_app), channel="D" + user[1:])) == 200
    [card] = posts(stack, thread, "Approval needed: Deploy Web Shop 8.6.0 to production")
    assert click(stack, "bender", card, colleague, "colleague", "Reject") == 200
    wait(lambda: [c for c in stack.slack.calls("views.open") if c["args"].get("view") and "deploybot_reject" in json.dumps(c["args"])
                  and "8.6.0" in json.dumps(c["args"])])
    [opened] = [c for c in stack.slack.calls("views.open") if "deploybot_reject" in json.dumps(c["args"]) and "8.6.0" in json.dumps(c["args"])]
    view = opened["answer"]["view"]
    body, headers = slack.view_submission(stack.slack_secret("bender"), colleague, view, {"reason": {"reason": "no"}},
                                          api_app_id=stack.slack_app("bender"))
    assert post_form(bender, body, headers) == (200, {"response_action": "errors", "errors": {"reason": "Say why, in a few words."}})
    body, headers = slack.view_submission(stack.slack_secret("bender"), colleague, view, {"reason": {"reason": "sale is on"}},
                                          api_app_id=stack.slack_app("bender"))
    assert post_form(bender, body, headers) == (200, "")
    posts(stack, thread, f"Deploy Web Shop 8.6.0 to production was rejected by {colleague}: sale is on. Nothing was deployed.")
    nothing_deployed(stack, requested_by=user)


def post_form(bot, body, headers):
    import urllib.request

    request = urllib.request.Request(f"{bot.url}/webhooks/slack/webhook", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read().decode()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw


def test_on_slack_members_of_the_approver_group_approve_and_nobody_else(eyes, bender):
    """billing's approvers are @sre-oncall: a member approves; someone granted billing but not
    in the group is refused; when Slack cannot say who is in the group, nobody counts."""
    stack, user, member, outsider = eyes, new_user_id(), new_user_id(), new_user_id()
    for person in (user, member, outsider):
        stack.slack.add_user(person, "u" + person[1:].lower(), person, person)
    stack.slack.add_usergroup(ONCALL_GROUP, "sre-oncall", [member, user])
    code_app, member_app = enrol(bender, user), enrol(bender, member)
    for person in (user, outsider):
        grant(bender, person, "billing")
    thread = mention(stack, "bender", user, "deploy billing 8.6.0")
    posts(stack, thread, "Deploy Billing Service 8.6.0 to production? (yes/no)")
    assert send_event(stack, "bender", slack.thread_reply(user, "yes", thread)) == 200
    posts(stack, thread, "Deploy Billing Service 8.6.0 to production needs your second factor")
    assert send_event(stack, "bender", slack.direct_message(user, next_code(code_app), channel="D" + user[1:])) == 200
    [card] = posts(stack, thread, "Approval needed: Deploy Billing Service 8.6.0 to production")
    assert "from someone else (@sre-oncall)" in card["args"]["text"]

    since = last_audit_id(stack)
    stack.slack.fail_next("usergroups.list", "missing_scope", times=2)  # Slack cannot say who is on call
    assert bender.texts(outsider, "bender, approve") == [  # typed (REST): told why, not "nothing waits"
        f"Nothing I can count waits for your approval. Deploy Billing Service 8.6.0 to production (asked by {user}): "
        "Only @sre-oncall may approve deployments of Billing Service. I could not ask Slack who is in the user group "
        "@sre-oncall (missing_scope). So I can't count your approval. Nothing was done."]
    assert click(stack, "bender", card, member, "member", "Approve") == 200
    posts(stack, thread, "Only @sre-oncall may approve deployments of Billing Service. I could not ask Slack who is in the "
                         "user group @sre-oncall (missing_scope). So I can't count your approval. Nothing was done.")
    refused(stack, "approval", since, actor=member, containing="(missing_scope)")
    assert not any("Approve Deploy Billing Service 8.6.0" in json.dumps(c["args"]) for c in stack.slack.calls("views.open"))

    assert click(stack, "bender", card, outsider, "outsider", "Approve") == 200  # granted billing, not on call
    posts(stack, thread, "Only @sre-oncall may approve deployments of Billing Service. Nothing was done.")
    refused(stack, "approval", since, actor=outsider, containing="Only @sre-oncall")
    assert click(stack, "bender", card, user, "requester", "Approve") == 200  # on call, but the requester
    posts(stack, thread, "You asked for this deployment: someone else has to approve it. Nothing was done.")
    time.sleep(2)
    nothing_deployed(stack, requested_by=user)

    assert click(stack, "bender", card, member, "member", "Approve") == 200  # a modal asks for the member's code
    wait(lambda: [c for c in stack.slack.calls("views.open") if "Approve Deploy Billing Service 8.6.0" in json.dumps(c["args"])])
    [opened] = [c for c in stack.slack.calls("views.open") if "Approve Deploy Billing Service 8.6.0" in json.dumps(c["args"])]
    assert submit_code(stack, member, opened["answer"]["view"], next_code(member_app)) == (200, "")
    posts(stack, thread, f"Approved by {member}. OK, deploying Billing Service 8.6.0 to production")
    assert [d.approved_by for d in deployments(stack, requested_by=user)] == [member]
    assert {c["args"]["usergroup"] for c in stack.slack.calls("usergroups.users.list")} == {ONCALL_GROUP}


def test_each_app_of_a_batch_has_its_own_card_and_the_summary_counts_a_rejection(eyes, bender):
    """Several apps to Bender with approvals (issue 16): one yes and one code, then a card per
    app in the thread; one approved (deployed), one rejected (named in the summary)."""
    stack, user, colleague = eyes, new_user_id(), new_user_id()
    for person in (user, colleague):
        stack.slack.add_user(person, "u" + person[1:].lower(), person, person)
    code_app, colleague_app = enrol(bender, user), enrol(bender, colleague)
    for app_id in ("intranet", "crm"):
        grant(bender, user, app_id)
        grant(bender, colleague, app_id)
    thread = mention(stack, "bender", user, "deploy intranet 8.9.0 and crm 8.9.1")
    posts(stack, thread, "Deploy these 2 apps to production?\n• Intranet Portal 8.9.0\n• Customer Relationship Management 8.9.1")
    assert send_event(stack, "bender", slack.thread_reply(user, "yes", thread)) == 200
    posts(stack, thread, "Deploy Intranet Portal 8.9.0, Customer Relationship Management 8.9.1 to production needs your second factor")
    assert send_event(stack, "bender", slack.direct_message(user, next_code(code_app), channel="D" + user[1:])) == 200
    [intranet_card] = posts(stack, thread, "Approval needed: Deploy Intranet Portal 8.9.0 to production")
    [crm_card] = posts(stack, thread, "Approval needed: Deploy Customer Relationship Management 8.9.1 to production")
    [started] = posts(stack, thread, "OK, 2 deployments to production")
    assert started["args"]["text"].count("waiting for approval (its card is below)") == 2
    nothing_deployed(stack, requested_by=user)

    assert click(stack, "bender", intranet_card, colleague, "colleague", "Approve") == 200
    wait(lambda: [c for c in stack.slack.calls("views.open") if "Approve Deploy Intranet Portal 8.9.0" in json.dumps(c["args"])])
    [opened] = [c for c in stack.slack.calls("views.open") if "Approve Deploy Intranet Portal 8.9.0" in json.dumps(c["args"])]
    assert submit_code(stack, colleague, opened["answer"]["view"], next_code(colleague_app)) == (200, "")
    posts(stack, thread, f"Approved by {colleague}. OK, deploying Intranet Portal 8.9.0 to production")

    assert click(stack, "bender", crm_card, colleague, "colleague", "Reject") == 200
    wait(lambda: [c for c in stack.slack.calls("views.open") if "deploybot_reject" in json.dumps(c["args"]) and "8.9.1" in json.dumps(c["args"])])
    [opened] = [c for c in stack.slack.calls("views.open") if "deploybot_reject" in json.dumps(c["args"]) and "8.9.1" in json.dumps(c["args"])]
    body, headers = slack.view_submission(stack.slack_secret("bender"), colleague, opened["answer"]["view"],
                                          {"reason": {"reason": "crm freeze this week"}}, api_app_id=stack.slack_app("bender"))
    assert post_form(bender, body, headers) == (200, "")
    posts(stack, thread, f"Deploy Customer Relationship Management 8.9.1 to production was rejected by {colleague}")
    posts(stack, thread, "Intranet Portal: deployed version 8.9.0 to production in ")
    [summary] = posts(stack, thread, "1 of 2 deployed to production:")
    assert summary["args"]["text"] == (
        "1 of 2 deployed to production:\n• Intranet Portal 8.9.0: deployed\n• Customer Relationship Management 8.9.1:"
        f" not started (rejected by {colleague}: crm freeze this week)")
    [record] = deployments(stack, requested_by=user)
    assert (record.app, record.approved_by, record.second_factor) == ("intranet", colleague, True)


def test_outside_slack_an_approver_names_the_app_among_a_batchs_cards(eyes, bender):
    """Typed approvals (terminal chat, REST) with a batch's two cards waiting: "approve" alone
    names no card and does nothing; "approve shop" / "reject billing, reason: …" pick one each."""
    user, colleague = new_user_id(), new_user_id()
    code_app, colleague_app = enrol(bender, user), enrol(bender, colleague)
    for app_id in ("shop", "search"):
        grant(bender, user, app_id)
        grant(bender, colleague, app_id)
    bender.say(user, "@bender deploy shop 8.8.0 and search 8.8.1")
    bender.say(user, "yes")
    texts = bender.texts(user, next_code(code_app))
    assert sum(text.startswith("Approval needed: ") for text in texts) == 2, texts
    [several] = bender.texts(colleague, "approve")
    assert several.startswith("Several requests wait for your approval: ") and "Name the app, for example “approve " in several
    nothing_deployed(eyes, requested_by=user)
    assert bender.texts(colleague, "approve shop") == [
        "Your approval of deploy Web Shop 8.8.0 to production counts with your own code: "
        "send me the 6-digit code your authenticator app shows now."]
    assert bender.texts(colleague, next_code(colleague_app))[0].startswith("Approved: Deploy Web Shop 8.8.0 to production.")
    assert bender.texts(colleague, "reject search, reason: index rebuild first") == [
        f"Rejected: Deploy Search API 8.8.1 to production. I'm telling {user} why."]
    [summary] = bender.wait_for(user, "1 of 2 deployed to production:")
    assert summary.endswith(f"• Search API 8.8.1: not started (rejected by {colleague}: index rebuild first)")
    assert [d.app for d in deployments(eyes, requested_by=user)] == ["shop"]
