"""Break glass (issue 14): "emergency deploy cms 1.0.3, reason: outage INC-123". An admin skips
the approvals, never the second factor; the management channel and the audit log hear of it
at once (actions/safeguards.py announce_break_glass, after the code: actions/codes.py)."""
import asyncio
import re
import time
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import catalog, entity_values, first_entity, permissions, profile, profiles, requester
from actions.guard import DeployBotAction
from actions.safeguards import hold_before_jenkins
from actions.token_channels import refused_over_token_channel
from deploybot.domain.deploy_request import RequestRejected, build_request
from deploybot.policy.identity import check_requester

Events = List[Dict[Text, Any]]

BREAK_GLASS_REASON = re.compile(r"reason\s*:\s*(?P<reason>.+)$", re.IGNORECASE | re.DOTALL)


class ActionEmergencyDeploy(DeployBotAction):
    """"emergency deploy cms 1.0.3, reason: outage INC-123": an admin skips the approvals,
    never the second factor; the management channel and the audit log hear of it at once."""

    def name(self) -> Text:
        return "action_emergency_deploy"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user = requester(tracker)
        found = BREAK_GLASS_REASON.search(tracker.latest_message.get("text") or "")
        reason = found.group("reason").strip()[:300] if found else ""
        if await asyncio.to_thread(refused_over_token_channel, "break_glass", dispatcher, tracker):
            return []
        if not permissions().is_admin(user):
            dispatcher.utter_message(text="Only an admin can deploy in an emergency without approvals. Nothing was deployed.")
            await asyncio.to_thread(permissions().audit, user, "break_glass", "refused", detail="not an admin")
            return []
        if len(reason) < 3:
            dispatcher.utter_message(text="An emergency deploy needs a written reason, for example "
                                          "“emergency deploy cms 1.0.3, reason: outage INC-123”. Nothing was deployed.")
            return []
        several = [name for name in ("app", "version", "environment") if len(entity_values(tracker, name)) > 1]
        if several:  # never one of several; an emergency is one app at a time
            dispatcher.utter_message(text=f"An emergency deploy is one app at a time, and you named several {several[0]}s"
                                          f" ({', '.join(entity_values(tracker, several[0]))}). Nothing was deployed.")
            return []
        try:
            check_requester(user, tracker.get_latest_input_channel(), None)
            request = build_request(first_entity(tracker, "app"), first_entity(tracker, "version"),
                                    first_entity(tracker, "environment"), profile(), profiles(), catalog())
        except RequestRejected as rejection:
            dispatcher.utter_message(text=f"{rejection} Nothing was deployed.")
            await asyncio.to_thread(permissions().audit, user, "break_glass", "refused", detail=str(rejection)[:500])
            return []
        events = await hold_before_jenkins(dispatcher, tracker, request, "deploy", time.time(), break_glass=reason)
        return events or []
