"""Small talk, help, the app list and the fallbacks. Character shows only in small talk."""
import asyncio
import random
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import catalog, profile
from actions.deploy import refuse
from actions.guard import DeployBotAction
from deploybot.domain import messages
from deploybot.domain.deploy_request import RequestRejected, check_not_injection


class PersonalityAction(DeployBotAction):
    """Says one of the bot's own lines for this kind of small talk (assistants/<bot>.yml)."""

    line_key = ""

    def name(self) -> Text:
        return f"action_{self.line_key}"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        lines = profile().lines(self.line_key)
        dispatcher.utter_message(text=random.choice(lines) if lines else "…")
        return []


class ActionGreet(PersonalityAction):
    line_key = "greet"


class ActionGoodbye(PersonalityAction):
    line_key = "goodbye"


class ActionThank(PersonalityAction):
    line_key = "thank"


class ActionHelp(DeployBotAction):
    def name(self) -> Text:
        return "action_help"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        intro = profile().lines("help_intro")
        dispatcher.utter_message(text="\n".join(list(intro[:1]) + [messages.capabilities(profile())]))
        return []


class ActionListApps(DeployBotAction):
    def name(self) -> Text:
        return "action_list_apps"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=messages.app_list(catalog(), profile()))
        return []


async def refused_as_injection(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Shell or path syntax is refused plainly and audited, whatever the NLU made of it."""
    try:
        check_not_injection(tracker.latest_message.get("text"))
    except RequestRejected as rejection:
        await asyncio.to_thread(refuse, dispatcher, tracker, rejection)
        return True
    return False


class ActionOutOfScope(DeployBotAction):
    def name(self) -> Text:
        return "action_out_of_scope"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        if await refused_as_injection(dispatcher, tracker):
            return []
        lines = profile().lines("out_of_scope")
        dispatcher.utter_message(text="\n".join(list(lines[:1]) + ["This is what I can do:", messages.capabilities(profile())]))
        return []


class ActionFallback(DeployBotAction):
    """Low NLU confidence: say so, and what the bot understands."""

    def name(self) -> Text:
        return "action_fallback"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        if await refused_as_injection(dispatcher, tracker):
            return []
        dispatcher.utter_message(text="Sorry, I didn't understand that. This is what I can do:\n" + messages.capabilities(profile()))
        return []
