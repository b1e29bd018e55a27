"""What a stats question may ask (actions/ledger.py stats_question), on rasa-sdk's own
Tracker: only this bot's environments, only catalog apps (a hostile name is not echoed),
a period that can be."""
from datetime import date

import pytest
from rasa_sdk import Tracker

from actions import context
from actions.ledger import stats_question
from deploybot.domain.deploy_request import RequestRejected


@pytest.fixture
def bot(monkeypatch):
    def as_bot(assistant):
        monkeypatch.setenv("DEPLOYBOT_ASSISTANT", assistant)
        for cached in (context.profile, context.profiles, context.catalog, context.slack_directory):
            cached.cache_clear()
    yield as_bot
    for cached in (context.profile, context.profiles, context.catalog, context.slack_directory):
        cached.cache_clear()


def asked(text, **entities) -> Tracker:
    message = {"text": text, "intent": {"name": "ask_delivery_stats"},
               "entities": [{"entity": name, "value": value} for name, value in entities.items()]}
    return Tracker("U0ASKER", {}, message, [], False, None, {}, "rest")


def test_each_bot_asks_about_its_own_environment_by_default(bot):
    bot("bender")
    question = stats_question(asked("how many deploys this week?"), today=date(2026, 11, 26))
    assert (question.environment, question.app, question.asked.label) == ("production", None, "this week")
    assert question.asked.period.since == date(2026, 11, 23)
    bot("marvin")
    assert stats_question(asked("stats for cms", app="cms"), today=date(2026, 11, 26)).environment == "staging"


@pytest.mark.parametrize("assistant, environment, says", [
    ("marvin", "production", "I only deploy to staging. Ask Bender for production."),
    ("bender", "staging", "I only deploy to production. Ask Marvin for staging."),
])
def test_another_bots_environment_is_refused(bot, assistant, environment, says):
    bot(assistant)
    with pytest.raises(RequestRejected, match=says):
        stats_question(asked("stats", environment=environment))


@pytest.mark.parametrize("app", ["<!channel>", "cms' OR '1'='1", "<script>alert(1)</script>", "x" * 300])
def test_a_hostile_app_name_is_refused_and_not_echoed(bot, app):
    bot("bender")
    with pytest.raises(RequestRejected) as refusal:
        stats_question(asked("stats", app=app))
    assert str(refusal.value).startswith("I don't know that app. I know: ")
    assert app not in str(refusal.value)


def test_a_plain_unknown_name_is_said_and_an_impossible_period_refused(bot):
    bot("bender")
    with pytest.raises(RequestRejected, match="I don't know an app called “ledger-sync”"):
        stats_question(asked("stats for ledger-sync", app="ledger-sync"))
    with pytest.raises(RequestRejected, match="in the future"):
        stats_question(asked("deploys since 2027-02-01"), today=date(2026, 11, 26))
