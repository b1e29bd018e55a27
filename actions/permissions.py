"""Grant, revoke and list deploy permissions (deploybot.policy.permissions does the work)."""
import asyncio
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import entity_values, first_entity, from_slack, permissions, requester, slack_directory
from actions.guard import DeployBotAction
from actions.token_channels import refused_over_token_channel


class UnknownUser(Exception):
    """The message names someone the chat workspace does not know."""


def named_user(tracker: Tracker) -> Optional[str]:
    """The one user the message names: on Slack, the Slack user id of an @mention or of a
    handle exactly one member has (never a display name); elsewhere the id as written."""
    written = first_entity(tracker, "user")
    directory = slack_directory() if from_slack(tracker) else None
    if written is None or directory is None:
        return written
    found = directory.resolve(written)
    if found.user_id is None:
        raise UnknownUser(f"{found.problem} Nothing was changed.")
    return found.user_id


def shown_as(tracker: Tracker, user: Optional[str]) -> Optional[str]:
    """How a reply names the user: on Slack their display name and id, elsewhere the id."""
    directory = slack_directory() if from_slack(tracker) else None
    return directory.shown_as(user) if directory and user else user


class PermissionChange(DeployBotAction):
    """Grant or revoke: who asks, for whom, which app; deploybot.policy.permissions decides."""

    change = ""  # "grant" or "revoke": the Permissions method to call

    def name(self) -> Text:
        return f"action_{self.change}_permission"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        rules, actor, app = permissions(), requester(tracker), first_entity(tracker, "app")
        if await asyncio.to_thread(refused_over_token_channel, "grant", dispatcher, tracker):
            return []
        try:
            user = await asyncio.to_thread(named_user, tracker)
        except UnknownUser as unknown:
            await asyncio.to_thread(rules.audit, actor, self.change, "refused", app=app, detail=str(unknown))
            dispatcher.utter_message(text=str(unknown))
            return []
        label = await asyncio.to_thread(shown_as, tracker, user)
        # "auth kim cms and shop": each app is its own change, checked and audited on its own.
        texts = [await asyncio.to_thread(getattr(rules, self.change), actor, user, each, label)
                 for each in entity_values(tracker, "app") or [app]]
        dispatcher.utter_message(text="\n".join(texts))
        return []


class ActionGrantPermission(PermissionChange):
    change = "grant"


class ActionRevokePermission(PermissionChange):
    change = "revoke"


class ActionListPermissions(DeployBotAction):
    """"who can deploy cms?", "what can I deploy?", "list permissions for theresa"."""

    def name(self) -> Text:
        return "action_list_permissions"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        try:
            text = await asyncio.to_thread(self.answer, tracker)
        except UnknownUser as unknown:
            text = str(unknown).replace(" Nothing was changed.", "")
        dispatcher.utter_message(text=text)
        return []

    @staticmethod
    def answer(tracker: Tracker) -> str:
        rules, asker = permissions(), requester(tracker)
        user, app = named_user(tracker), first_entity(tracker, "app")
        if app and not user:
            return rules.describe_for_app(app)
        answer = rules.describe_for_user(user or asker, asker)
        if not user and not app and rules.is_admin(asker) and rules.profile.who_may_deploy == "granted":
            answer += "\n" + rules.describe_all()
        return answer
