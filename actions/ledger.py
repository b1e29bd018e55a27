"""Questions about the deployment ledger in chat: "how many deploys this week?", "stats for
cms on production this month". The numbers are the dashboard's (deploybot.ledger); this
only checks what was asked against this bot and talks."""
import asyncio
import re
from datetime import datetime
from typing import Any, Dict, List, Text
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import catalog, database, first_entity, profile, profiles
from actions.guard import DeployBotAction
from deploybot.domain.deploy_request import RequestRejected, check_environment
from deploybot.ledger import chat_periods, chat_stats
from deploybot.ledger.address import public_url
from deploybot.ledger.periods import PeriodError

PLAIN_NAME = re.compile(r"[\w.-]{1,40}")


def stats_question(tracker: Tracker, today=None) -> chat_stats.StatsQuestion:
    """What was asked, checked: only this bot's environments (Marvin cannot read production's
    record, nor Bender staging's), only apps of the catalog, a period that can be."""
    environment = first_entity(tracker, "environment") or profile().default_environment
    check_environment(environment, profile(), profiles(), catalog())
    app = first_entity(tracker, "app")
    if app is not None:
        found = catalog().app(app)
        if found is None:
            # Echoed only when it is a plain name: a chat renders markup and mentions.
            named = f"an app called “{app}”" if PLAIN_NAME.fullmatch(app) else "that app"
            raise RequestRejected(f"I don't know {named}. I know: {catalog().describe_apps()}.")
        if environment not in found.environments:
            raise RequestRejected(f"{found.name} is never deployed to {environment}, so it has no numbers there.")
        app = found.id
    tz = ZoneInfo(profile().time_zone)
    try:
        asked = chat_periods.understand(tracker.latest_message.get("text") or "", tz, today or datetime.now(tz).date())
    except PeriodError as error:
        raise RequestRejected(str(error)) from None
    return chat_stats.StatsQuestion(environment, app, asked)


class ActionDeliveryStats(DeployBotAction):
    def name(self) -> Text:
        return "action_delivery_stats"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        try:
            question = stats_question(tracker)
        except RequestRejected as refusal:
            dispatcher.utter_message(text=str(refusal))
            return []
        dispatcher.utter_message(text=await asyncio.to_thread(self.answer, question))
        return []

    @staticmethod
    def answer(question: chat_stats.StatsQuestion) -> str:
        period = question.asked.period
        with database().transaction() as session:
            metrics = chat_stats.metrics_for(session, period, question.environment, question.app)
        link = chat_stats.metrics_link(public_url(), period, question.environment, question.app)
        app_name = catalog().app(question.app).name if question.app else None
        return chat_stats.answer(question, metrics, app_name, link)
