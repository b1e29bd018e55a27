"""Slack threads end to end: plain replies in the bot's thread, edits, build systems trusted
by app id, and the app menu; signed requests as Slack sends them, to the real Rasa servers,
and what the bots posted read from the Slack Web API fake."""
import json
import time

from tests import slack_requests as slack
from tests.slack_chat import (
    BENDER_ME, CHANNEL, MARVIN_ME, THERESA, deployments, mention, new_ts, post, posts, send_event,
)

WALTER = "U0WALTER"
EDIT_ANSWER = "I act on new messages, not edits: send it again."
TRUSTED_APP = "A0JENKINS1"  # tests/support.py must trust it for Marvin (MARVIN_TRUSTED_BUILD_SYSTEMS)
QUIET_SECONDS = 3           # how long a bot that would answer takes at most, here


def reply(stack, bot_id, user, text, thread_ts, broadcast=False):
    """A plain reply (no mention) in a thread; returns the event."""
    event = slack.thread_reply(user, text, thread_ts, channel=CHANNEL, broadcast=broadcast)
    assert send_event(stack, bot_id, event) == 200
    return event


def thread_posts(stack, thread_ts):
    return [c for c in stack.slack.calls() if c["args"].get("thread_ts") == thread_ts]


def stays_quiet(stack, thread_ts, before):
    """Nothing more is posted in the thread (or shown to anyone in it) for a while."""
    time.sleep(QUIET_SECONDS)
    said = [c["args"].get("text") for c in thread_posts(stack, thread_ts)[before:]]
    assert said == [], said


def blocks_of(question):
    blocks = question["args"]["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def pick(stack, bot_id, question, user, user_name, option):
    """Picks an option in the menu of a question the bot posted."""
    body, headers = slack.menu_choice(
        stack.slack_secret(bot_id), user, user_name, question["args"]["channel"], question["answer"]["ts"], option,
        text=question["args"]["text"], blocks=blocks_of(question), thread_ts=question["args"].get("thread_ts"),
        api_app_id=stack.slack_app(bot_id))
    return post(stack.bots[bot_id], body, headers)


def test_a_plain_yes_in_the_thread_confirms_and_deploys(stack):
    ts = mention(stack, "marvin", THERESA, "deploy billing 3.0.2")
    posts(stack, ts, "Deploy Billing Service 3.0.2 to staging? (yes/no)")
    reply(stack, "marvin", THERESA, "yes", ts)
    posts(stack, ts, "OK, deploying Billing Service 3.0.2 to staging")
    posts(stack, ts, "Billing Service: deployed version 3.0.2 to staging in ")
    [record] = [d for d in deployments(stack, app="billing") if d.version == "3.0.2"]
    assert record.requested_by == THERESA


def test_a_reply_also_sent_to_the_channel_confirms_too(stack):
    ts = mention(stack, "marvin", THERESA, "deploy search 4.4.2")
    posts(stack, ts, "Deploy Search API 4.4.2 to staging? (yes/no)")
    reply(stack, "marvin", THERESA, "yes", ts, broadcast=True)
    posts(stack, ts, "Search API: deployed version 4.4.2 to staging in ")


def test_someone_elses_plain_yes_in_the_thread_does_nothing(stack):
    ts = mention(stack, "marvin", THERESA, "deploy search 4.0.1")
    posts(stack, ts, "Deploy Search API 4.0.1 to staging? (yes/no)")
    before = len(thread_posts(stack, ts))
    reply(stack, "marvin", WALTER, "yes", ts)
    bender_says_yes = {**slack.app_bot_message("BBENDER01", "ABENDER01", "yes", bot_user=BENDER_ME), "thread_ts": ts}
    assert send_event(stack, "marvin", bender_says_yes) == 200  # the other deploybot never answers for anyone
    stays_quiet(stack, ts, before)
    assert not [d for d in deployments(stack, app="search") if d.version == "4.0.1"]
    reply(stack, "marvin", THERESA, "yes", ts)  # the question is still Theresa's to answer
    posts(stack, ts, "Search API: deployed version 4.0.1 to staging in ")
    assert len([d for d in deployments(stack, app="search") if d.version == "4.0.1"]) == 1


def test_a_version_as_a_plain_reply_answers_which_version(stack):
    ts = mention(stack, "marvin", THERESA, "deploy crm")
    posts(stack, ts, "Which version of Customer Relationship Management?")
    reply(stack, "marvin", THERESA, "1.0.4", ts)
    posts(stack, ts, "Deploy Customer Relationship Management 1.0.4 to staging? (yes/no)")


def test_an_edit_gets_the_short_answer_once_and_changes_nothing(stack):
    ts = new_ts()
    original = slack.app_mention(THERESA, f"<@{MARVIN_ME}> deploy shop 7.1.0", MARVIN_ME, channel=CHANNEL, ts=ts)
    assert send_event(stack, "marvin", original) == 200
    posts(stack, ts, "Deploy Web Shop 7.1.0 to staging? (yes/no)")
    edited_at, new_text = new_ts(), f"<@{MARVIN_ME}> deploy shop 7.1.1"
    change = slack.message_changed({**original, "type": "message", "channel_type": "channel"}, new_text, edited_at)
    event_id = slack.new_event_id()
    assert send_event(stack, "marvin", change, event_id=event_id) == 200
    assert send_event(stack, "marvin", change, event_id=event_id, retry_num=1, retry_reason="http_error") == 200
    assert send_event(stack, "marvin", slack.edited_app_mention(original, new_text, edited_at)) == 200
    [answer] = posts(stack, ts, EDIT_ANSWER)
    assert answer["token_owner"] == "marvin"
    time.sleep(QUIET_SECONDS)
    assert [c["args"]["text"] for c in thread_posts(stack, ts)][-1] == EDIT_ANSWER  # once, and nothing after it
    assert not [d for d in deployments(stack, app="shop") if d.version in ("7.1.0", "7.1.1")]

    yes = reply(stack, "marvin", THERESA, "yes", ts)  # the question asked before the edit still stands
    posts(stack, ts, "Web Shop: deployed version 7.1.0 to staging in ")
    assert send_event(stack, "marvin", slack.message_changed(yes, "no")) == 200  # an edit of the plain yes
    posts(stack, ts, EDIT_ANSWER, count=2)
    assert not [d for d in deployments(stack, app="shop") if d.version == "7.1.1"]


def test_an_edit_not_addressed_to_the_bot_is_not_answered(stack):
    ts = mention(stack, "marvin", THERESA, "deploy cms 2.3.4")
    posts(stack, ts, "Deploy Content Management System 2.3.4 to staging? (yes/no)")
    before = len(thread_posts(stack, ts))
    walters = reply(stack, "marvin", WALTER, "looks good", ts)
    assert send_event(stack, "marvin", slack.message_changed(walters, "looks great")) == 200
    stays_quiet(stack, ts, before)


def test_a_build_system_trusted_by_its_app_id_deploys(stack):
    trusted = stack.env.get("MARVIN_TRUSTED_BUILD_SYSTEMS", "").split(",")
    assert TRUSTED_APP in trusted, f"tests/support.py must add {TRUSTED_APP} to MARVIN_TRUSTED_BUILD_SYSTEMS"
    ts = new_ts()
    # A bot id nobody listed; its app is trusted. Apps' messages carry the app id only in bot_profile.
    event = slack.app_bot_message("B0JENKINS9", TRUSTED_APP, f"<@{MARVIN_ME}> deploy crm 9.2.0 to staging", channel=CHANNEL, ts=ts)
    assert send_event(stack, "marvin", event) == 200
    posts(stack, ts, "OK, deploying Customer Relationship Management 9.2.0 to staging")
    posts(stack, ts, "Customer Relationship Management: deployed version 9.2.0 to staging in ")
    [record] = [d for d in deployments(stack, app="crm") if d.version == "9.2.0"]
    assert record.requested_by == "B0JENKINS9"


def test_the_sixth_app_can_be_picked_from_the_menu_by_the_requester_only(stack):
    ts = mention(stack, "marvin", THERESA, "deploy 5.1.0")
    [question] = posts(stack, ts, "Which app?")
    [actions] = [b for b in blocks_of(question) if b["type"] == "actions"]
    [menu] = actions["elements"]
    assert menu["type"] == "static_select" and [o["text"]["text"] for o in menu["options"]][5] == "intranet"

    assert pick(stack, "marvin", question, WALTER, "walter", "intranet") == 200
    [ephemeral] = posts(stack, ts, method="chat.postEphemeral")
    assert (ephemeral["args"]["user"], ephemeral["args"]["text"]) == (WALTER, f"Only <@{THERESA}> can confirm this.")

    assert pick(stack, "marvin", question, THERESA, "theresa", "intranet") == 200
    posts(stack, ts, "Deploy Intranet Portal 5.1.0 to staging? (yes/no)")
    assert not [d for d in deployments(stack, app="intranet") if d.version == "5.1.0"]
