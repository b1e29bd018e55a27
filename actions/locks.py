"""Lock and unlock an environment, or one app in it. Whoever may deploy through the bot
may lock; the owner or an admin unlocks. Every attempt is in the audit log."""
import asyncio
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import first_entity, locks, permissions, requester
from actions.deployments import target
from actions.guard import DeployBotAction
from deploybot.deploy_request import RequestRejected
from deploybot.locks import reason_from_text


class ActionLockEnvironment(DeployBotAction):
    def name(self) -> Text:
        return "action_lock_environment"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        user, reason = requester(tracker), reason_from_text(tracker.latest_message.get("text") or "")
        try:
            app, environment = target(tracker, app_required=False)
            # A lock stops everyone: on Bender only admins and people with a grant may set one.
            await asyncio.to_thread(permissions().check_may_lock, user)
            text = await asyncio.to_thread(locks().lock, user, environment, app, reason)
            outcome = "done" if text.startswith("Locked") else "unchanged"
        except RequestRejected as refusal:
            text, outcome = str(refusal), "refused"
            app, environment = first_entity(tracker, "app"), first_entity(tracker, "environment")
        await asyncio.to_thread(permissions().audit, user, "lock", outcome, app=app, environment=environment, detail=reason)
        dispatcher.utter_message(text=text)
        return []


class ActionUnlockEnvironment(DeployBotAction):
    def name(self) -> Text:
        return "action_unlock_environment"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        user = requester(tracker)
        try:
            app, environment = target(tracker, app_required=False)
            text = await asyncio.to_thread(locks().unlock, user, environment, app, permissions().is_admin(user))
            outcome = "done" if text.startswith("Unlocked") else "unchanged"
        except RequestRejected as refusal:
            text, outcome = str(refusal), "refused"
            app, environment = first_entity(tracker, "app"), first_entity(tracker, "environment")
        await asyncio.to_thread(permissions().audit, user, "unlock", outcome, app=app, environment=environment)
        dispatcher.utter_message(text=text)
        return []
