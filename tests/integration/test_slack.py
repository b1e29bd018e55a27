"""Slack end to end: signed Events API and interactivity requests, built as Slack builds
them, sent to the real Rasa servers; what the bots post is read from the Slack Web API fake
they are pointed at (SLACK_API_URL)."""
import json
import re
import time
import urllib.request
import uuid

from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import AuditEntry, Deployment, Grant
from tests import slack_requests as slack
from tests.support import ADMIN

MARVIN_ME, BENDER_ME = "UMARVIN01", "UBENDER01"
THERESA = "U0THERESA"
CHANNEL = "C0DEPLOYS"


def post(bot, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(f"{bot.url}/webhooks/slack/webhook", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def new_ts() -> str:
    return f"{time.time():.6f}"


def mention(stack, bot_id, user, text, thread_ts=None, **envelope):
    """A user mentions a bot in the deploy channel; returns the message ts."""
    ts = new_ts()
    me = MARVIN_ME if bot_id == "marvin" else BENDER_ME
    event = slack.app_mention(user, f"<@{me}> {text}", me, channel=CHANNEL, ts=ts, thread_ts=thread_ts)
    body, headers = slack.event_callback(stack.slack_secret(bot_id), event, api_app_id=stack.slack_app(bot_id),
                                         authorized_user=me, **envelope)
    assert post(stack.bots[bot_id], body, headers) == 200
    return ts


def posts(stack, thread_ts, prefix="", method="chat.postMessage", timeout=60, count=1):
    """Waits for the bots' posts in a thread whose text starts with prefix."""
    deadline = time.monotonic() + timeout
    while True:
        found = [c for c in stack.slack.calls(method)
                 if c["args"].get("thread_ts") == thread_ts and str(c["args"].get("text", "")).startswith(prefix)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            seen = [(c["method"], c["args"].get("thread_ts"), c["args"].get("text")) for c in stack.slack.calls()][-15:]
            raise AssertionError(f"no {count} {method} in thread {thread_ts} starting {prefix!r}; last calls: {seen}")
        time.sleep(0.3)


def click(stack, bot_id, question, clicker, clicker_name, title):
    """Clicks a button of a question the bot posted, as Slack delivers the click."""
    blocks = json.loads(question["args"]["blocks"]) if isinstance(question["args"]["blocks"], str) else question["args"]["blocks"]
    actions = next(b for b in blocks if b["type"] == "actions")
    button = next(e for e in actions["elements"] if e["text"]["text"] == title)
    body, headers = slack.block_actions(
        stack.slack_secret(bot_id), clicker, clicker_name, question["args"]["channel"], question["answer"]["ts"],
        button["value"], button["action_id"], block_id=actions["block_id"], blocks=blocks,
        text=question["args"]["text"], thread_ts=question["args"].get("thread_ts"), api_app_id=stack.slack_app(bot_id))
    assert post(stack.bots[bot_id], body, headers) == 200


def test_a_mention_a_button_yes_and_both_reports_all_in_the_thread(stack):
    ts = mention(stack, "marvin", THERESA, "deploy cms 2.2.2")
    [question] = posts(stack, ts, "Deploy Content Management System 2.2.2 to staging? (yes/no)")
    other = "U0WALTER"
    click(stack, "marvin", question, other, "walter", "Yes")
    [ephemeral] = posts(stack, ts, method="chat.postEphemeral")
    assert ephemeral["args"]["user"] == other and ephemeral["args"]["text"] == f"Only <@{THERESA}> can confirm this."
    assert not [d for d in deployments(stack) if d.version == "2.2.2"]
    assert [(a.action, a.outcome) for a in audit_entries(stack, other)] == [("confirm", "refused")]

    click(stack, "marvin", question, THERESA, "theresa", "Yes")
    [update] = [c for c in stack.slack.calls("chat.update") if c["args"]["ts"] == question["answer"]["ts"]]
    assert update["args"]["text"] == f"Deploy Content Management System 2.2.2 to staging? (yes/no)\n→ Yes (<@{THERESA}>)"
    assert "actions" not in json.dumps(update["args"].get("blocks"))
    posts(stack, ts, "OK, deploying Content Management System 2.2.2 to staging")
    [started] = posts(stack, ts, "Deploying Content Management System 2.2.2 to staging: Jenkins build #")
    assert started["token_owner"] == "marvin"
    posts(stack, ts, "Content Management System: deployed version 2.2.2 to staging in ")
    [record] = [d for d in deployments(stack) if d.version == "2.2.2"]
    assert (record.requested_by, record.output_channel, record.state) == (THERESA, "slack", "succeeded")


def test_a_typed_yes_in_the_thread_confirms(stack):
    ts = mention(stack, "marvin", THERESA, "deploy billing 3.0.1")
    posts(stack, ts, "Deploy Billing Service 3.0.1 to staging? (yes/no)")
    mention(stack, "marvin", THERESA, "yes", thread_ts=ts)
    posts(stack, ts, "Billing Service: deployed version 3.0.1 to staging in ")


def test_an_admin_grants_by_mention_and_an_unknown_user_is_refused(stack):
    ts = mention(stack, "bender", ADMIN, f"auth <@{THERESA}> search")
    posts(stack, ts, "Theresa may now deploy Search API to production.")
    with Database(stack.database_url()).transaction() as session:
        assert [(g.user_id, g.app) for g in session.scalars(select(Grant).where(Grant.user_id == THERESA))] == [(THERESA, "search")]
    ts = mention(stack, "bender", ADMIN, "auth nobodyhere search")
    posts(stack, ts, "I can't find a Slack user called “nobodyhere”. Nothing was changed.")
    with Database(stack.database_url()).transaction() as session:
        assert list(session.scalars(select(Grant).where(Grant.user_id.in_(["nobodyhere", "NOBODYHERE"])))) == []


def test_a_production_success_is_posted_to_the_management_channel(stack):
    ts = mention(stack, "bender", ADMIN, f"auth <@{THERESA}> intranet")
    posts(stack, ts, "Theresa may now deploy Intranet Portal to production.")
    ts = mention(stack, "bender", THERESA, "deploy intranet 5.5.0")
    [question] = posts(stack, ts, "Deploy Intranet Portal 5.5.0 to production? (yes/no)")
    click(stack, "bender", question, THERESA, "theresa", "Yes")
    posts(stack, ts, "Intranet Portal: deployed version 5.5.0 to production in ")
    deadline = time.monotonic() + 15
    while not (found := [c for c in stack.slack.calls("chat.postMessage")
                         if c["args"]["channel"] == "#deployments-management" and "5.5.0" in c["args"]["text"]]):
        assert time.monotonic() < deadline, "no management post"
        time.sleep(0.3)
    [management] = found
    assert management["token_owner"] == "bender"
    assert re.fullmatch(r"Intranet Portal 5\.5\.0 is on production: deployed by Theresa in \d+ sec\. Build #\d+: "
                        r"http://127\.0\.0\.1:\d+/job/intranet/job/deploy/\d+/", management["args"]["text"]), management


def test_a_trusted_build_system_deploys_without_a_yes_and_others_are_ignored(stack):
    body, headers = slack.event_callback(
        stack.slack_secret("marvin"), slack.bot_message("BOTHERBOT1", f"<@{MARVIN_ME}> deploy crm 9.0.0", channel=CHANNEL, ts=new_ts()),
        api_app_id=stack.slack_app("marvin"), authorized_user=MARVIN_ME)
    assert post(stack.bots["marvin"], body, headers) == 200
    ts = new_ts()
    body, headers = slack.event_callback(
        stack.slack_secret("marvin"), slack.bot_message("B0JENKINS1", f"<@{MARVIN_ME}> deploy crm 9.0.1 to staging", channel=CHANNEL, ts=ts),
        api_app_id=stack.slack_app("marvin"), authorized_user=MARVIN_ME)
    assert post(stack.bots["marvin"], body, headers) == 200
    posts(stack, ts, "OK, deploying Customer Relationship Management 9.0.1 to staging")
    posts(stack, ts, "Customer Relationship Management: deployed version 9.0.1 to staging in ")
    versions = [d.version for d in deployments(stack) if d.app == "crm"]
    assert "9.0.1" in versions and "9.0.0" not in versions
    assert not [c for c in stack.slack.calls() if "9.0.0" in str(c["args"].get("text", ""))]


def test_a_retried_event_is_handled_once(stack):
    ts, event_id = new_ts(), "Ev" + uuid.uuid4().hex[:10].upper()
    event = slack.app_mention(THERESA, f"<@{MARVIN_ME}> which apps?", MARVIN_ME, channel=CHANNEL, ts=ts)
    for retry in (None, 1, 2):
        body, headers = slack.event_callback(stack.slack_secret("marvin"), event, event_id=event_id, retry_num=retry,
                                             retry_reason="http_timeout" if retry else None,
                                             api_app_id=stack.slack_app("marvin"), authorized_user=MARVIN_ME)
        assert post(stack.bots["marvin"], body, headers) == 200
    posts(stack, ts, "I deploy these apps to staging")
    time.sleep(2)
    assert len(posts(stack, ts, "I deploy these apps to staging")) == 1


def test_bad_signatures_stale_timestamps_and_malformed_bodies_are_refused(stack):
    event = slack.app_mention(THERESA, f"<@{MARVIN_ME}> deploy shop 6.6.6", MARVIN_ME, channel=CHANNEL, ts=new_ts())
    body, headers = slack.event_callback("not-the-secret", event, api_app_id=stack.slack_app("marvin"), authorized_user=MARVIN_ME)
    assert post(stack.bots["marvin"], body, headers) == 401
    body, headers = slack.event_callback(stack.slack_secret("marvin"), event, timestamp=int(time.time()) - 6 * 60,
                                         api_app_id=stack.slack_app("marvin"), authorized_user=MARVIN_ME)
    assert post(stack.bots["marvin"], body, headers) == 401
    garbage = b'{"type": "event_callback", "event": '
    assert post(stack.bots["marvin"], garbage, slack.sign(garbage, stack.slack_secret("marvin"))) == 400
    assert not [c for c in stack.slack.calls() if "6.6.6" in str(c["args"].get("text", ""))]
    assert [(a.action, a.outcome) for a in audit_entries(stack, "unknown")][-2:] == [("slack_request", "refused")] * 2


def audit_entries(stack, actor):
    with Database(stack.database_url()).transaction() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.id)))


def deployments(stack):
    with Database(stack.database_url()).transaction() as session:
        return list(session.scalars(select(Deployment).order_by(Deployment.id)))


def test_a_direct_message_is_answered_in_its_thread(stack):
    ts = new_ts()
    event = slack.direct_message(THERESA, "which apps can you deploy?", channel="D0THERESA", ts=ts)
    body, headers = slack.event_callback(stack.slack_secret("bender"), event, api_app_id=stack.slack_app("bender"),
                                         authorized_user=BENDER_ME)
    assert post(stack.bots["bender"], body, headers) == 200
    [reply] = posts(stack, ts, "I deploy these apps to production:")
    assert (reply["args"]["channel"], reply["token_owner"]) == ("D0THERESA", "bender")
