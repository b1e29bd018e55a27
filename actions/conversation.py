"""Small talk, help, the app list and the fallbacks. Character shows only in small talk."""
import random
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import catalog, profile
from deploybot import messages


class PersonalityAction(Action):
    """Says one of the bot's own lines for this kind of small talk (assistants/<bot>.yml)."""

    line_key = ""

    def name(self) -> Text:
        return f"action_{self.line_key}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        lines = profile().lines(self.line_key)
        dispatcher.utter_message(text=random.choice(lines) if lines else "…")
        return []


class ActionGreet(PersonalityAction):
    line_key = "greet"


class ActionGoodbye(PersonalityAction):
    line_key = "goodbye"


class ActionThank(PersonalityAction):
    line_key = "thank"


class ActionHelp(Action):
    def name(self) -> Text:
        return "action_help"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        intro = profile().lines("help_intro")
        dispatcher.utter_message(text="\n".join(list(intro[:1]) + [messages.capabilities(profile())]))
        return []


class ActionListApps(Action):
    def name(self) -> Text:
        return "action_list_apps"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=messages.app_list(catalog(), profile()))
        return []


class ActionOutOfScope(Action):
    def name(self) -> Text:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        lines = profile().lines("out_of_scope")
        dispatcher.utter_message(text="\n".join(list(lines[:1]) + ["This is what I can do:", messages.capabilities(profile())]))
        return []


class ActionFallback(Action):
    """Low NLU confidence: say so, and what the bot understands."""

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text="Sorry, I didn't understand that. This is what I can do:\n" + messages.capabilities(profile()))
        return []
