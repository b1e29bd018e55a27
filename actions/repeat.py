""""Same again": the requester's last confirmed request in this conversation with this bot,
checked like a new request and asked again; only a yes deploys it."""
import asyncio
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import batches
from actions.context import database, profile, requester
from actions.corrections import checked_request
from actions.deploy import clear_request, refuse
from actions.guard import DeployBotAction
from actions.questions import ask, pending_question, question_text
from deploybot.domain import messages
from deploybot.domain.deploy_request import RequestRejected
from deploybot.domain.recent_requests import last_confirmed


class ActionRepeatRequest(DeployBotAction):
    def name(self) -> Text:
        return "action_repeat_request"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        pending = pending_question(tracker)
        if pending:
            dispatcher.utter_message(text=messages.still_open(question_text(pending)))
            return []
        last = await asyncio.to_thread(last_confirmed, database(), profile().id, tracker.sender_id, requester(tracker))
        if last is None:
            dispatcher.utter_message(text=messages.NOTHING_TO_REPEAT)
            return []
        batch = await asyncio.to_thread(batches.confirmed_batch, last.batch_id)
        if batch is not None:  # the whole batch again, never one app of it
            return await batches.confirm(dispatcher, tracker, batch)
        parts = {"app": last.app, "version": last.version, "environment": last.environment}
        try:
            request = await asyncio.to_thread(checked_request, tracker, parts)
        except RequestRejected as rejection:
            await asyncio.to_thread(refuse, dispatcher, tracker, rejection, app=last.app, environment=last.environment)
            return clear_request()
        return [SlotSet("app", request.app), SlotSet("version", request.version),
                SlotSet("environment", request.environment)] + ask(dispatcher, tracker, request)
