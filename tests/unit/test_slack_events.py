"""Which Slack events count, and as whom (deploybot.slack.events), on payloads shaped as
Slack sends them; and that each is handled once (deploybot.slack.deliveries)."""
from datetime import timedelta

from sqlalchemy import func, select, update

from deploybot.deployments import now
from deploybot.slack.deliveries import Deliveries
from deploybot.slack.events import request_from, strip_mention
from deploybot.storage.database import Database, migrate
from deploybot.storage.models import SlackDelivery

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


def test_edits_joins_and_empty_messages_are_ignored():
    assert request_from(envelope(type="message", subtype="message_changed", channel_type="im", user="U0THERESA1", text="x"), TRUSTED) is None
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
