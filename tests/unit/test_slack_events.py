"""Which Slack events count, and as whom (deploybot.adapters.slack.events), on payloads shaped as
Slack sends them; and that each is handled once (deploybot.adapters.slack.deliveries)."""
from datetime import timedelta

from sqlalchemy import func, select, update

from deploybot.domain.deployments import now
from deploybot.adapters.slack.deliveries import Deliveries
from deploybot.adapters.slack.events import foreign_teams, request_from, strip_mention
from deploybot.storage.database import Database, migrate
from deploybot.storage.models import SlackDelivery
from tests import slack_requests as slack

ME = "UMARVIN01"
TRUSTED = ("B0JENKINS1",)


def envelope(**event):
    return {"type": "event_callback", "event_id": "Ev1", "authorizations": [{"user_id": ME, "is_bot": True}],
            "event": {"channel": "C0DEPLOYS", "ts": "1732630000.000100", **event}}


def test_a_users_mention_is_a_request_from_that_user():
    found = request_from(envelope(type="app_mention", user="U0THERESA1", text=f"<@{ME}> deploy cms 1.0.2"), TRUSTED)
    assert (found.sender, found.text, found.thread_ts, found.build_system) == ("U0THERESA1", "deploy cms 1.0.2", None, None)


def test_a_direct_message_counts_but_a_plain_channel_message_does_not():
    assert request_from(envelope(type="message", channel_type="im", user="U0THERESA1", text="status"), TRUSTED).text == "status"
    assert request_from(envelope(type="message", channel_type="channel", user="U0THERESA1", text="deploy cms"), TRUSTED) is None


def test_a_mention_in_a_thread_keeps_the_thread():
    found = request_from(envelope(type="app_mention", user="U0THERESA1", text=f"<@{ME}> yes", thread_ts="1732620000.000001"), TRUSTED)
    assert found.thread_ts == "1732620000.000001"


def test_a_trusted_build_system_counts_when_it_mentions_the_bot():
    event = dict(type="message", subtype="bot_message", bot_id="B0JENKINS1", text=f"<@{ME}> deploy cms 1.0.3 to staging")
    found = request_from(envelope(**event), TRUSTED)
    assert (found.sender, found.build_system, found.text) == ("B0JENKINS1", "B0JENKINS1", "deploy cms 1.0.3 to staging")
    assert request_from(envelope(**{**event, "text": "deploy cms 1.0.3"}), TRUSTED) is None  # not addressed to me


def test_other_bots_and_the_bot_itself_are_ignored():
    assert request_from(envelope(type="message", subtype="bot_message", bot_id="BOTHER001", text=f"<@{ME}> deploy cms 1"), TRUSTED) is None
    assert request_from(envelope(type="message", bot_id="BMARVIN01", user=ME, channel_type="im", text="Deploy?"), TRUSTED) is None
    assert request_from(envelope(type="message", channel_type="im", user=ME, text="hello"), TRUSTED) is None


def test_joins_empty_messages_and_changes_without_a_new_message_are_ignored():
    assert request_from(envelope(type="message", subtype="message_changed", channel_type="im", user="U0THERESA1", text="x"), TRUSTED) is None
    assert request_from(envelope(type="message", subtype="channel_join", user="U0THERESA1", text="<@U0THERESA1> has joined",
                                 thread_ts="1732620000.000001"), TRUSTED) is None
    assert request_from(envelope(type="app_mention", user="U0THERESA1", text="   "), TRUSTED) is None
    assert request_from({"type": "event_callback"}, TRUSTED) is None


def test_only_the_bots_own_mention_is_removed():
    assert strip_mention(f"<@{ME}> auth <@U0THERESA1> cms", ME) == "auth <@U0THERESA1> cms"
    assert strip_mention(f"<@{ME}|marvin>: deploy cms", ME) == "deploy cms"


def test_deliveries_are_recorded_once_and_old_ones_are_forgotten(tmp_path):
    url = f"sqlite:///{tmp_path / 'deploybot.db'}"
    migrate(url)
    deliveries = Deliveries(Database(url))
    assert deliveries.first_time(["event:Ev1", "message:C1:1.0"])
    assert not deliveries.first_time(["event:Ev1", "message:C1:1.0"])  # a retry
    assert not deliveries.first_time(["event:Ev2", "message:C1:1.0"])  # the same message as another event
    with deliveries.db.transaction() as session:
        session.execute(update(SlackDelivery).values(received_at=now() - timedelta(days=2)))
    deliveries.forget_old()
    with deliveries.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SlackDelivery)) == 0


# -- plain replies in threads, edits, apps: payloads as Slack sends them (tests/slack_requests.py)

THREAD = "1732630000.000100"   # the ts of the message that started the thread
THERESA, WALTER = "U0THERESA", "U0WALTER"


def delivered(event, me=ME):
    """An event as request_from sees it: in its envelope, delivered to the bot `me`."""
    return {"type": "event_callback", "event_id": slack.new_event_id(), "api_app_id": "AMARVIN01", "team_id": slack.TEAM_ID,
            "authorizations": [{"team_id": slack.TEAM_ID, "user_id": me, "is_bot": True}], "event": event}


def test_a_plain_reply_in_a_thread_is_a_request_only_where_the_bot_talks_with_the_sender():
    found = request_from(delivered(slack.thread_reply(THERESA, "yes", THREAD)), TRUSTED)
    assert (found.sender, found.text, found.thread_ts, found.plain_reply, found.edited) == (THERESA, "yes", THREAD, True, None)
    version = request_from(delivered(slack.thread_reply(THERESA, "1.0.4", THREAD, parent_user=WALTER)), TRUSTED)
    assert (version.text, version.plain_reply) == ("1.0.4", True)


def test_a_reply_also_sent_to_the_channel_is_a_normal_reply():
    event = slack.thread_reply(THERESA, "yes", THREAD, broadcast=True)
    assert event["subtype"] == "thread_broadcast"
    found = request_from(delivered(event), TRUSTED)
    assert (found.text, found.thread_ts, found.plain_reply) == ("yes", THREAD, True)


def test_a_plain_message_outside_a_thread_or_starting_one_is_not_a_request():
    assert request_from(delivered(slack.user_message("message", THERESA, "yes", "C0DEPLOYS", None, None)), TRUSTED) is None
    parent = slack.user_message("message", THERESA, "yes", "C0DEPLOYS", THREAD, THREAD)  # a parent shows its own ts
    assert request_from(delivered(parent), TRUSTED) is None


def test_the_message_twin_of_a_mention_in_a_thread_is_the_mention_itself():
    twin = slack.thread_reply(THERESA, f"<@{ME}> yes", THREAD)
    found = request_from(delivered(twin), TRUSTED)
    assert (found.text, found.plain_reply, found.ts) == ("yes", False, twin["ts"])
    labelled = request_from(delivered(slack.thread_reply(THERESA, f"<@{ME}|marvin> yes", THREAD)), TRUSTED)
    assert (labelled.text, labelled.plain_reply) == ("yes", False)


def test_an_edited_mention_is_an_edit_of_the_original_message():
    original = slack.app_mention(THERESA, "deploy cms 1.0.5", ME, ts="1732630000.000100")
    as_message = {**original, "type": "message", "channel_type": "channel"}
    change = slack.message_changed(as_message, f"<@{ME}> deploy cms 1.0.6", edited_at="1732630100.000000")
    found = request_from(delivered(change), TRUSTED)
    assert (found.sender, found.ts, found.edited, found.text, found.plain_reply) == (
        THERESA, "1732630000.000100", "1732630100.000000", "deploy cms 1.0.6", False)
    again = request_from(delivered(slack.edited_app_mention(original, f"<@{ME}> deploy cms 1.0.6", "1732630100.000000")), TRUSTED)
    assert (again.ts, again.edited, again.thread_ts) == ("1732630000.000100", "1732630100.000000", None)


def test_an_edited_plain_reply_or_direct_message_is_an_edit_and_other_edits_are_not_requests():
    reply = request_from(delivered(slack.message_changed(slack.thread_reply(THERESA, "yes", THREAD), "no")), TRUSTED)
    assert (reply.edited is not None, reply.plain_reply, reply.thread_ts, reply.text) == (True, True, THREAD, "no")
    direct = request_from(delivered(slack.message_changed(slack.direct_message(THERESA, "status"), "status cms")), TRUSTED)
    assert (direct.edited is not None, direct.channel, direct.plain_reply) == (True, "D0DM00001", False)
    plain = slack.message_changed(slack.user_message("message", THERESA, "lunch?", "C0DEPLOYS", None, None), "lunch at 1?")
    assert request_from(delivered(plain), TRUSTED) is None  # not addressed to the bot


def test_changes_slack_makes_and_bots_edits_are_not_edit_requests():
    unfurled = slack.message_changed(slack.app_mention(THERESA, "see https://x.example", ME), f"<@{ME}> see https://x.example")
    del unfurled["message"]["edited"]  # an unfurl or a new reply count: no edit by a person
    assert request_from(delivered(unfurled), TRUSTED) is None
    own_update = slack.message_changed(slack.app_bot_message("BMARVIN01", "AMARVIN01", "Deploy cms?", bot_user=ME), "Deploy cms? → Yes")
    assert request_from(delivered(own_update), TRUSTED) is None
    jenkins = slack.message_changed(slack.app_bot_message("B0JENKINS1", "A0JENKINS1", f"<@{ME}> deploy cms 1.0.3"), f"<@{ME}> deploy cms 1.0.4")
    assert request_from(delivered(jenkins), TRUSTED) is None


def test_a_build_system_is_trusted_by_its_app_id_in_bot_profile():
    event = slack.app_bot_message("B0UNLISTED", "A0JENKINS1", f"<@{ME}> deploy cms 1.0.3 to staging")
    assert "app_id" not in event
    found = request_from(delivered(event), ("A0JENKINS1",))
    assert (found.sender, found.build_system, found.text) == ("B0UNLISTED", "B0UNLISTED", "deploy cms 1.0.3 to staging")
    assert request_from(delivered(event), ("A0SOMEONE1",)) is None
    top_level = request_from(delivered({**slack.bot_message("B0UNLISTED", f"<@{ME}> deploy cms 1"), "app_id": "A0JENKINS1"}), ("A0JENKINS1",))
    assert top_level.build_system == "B0UNLISTED"


def test_bots_never_count_by_a_plain_reply_and_the_deploybots_never_trigger_each_other():
    jenkins_reply = {**slack.app_bot_message("B0JENKINS1", "A0JENKINS1", "yes"), "thread_ts": THREAD}
    assert request_from(delivered(jenkins_reply), TRUSTED) is None  # trusted, but not addressed to the bot
    bender = {**slack.app_bot_message("BBENDER01", "ABENDER01", "yes", bot_user="UBENDER01"), "thread_ts": THREAD}
    assert request_from(delivered(bender), TRUSTED) is None
    bender_mentions = slack.app_bot_message("BBENDER01", "ABENDER01", f"<@{ME}> deploy cms 1.0.3", bot_user="UBENDER01")
    assert request_from(delivered(bender_mentions), TRUSTED) is None
    # Even trusted by mistake, this bot's own app never counts.
    own = slack.app_bot_message("BMARVIN02", "AMARVIN01", f"<@{ME}> deploy cms 1.0.3", bot_user="UMARVIN02")
    assert request_from(delivered(own), ("BMARVIN02", "AMARVIN01")) is None


def test_an_edit_from_another_workspace_is_foreign():
    change = slack.message_changed(slack.thread_reply(THERESA, "yes", THREAD), "no")
    change["message"]["user_team"] = "T0OTHERCO1"
    assert foreign_teams(delivered(change), change, [slack.TEAM_ID]) == ["T0OTHERCO1"]


def test_conversations_count_per_thread_and_person_and_only_for_a_day(tmp_path):
    url = f"sqlite:///{tmp_path / 'deploybot.db'}"
    migrate(url)
    deliveries = Deliveries(Database(url))
    assert not deliveries.in_conversation("C0DEPLOYS", THREAD, THERESA)
    deliveries.remember_conversation("C0DEPLOYS", THREAD, THERESA)
    deliveries.remember_conversation("C0DEPLOYS", THREAD, THERESA)  # a second post renews it
    assert deliveries.in_conversation("C0DEPLOYS", THREAD, THERESA)
    assert not deliveries.in_conversation("C0DEPLOYS", THREAD, WALTER)
    assert not deliveries.in_conversation("C0DEPLOYS", "1732639999.000001", THERESA)
    assert not deliveries.in_conversation("C0OTHER01", THREAD, THERESA)
    with deliveries.db.transaction() as session:
        session.execute(update(SlackDelivery).values(received_at=now() - timedelta(days=1, minutes=1)))
    assert not deliveries.in_conversation("C0DEPLOYS", THREAD, THERESA)
    deliveries.remember_conversation("C0DEPLOYS", THREAD, THERESA)
    assert deliveries.in_conversation("C0DEPLOYS", THREAD, THERESA)
    assert deliveries.first_time(["message:C0DEPLOYS:" + THREAD])  # deliveries and conversations do not collide


# -- how the connector uses them (channels/slack.py) ------------------------------------------


def test_one_edit_is_one_delivery_whichever_event_brings_it_and_a_mention_and_its_twin_are_one():
    from channels.slack import delivery_keys

    original = slack.app_mention(THERESA, "deploy cms 1.0.5", ME, ts="1732630000.000100")
    change = slack.message_changed({**original, "type": "message", "channel_type": "channel"}, f"<@{ME}> deploy cms 1.0.6",
                                   edited_at="1732630100.000000")
    resent = slack.edited_app_mention(original, f"<@{ME}> deploy cms 1.0.6", "1732630100.000000")
    keys = [delivery_keys(envelope, request_from(envelope, TRUSTED)) for envelope in (delivered(change), delivered(resent))]
    assert keys[0][1] == keys[1][1] == "edit:C0DEPLOYS:1732630000.000100:1732630100.000000"
    assert keys[0][0] != keys[1][0]  # two events, each with its own event_id
    mention_keys = delivery_keys(delivered(original), request_from(delivered(original), TRUSTED))
    assert mention_keys[1] == "message:C0DEPLOYS:1732630000.000100"


def test_more_than_five_choices_are_a_menu_of_the_same_payloads_and_a_pick_reads_as_a_click():
    from channels.slack import chosen, choice_menu
    from deploybot.rasa_glue import payloads

    apps = [payloads.app_button(f"app{n}") for n in range(120)]
    menu = choice_menu(apps[:6])
    assert [o["value"] for o in menu["options"]] == [b["payload"] for b in apps[:6]]
    assert len(choice_menu(apps)["options"]) == 100
    picked = {"type": "static_select", "action_id": "choice", "block_id": "deploybot-buttons:U0THERESA",
              "selected_option": menu["options"][5], "action_ts": "1732630200.000100"}
    assert chosen(picked) == ('/deploy{"app": "app5"}', "app5")
    assert payloads.button_kind(chosen(picked)[0]) == "deploy"
    button = {"type": "button", "action_id": "button-0", "value": "/deny{}", "text": {"type": "plain_text", "text": "No"}}
    assert chosen(button) == ("/deny{}", "No")
