"""Lock and unlock an environment, or one app in it. Whoever may deploy through the bot
may lock; the owner or an admin unlocks. Every attempt is in the audit log. A lock may give
a reason and an expiry in the person's words (deploybot.domain.lock_details); an expired lock is
lifted and said where it was set (deploybot.domain.lock_expiry, action_report_lock_expiry)."""
import asyncio
import json
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import (
    database, first_entity, locks, permissions, profile, requester, time_zone, where_asked,
)
from actions.deployments import target
from actions.freezes import freeze_in_chat, lift_in_chat, mentions_freeze, no_lock_there
from actions.guard import DeployBotAction
from actions.questions import say_where
from actions.token_channels import counts_as_admin
from deploybot.domain import messages
from deploybot.domain.deploy_request import RequestRejected
from deploybot.domain.deployments import now
from deploybot.domain.freeze_request import wants_period
from deploybot.domain.lock_details import BadExpiry, lock_details
from deploybot.domain.lock_expiry import get_lifted, mark_said

log = logging.getLogger(__name__)
# Lock times are read and said in the bot's time zone (its profile's time_zone, as the stats
# questions and the digest): "until 6pm" is 18:00 there, and every reply names the zone.


def details_of(tracker: Tracker):
    """Reason and expiry from the words after the last app or environment the message names."""
    text = tracker.latest_message.get("text") or ""
    ends = [e.get("end") for e in tracker.latest_message.get("entities", [])
            if e.get("entity") in ("app", "environment") and isinstance(e.get("end"), int)]
    return lock_details(text, ends, now().astimezone(time_zone()))


def origin_of(tracker: Tracker) -> dict:
    """Where the lock is set: where its expiry will be said."""
    return {"assistant": profile().id, "conversation_id": tracker.sender_id, **where_asked(tracker)}


class ActionLockEnvironment(DeployBotAction):
    def name(self) -> Text:
        return "action_lock_environment"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        user, reason = requester(tracker), None
        if wants_period(tracker.latest_message.get("text") or ""):
            # "freeze production from Friday 18:00 until Monday 08:00": a period to come is a freeze (issue 24)
            await asyncio.to_thread(freeze_in_chat, dispatcher, tracker)
            return []
        try:
            details = details_of(tracker)
            reason = details.reason
            app, environment = target(tracker, app_required=False)
            # A lock stops everyone: on Bender only admins and people with a grant may set one.
            await asyncio.to_thread(permissions().check_may_lock, user)
            text = await asyncio.to_thread(locks().lock, user, environment, app, reason, details.expires_at, origin_of(tracker))
            outcome = "done" if text.startswith("Locked") else "unchanged"
        except (RequestRejected, BadExpiry) as refusal:
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
            # "lift the freeze on production" with no lock there: a freeze set in chat (issue 24)
            if mentions_freeze(tracker) and await asyncio.to_thread(no_lock_there, app, environment) \
                    and await asyncio.to_thread(lift_in_chat, dispatcher, tracker, app, environment):
                return []
            text = await asyncio.to_thread(locks().unlock, user, environment, app, counts_as_admin(tracker, user))
            outcome = "done" if text.startswith("Unlocked") else "unchanged"
        except RequestRejected as refusal:
            text, outcome = str(refusal), "refused"
            app, environment = first_entity(tracker, "app"), first_entity(tracker, "environment")
        await asyncio.to_thread(permissions().audit, user, "unlock", outcome, app=app, environment=environment)
        dispatcher.utter_message(text=text)
        return []


class ActionReportLockExpiry(DeployBotAction):
    """Says that a lock set in this conversation expired and was lifted (EXTERNAL_lock_expired), once."""

    def name(self) -> Text:
        return "action_report_lock_expiry"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        lifted_id = str(first_entity(tracker, "lock") or "")
        if not lifted_id.isdigit():
            return []
        lifted = await asyncio.to_thread(get_lifted, database(), int(lifted_id))
        if lifted is None or lifted.assistant != profile().id or lifted.conversation_id != tracker.sender_id:
            log.warning("ignored lifted lock %s in conversation %s: not this bot's or not set here", lifted_id, tracker.sender_id)
            return []
        if not await asyncio.to_thread(mark_said, database(), lifted.id):
            return []  # said already (a resend)
        text = messages.lock_lifted(lifted, time_zone())
        say_where(dispatcher, text, lifted.output_channel, json.loads(lifted.reply_to) if lifted.reply_to else None)
        return []
