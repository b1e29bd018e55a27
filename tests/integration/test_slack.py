"""Slack end to end: signed Events API and interactivity requests, built as Slack builds
them, sent to the real Rasa servers; what the bots post is read from the Slack Web API fake
they are pointed at (SLACK_API_URL)."""
import json
import re
import time
import uuid

from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import Grant
from tests import slack_requests as slack
from tests.slack_chat import (
    BENDER_ME, CHANNEL, MARVIN_ME, THERESA, audit_entries, click, deployments, mention, new_ts, post, posts, updates_of,
)
from tests.support import ADMIN


def test_a_mention_a_button_yes_and_both_reports_all_in_the_thread(stack):
    ts = mention(stack, "marvin", THERESA, "deploy cms 2.2.2")
    [question] = posts(stack, ts, "Deploy Content Management System 2.2.2 to staging? (yes/no)")
    other, since = "U0WALTER", max((a.id for a in audit_entries(stack)), default=0)
    click(stack, "marvin", question, other, "walter", "Yes")
    [ephemeral] = posts(stack, ts, method="chat.postEphemeral")
    assert ephemeral["args"]["user"] == other and ephemeral["args"]["text"] == f"Only <@{THERESA}> can confirm this."
    assert not [d for d in deployments(stack) if d.version == "2.2.2"]
    assert [(a.action, a.outcome) for a in audit_entries(stack, other) if a.id > since] == [("confirm", "refused")]

    click(stack, "marvin", question, THERESA, "theresa", "Yes")
    posts(stack, ts, "OK, deploying Content Management System 2.2.2 to staging")
    [update] = updates_of(stack, question)
    assert update["args"]["text"] == (f"Deploy Content Management System 2.2.2 to staging? (yes/no)\n→ Yes (<@{THERESA}>):"
                                      " confirmed: Deploy Content Management System 2.2.2 to staging")
    assert "actions" not in json.dumps(update["args"].get("blocks"))
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
    posts(stack, ts, f"Theresa ({THERESA}) may now deploy Search API to production.")
    with Database(stack.database_url()).transaction() as session:
        assert [(g.user_id, g.app) for g in session.scalars(select(Grant).where(Grant.user_id == THERESA))] == [(THERESA, "search")]
    ts = mention(stack, "bender", ADMIN, "auth nobodyhere search")
    posts(stack, ts, "I can't find a Slack user called “nobodyhere”. Nothing was changed.")
    with Database(stack.database_url()).transaction() as session:
        assert list(session.scalars(select(Grant).where(Grant.user_id.in_(["nobodyhere", "NOBODYHERE"])))) == []


def test_a_production_success_is_posted_to_the_management_channel(stack):
    ts = mention(stack, "bender", ADMIN, f"auth <@{THERESA}> intranet")
    posts(stack, ts, f"Theresa ({THERESA}) may now deploy Intranet Portal to production.")
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


def test_a_direct_message_is_answered_in_its_thread(stack):
    ts = new_ts()
    event = slack.direct_message(THERESA, "which apps can you deploy?", channel="D0THERESA", ts=ts)
    body, headers = slack.event_callback(stack.slack_secret("bender"), event, api_app_id=stack.slack_app("bender"),
                                         authorized_user=BENDER_ME)
    assert post(stack.bots["bender"], body, headers) == 200
    [reply] = posts(stack, ts, "I deploy these apps to production:")
    assert (reply["args"]["channel"], reply["token_owner"]) == ("D0THERESA", "bender")


def test_slacks_escaped_text_is_read_as_the_person_typed_it(stack):
    # Slack sends "->" as "-&gt;" and wraps channel names: the request is understood, not refused as shell syntax.
    ts = mention(stack, "marvin", THERESA, "deploy cms 1.0.5 -&gt; <#C0STAGING1|staging>")
    posts(stack, ts, "Deploy Content Management System 1.0.5 to staging? (yes/no)")
    mention(stack, "marvin", THERESA, "no", thread_ts=ts)
    posts(stack, ts, "Cancelled, nothing was deployed.")
