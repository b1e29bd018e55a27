"""Grant, revoke and list deploy permissions (deploybot.permissions does the work)."""
import asyncio
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import first_entity, permissions, requester


class PermissionChange(Action):
    """Grant or revoke: who asks, for whom, which app; deploybot.permissions decides."""

    change = ""  # "grant" or "revoke": the Permissions method to call

    def name(self) -> Text:
        return f"action_{self.change}_permission"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        apply = getattr(permissions(), self.change)
        text = await asyncio.to_thread(apply, requester(tracker), first_entity(tracker, "user"), first_entity(tracker, "app"))
        dispatcher.utter_message(text=text)
        return []


class ActionGrantPermission(PermissionChange):
    change = "grant"


class ActionRevokePermission(PermissionChange):
    change = "revoke"


class ActionListPermissions(Action):
    """"who can deploy cms?", "what can I deploy?", "list permissions for theresa"."""

    def name(self) -> Text:
        return "action_list_permissions"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=await asyncio.to_thread(self.answer, tracker))
        return []

    @staticmethod
    def answer(tracker: Tracker) -> str:
        rules, asker = permissions(), requester(tracker)
        user, app = first_entity(tracker, "user"), first_entity(tracker, "app")
        if app and not user:
            return rules.describe_for_app(app)
        answer = rules.describe_for_user(user or asker, asker)
        if not user and not app and rules.is_admin(asker) and rules.profile.who_may_deploy == "granted":
            answer += "\n" + rules.describe_all()
        return answer
