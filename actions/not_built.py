"""Commands the bots understand but cannot carry out yet: deployment records and Jenkins
come with the deployments work. Each says so plainly and changes nothing."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import entity_values
from deploybot import messages


class NotBuiltYet(Action):
    action_name = ""
    what = ""

    def name(self) -> Text:
        return self.action_name

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        details = [
            f"{entity} {', '.join(entity_values(tracker, entity))}"
            for entity in ("app", "environment", "version", "user")
            if entity_values(tracker, entity)
        ]
        what = self.what + (f" ({'; '.join(details)})" if details else "")
        dispatcher.utter_message(text=messages.not_built_yet(what))
        return []


class ActionDeploymentStatus(NotBuiltYet):
    action_name, what = "action_deployment_status", "show deployment status"


class ActionDeploymentHistory(NotBuiltYet):
    action_name, what = "action_deployment_history", "show deployment history"


class ActionCancelDeployment(NotBuiltYet):
    action_name, what = "action_cancel_deployment", "cancel a running deployment"


class ActionRollback(NotBuiltYet):
    action_name, what = "action_rollback", "roll back a deployment"


class ActionLockEnvironment(NotBuiltYet):
    action_name, what = "action_lock_environment", "lock deployments"


class ActionUnlockEnvironment(NotBuiltYet):
    action_name, what = "action_unlock_environment", "unlock deployments"
