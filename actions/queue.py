"""The deploy queue in chat (issue 24, item 2; deploybot/domain/deploy_queue.py).

- A refusal because the app and environment are busy or locked (or someone is ahead in the
  queue) offers to queue: `offer` remembers that request for this conversation (queue_offer)
  and shows a "Queue me" button; the button and a typed "queue me" queue exactly that request,
  for the sender and nobody else.
- "who is waiting for staging?" lists the queues, "leave the queue" leaves them.
- A turn (EXTERNAL_queue_turn, sent by QueueTurns) is asked with the ordinary question (ask):
  a yes goes through action_deploy and the whole pipeline again; nothing deploys by itself.
  A turn that passed unanswered is told here too; a "no" to the turn passes it on (declined).
"""
import asyncio
import json
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import (
    catalog, database, deployment_store, first_entity, locks, message_metadata, permissions, profile, profiles, requester, time_zone,
    where_asked,
)
from actions.guard import DeployBotAction
from actions.request_slots import check_requester_of
from actions.questions import asked_in, ask, close_pending, pending_question, say_where
from deploybot.domain.deploy_queue import QueueStore, ordinal
from deploybot.domain.deploy_request import DeployRequest, RequestRejected, build_request
from deploybot.domain.deployments import utc
from deploybot.pipeline.gate import when
from deploybot.rasa_glue import payloads

log = logging.getLogger(__name__)
Events = List[Dict[Text, Any]]
SLOT = "queue_offer"  # {app, version, environment, offer}: the last busy or locked refusal here
# What a person is told when their place or turn passed without their yes (once; QueueTurns sends it).
PASSED = {
    "expired": "Your turn for {app} on {environment} passed: there was no answer in time, so it went to the next "
               "person and you left the queue. Nothing was deployed.",
    "dropped": "You left the queue for {app} on {environment}: you may no longer deploy {app} there. Nothing was deployed.",
}


def store() -> QueueStore:
    return QueueStore(database())


# -- the refusal's offer --------------------------------------------------------------------

def why_wait(request: DeployRequest, user: str) -> bool:
    """Whether waiting makes sense: the requester may deploy it, and the app and environment
    are busy, locked, or someone is ahead in the queue."""
    try:
        permissions().check_may_deploy(user, request)
    except RequestRejected:
        return False
    return bool(deployment_store().active_for(request.app, request.environment)
                or locks().covering(request.environment, request.app)
                or store().ahead_of(request.app, request.environment, user))


async def offer(dispatcher: CollectingDispatcher, tracker: Tracker, request: Optional[DeployRequest] = None) -> Events:
    """Called where a deploy is refused (actions/deploy.py): when it was refused for being busy,
    locked or queued behind someone, offers to queue that request; otherwise nothing."""
    if request is None:
        try:
            request = build_request(tracker.get_slot("app"), tracker.get_slot("version"),
                                    tracker.get_slot("environment") or profile().default_environment,
                                    profile(), profiles(), catalog())
        except RequestRejected:
            return []
    if message_metadata(tracker).get("build_system"):
        return []  # a build system is not pinged for a turn: it asks again itself
    try:
        check_requester_of(tracker)
    except RequestRejected:
        return []
    if not await asyncio.to_thread(why_wait, request, requester(tracker)):
        return []
    offer_id = payloads.new_request_id()
    dispatcher.utter_message(text=f"You can wait your turn: say “queue me” and I'll ask you when {request.app} "
                                  f"on {request.environment} is free. Nothing deploys without your yes.",
                             buttons=[payloads.queue_button(offer_id)])
    remembered = {"app": request.app, "version": request.version, "environment": request.environment, "offer": offer_id}
    return [SlotSet(SLOT, remembered)]


# -- wording --------------------------------------------------------------------------------

def place_text(app: str, environment: str, place: int, ahead: List[str], new: bool) -> str:
    where = f"for {app} on {environment}"
    if place == 1:
        return (f"You're {'' if new else 'still '}1st in the queue {where}: I'll ask you here as soon as it is free. "
                "Nothing deploys without your yes.")
    return (f"You're {'' if new else 'still '}{ordinal(place)} in the queue {where}, after {', '.join(ahead)}. "
            "I'll ask you here when it is your turn; “leave the queue” takes you out.")


def line_text(app: str, environment: str, line) -> str:
    people = []
    for place, row in enumerate(line, 1):
        turn = (f" (their turn, until {when(utc(row.turn_expires_at), time_zone())})" if row.state == "offered" else "")
        people.append(f"{place}. {row.requested_by}: {app} {row.version}{turn}")
    return f"Waiting for {app} on {environment}: " + "; ".join(people) + "."


# -- the actions ------------------------------------------------------------------------------

def named_environment(tracker: Tracker) -> Optional[str]:
    environment = first_entity(tracker, "environment")
    return environment if environment in profile().environments else None


class ActionQueueMe(DeployBotAction):
    """"queue me" / the Queue me button: queues this conversation's last busy or locked request."""

    def name(self) -> Text:
        return "action_queue_me"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user = requester(tracker)
        remembered = tracker.get_slot(SLOT)
        clicked = first_entity(tracker, "offer")  # only a sealed click on our own button carries it
        named = first_entity(tracker, "environment")
        why_not = None
        if not isinstance(remembered, dict):
            why_not = ("There is nothing to queue: I offer a place in the queue when a deploy is refused because "
                       "the app is busy or locked. Ask for the deploy first, e.g. “deploy cms 1.0.2”.")
        elif clicked is not None and clicked != remembered.get("offer"):
            why_not = "That Queue me button belongs to an older refusal; nothing was queued. Ask for the deploy again."
        elif named and named != remembered.get("environment"):
            why_not = (f"Your last refused request was {remembered['app']} {remembered['version']} to "
                       f"{remembered['environment']}, not {named}; nothing was queued. Ask for the deploy first.")
        if why_not:
            dispatcher.utter_message(text=why_not)
            await asyncio.to_thread(permissions().audit, user, "queue", "refused", environment=named, detail=why_not[:200])
            return []
        app, version, environment = remembered["app"], remembered["version"], remembered["environment"]
        try:  # still a request this requester may make here (the grant may be gone meanwhile)
            check_requester_of(tracker)
            request = build_request(app, version, environment, profile(), profiles(), catalog())
            await asyncio.to_thread(permissions().check_may_deploy, user, request)
        except RequestRejected as rejection:
            dispatcher.utter_message(text=f"{rejection} Nothing was queued.")
            await asyncio.to_thread(permissions().audit, user, "queue", "refused", app=app, environment=environment,
                                    detail=str(rejection)[:200])
            return [SlotSet(SLOT, None)]
        where = {"conversation_id": tracker.sender_id, **where_asked(tracker), "asked_in": asked_in(tracker)}
        entry, place, new = await asyncio.to_thread(store().join, profile().id, user, app, version, environment, where)
        line = await asyncio.to_thread(store().line, app, environment)
        ahead = [row.requested_by for row in line[:place - 1]]
        if new:
            await asyncio.to_thread(permissions().audit, user, "queue", "joined", app=app, environment=environment,
                                    detail=f"{app} {version}, {ordinal(place)} in the queue")
        dispatcher.utter_message(text=place_text(app, environment, place, ahead, new))
        return []


class ActionListQueue(DeployBotAction):
    """"who is waiting for staging?": every queue in this bot's environments (or the one named)."""

    def name(self) -> Text:
        return "action_list_queue"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        environments = [named_environment(tracker)] if named_environment(tracker) else list(profile().environments)
        lines = await asyncio.to_thread(store().lines, environments)
        if not lines:
            dispatcher.utter_message(text=f"Nobody is waiting for {' or '.join(environments)}.")
            return []
        dispatcher.utter_message(text="\n".join(line_text(app, environment, line) for (app, environment), line in lines.items()))
        return []


class ActionLeaveQueue(DeployBotAction):
    def name(self) -> Text:
        return "action_leave_queue"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user = requester(tracker)
        environments = [named_environment(tracker)] if named_environment(tracker) else list(profile().environments)
        left = await asyncio.to_thread(store().leave, user, environments)
        if not left:
            dispatcher.utter_message(text=f"You're not in the queue for {' or '.join(environments)}.")
            await asyncio.to_thread(permissions().audit, user, "queue", "unchanged", detail="leave: not in the queue")
            return []
        for row in left:
            await asyncio.to_thread(permissions().audit, user, "queue", "left", app=row.app, environment=row.environment,
                                    detail=f"{row.app} {row.version}")
        names = ", ".join(f"{row.app} on {row.environment}" for row in left)
        dispatcher.utter_message(text=f"You've left the queue for {names}.")
        return []


class ActionQueueTurn(DeployBotAction):
    """EXTERNAL_queue_turn (from QueueTurns, never typed): the turn is asked, once, where the
    person queued; or a turn that passed unanswered is told, once."""

    def name(self) -> Text:
        return "action_queue_turn"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        entry_id = str(first_entity(tracker, "queue_turn") or "")
        row = await asyncio.to_thread(store().get, int(entry_id)) if entry_id.isdigit() else None
        if row is None or row.assistant != profile().id or row.conversation_id != tracker.sender_id:
            log.warning("ignored queue turn %s in conversation %s: not this bot's or not queued here", entry_id, tracker.sender_id)
            return []
        reply_to = json.loads(row.reply_to) if row.reply_to else None
        if row.state in PASSED:
            if not await asyncio.to_thread(store().claim, row.id, row.state, "told_at"):
                return []
            say_where(dispatcher, PASSED[row.state].format(app=row.app, environment=row.environment), row.output_channel, reply_to)
            return self.close_turn_question(tracker, row)
        if row.state != "offered" or not await asyncio.to_thread(store().claim, row.id, "offered", "asked_at"):
            return []
        try:
            request = build_request(row.app, row.version, row.environment, profile(), profiles(), catalog())
        except RequestRejected as rejection:
            await asyncio.to_thread(store().drop, row.id)
            say_where(dispatcher, f"It's your turn for {row.app} on {row.environment}, but {rejection} "
                                  "You left the queue; nothing was deployed.", row.output_channel, reply_to)
            return []
        until = when(utc(row.turn_expires_at), time_zone())
        say_where(dispatcher, f"{row.app} on {row.environment} is free and it's your turn, until {until}: "
                              "without an answer by then it passes to the next person.", row.output_channel, reply_to)
        # The ordinary question (a request-bound yes): its yes goes through action_deploy and
        # the whole pipeline again. Asked into the queued-from thread, answered from there.
        scratch = CollectingDispatcher()
        question = "You're next: " + f"deploy {row.app} {row.version} to {row.environment}? (yes/no)"
        events = ask(scratch, tracker, request, "deploy", question)
        for message in scratch.messages:
            say_where(dispatcher, message.get("text") or "", row.output_channel, reply_to, message.get("buttons"))
        where = json.loads(row.asked_in) if row.asked_in else None
        return [SlotSet(event["name"], {**event["value"], "asked_in": where}) if event.get("name") == "pending_deploy" and where
                else event for event in events]

    @staticmethod
    def close_turn_question(tracker: Tracker, row) -> Events:
        """The passed turn's question, if still open here, is closed: a late yes finds nothing."""
        pending = pending_question(tracker)
        if pending and (pending.get("app"), pending.get("environment")) == (row.app, row.environment) \
                and str(pending.get("question") or "").startswith("You're next: "):
            return close_pending(tracker, "expired") + [SlotSet("pending_deploy", None)]
        return []


async def declined(tracker: Tracker) -> Optional[str]:
    """A "no" to a pending question (actions/deploy.py): if it was this requester's turn for that
    app and environment, the turn passes on; what to tell them, or None."""
    pending = pending_question(tracker)
    if not pending or not pending.get("app"):
        return None
    user = requester(tracker)
    row = await asyncio.to_thread(store().decline, user, pending["app"], pending["environment"])
    if row is None:
        return None
    await asyncio.to_thread(permissions().audit, user, "queue", "declined", app=row.app, environment=row.environment,
                            detail="said no to the turn: it passed on")
    return f"You've left the queue for {row.app} on {row.environment}; the turn goes to the next person."
