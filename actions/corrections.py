"""Corrections: "make it 1.0.4", "I meant the shop", "to production instead".

- While a question is pending, a correction changes only what it names, and the whole request
  is restated and asked again with a new request id (actions/questions.ask closes the old
  question as replaced, so its buttons do nothing). A correction never deploys by itself.
- While the form asks for the app or version, the form itself takes the correction: the
  named parts fill its slots and are checked like any answer (data/corrections_rules.yml).
- After the yes it is too late: the confirmed request is left alone, and the correction of it
  becomes a new request, asked like any other. Except while the yes waits for the requester's
  two-factor code (actions/code_holds.py): nothing has reached Jenkins then, so the held
  deploy is dropped and the corrected request asked instead; otherwise the code, typed next,
  would deploy what the person just said was wrong.
A correction to a batch names the apps it changes, each with its version (deploybot.domain.batches);
naming several apps is refused for a request of one app, which a correction never turns into a batch.
A correction that cannot be applied (an app or environment this bot does not serve, a lock,
no permission) cancels the pending request: the person said it was wrong.
"""
import asyncio
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import (
    catalog, database, permissions, profile, profiles, requester,
)
from actions.deploy import check_requester_of, clear_request, refuse
from actions.guard import DeployBotAction
from actions.questions import ask, asked_in, close_pending, pending_question, question_text, restated
from actions.held import drop_held, held_request
from actions import batches as batches_in_dialogue, why
from actions.batches import confirm as ask_batch
from deploybot.domain import batches, messages
from deploybot.domain.corrections import corrected, named_parts
from deploybot.domain.deploy_request import DeployRequest, RequestRejected, build_request, check_not_injection
from deploybot.domain.recent_requests import last_confirmed


def checked_request(tracker: Tracker, parts: Dict[str, Any]) -> DeployRequest:
    """The corrected request, after the same checks a new request passes before its question."""
    check_requester_of(tracker)
    request = build_request(parts.get("app"), parts.get("version"), parts.get("environment"), profile(), profiles(), catalog())
    why.check_all(request, requester(tracker))  # every rule that blocks, said before the yes, as for any request
    return request


def batch_corrected(dispatcher: CollectingDispatcher, items: list, environment: str, changes: dict,
                    then: str = "") -> Optional[tuple]:
    """(items, environment) of a batch after the correction; None after saying why it is unclear."""
    try:
        return batches.corrected(items, environment, changes, catalog())
    except RequestRejected as unclear:
        dispatcher.utter_message(text=f"{unclear}{then}")
        return None


class ActionCorrectRequest(DeployBotAction):
    def name(self) -> Text:
        return "action_correct_request"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        pending, held = pending_question(tracker), held_request(tracker)
        try:
            text = tracker.latest_message.get("text") or ""
            entities = tracker.latest_message.get("entities") or []
            check_not_injection(text)
            if batches.several_apps(entities) and await self.about_a_batch(tracker, pending, held):
                changes = batches.named_versions(text, entities)  # "no, cms 1.0.3 and shop 2.0.2"
            else:
                changes = named_parts(text, entities)
        except RequestRejected as rejection:
            dispatcher.utter_message(text=str(rejection))
            if pending:
                dispatcher.utter_message(text=messages.still_open(question_text(pending)))
            return []
        if pending and pending.get("kind") == "batch":
            return await self.correct_batch(dispatcher, tracker, pending, changes)
        if pending:
            return await self.correct_pending(dispatcher, tracker, pending, changes)
        if held and held.get("batch"):
            return await self.correct_held_batch(dispatcher, tracker, held["batch"], changes)
        if held:
            return await self.correct_held(dispatcher, tracker, held, changes)
        return await self.correct_confirmed(dispatcher, tracker, changes)

    @staticmethod
    async def about_a_batch(tracker: Tracker, pending: Optional[dict], held: Optional[dict]) -> bool:
        """Whether the correction is of a batch: the pending question, the deploy held for its
        code, or else the last confirmed request. Only a batch's correction may name several apps."""
        if pending:
            return pending.get("kind") == "batch"
        if held:
            return bool(held.get("batch"))
        last = await asyncio.to_thread(last_confirmed, database(), profile().id, tracker.sender_id, requester(tracker))
        return last is not None and await asyncio.to_thread(batches_in_dialogue.confirmed_batch, last.batch_id) is not None

    async def correct_held(self, dispatcher, tracker, held: dict, changes: dict) -> List[Dict[Text, Any]]:
        """The yes was given but the deploy waits for a code: it is dropped, never deployed, and
        the corrected request needs its own yes (and code)."""
        was = messages.restate(DeployRequest(held.get("app"), held.get("version"), held.get("environment")), catalog())
        dispatcher.utter_message(text=messages.held_deploy_dropped(was))
        await asyncio.to_thread(permissions().audit, requester(tracker), "deploy", "withdrawn", app=held.get("app"),
                                environment=held.get("environment"), detail="corrected while waiting for a two-factor code")
        dropped = drop_held(tracker)
        parts = corrected(held, changes)
        try:
            request = await asyncio.to_thread(checked_request, tracker, parts)
        except RequestRejected as rejection:
            await asyncio.to_thread(refuse, dispatcher, tracker, rejection, app=parts.get("app"),
                                    environment=parts.get("environment"))
            return dropped + clear_request()
        return dropped + self.slots_of(request) + ask(dispatcher, tracker, request)

    async def correct_batch(self, dispatcher, tracker, pending: dict, changes: dict) -> List[Dict[Text, Any]]:
        """A correction to a batch's question: it names the app it changes; asked again as a whole."""
        where = pending.get("asked_in")
        if isinstance(where, dict) and where != asked_in(tracker):
            dispatcher.utter_message(text=messages.correction_elsewhere(restated(pending), messages.place_of_question(where)))
            return []
        corrected_batch = batch_corrected(dispatcher, pending["items"], pending["environment"], changes)
        if corrected_batch is None:
            dispatcher.utter_message(text=messages.still_open(question_text(pending)))
            return []
        items, environment = corrected_batch
        if items == pending["items"] and environment == pending["environment"]:
            dispatcher.utter_message(text=messages.already_the_request(question_text(pending)))
            return []
        return await ask_batch(dispatcher, tracker, {"items": items, "environment": environment})

    async def correct_held_batch(self, dispatcher, tracker, batch: dict, changes: dict) -> List[Dict[Text, Any]]:
        """A batch confirmed but waiting for its code: dropped, and the corrected batch asked anew."""
        corrected_batch = batch_corrected(dispatcher, batch["ready"], batch["environment"], changes,
                                          " Your confirmed request still waits for your two-factor code.")
        if corrected_batch is None:
            return []
        items, environment = corrected_batch
        dispatcher.utter_message(text=messages.held_deploy_dropped(batch["restatement"]))
        await asyncio.to_thread(permissions().audit, requester(tracker), "deploy", "withdrawn", environment=batch["environment"],
                                detail=f"batch corrected while waiting for a two-factor code: {batch['restatement']}"[:500])
        return drop_held(tracker) + await ask_batch(dispatcher, tracker, {"items": items, "environment": environment})

    async def correct_pending(self, dispatcher, tracker, pending: dict, changes: dict) -> List[Dict[Text, Any]]:
        where = pending.get("asked_in")
        if isinstance(where, dict) and where != asked_in(tracker):
            # Like a yes, a correction counts only where the question was asked.
            dispatcher.utter_message(text=messages.correction_elsewhere(restated(pending), messages.place_of_question(where)))
            return []
        parts = corrected(pending, changes)
        if parts == {field: pending.get(field) for field in parts}:
            dispatcher.utter_message(text=messages.already_the_request(question_text(pending)))
            return []
        try:
            request = await asyncio.to_thread(checked_request, tracker, parts)
        except RequestRejected as rejection:
            await asyncio.to_thread(refuse, dispatcher, tracker, rejection, app=parts.get("app"),
                                    environment=parts.get("environment"))
            dispatcher.utter_message(text=messages.correction_cancels(restated(pending)))
            return close_pending(tracker, "cancelled") + clear_request()
        # A corrected rollback or promotion is a plain deployment of what the request now says.
        return self.slots_of(request) + ask(dispatcher, tracker, request)

    async def correct_confirmed(self, dispatcher, tracker, changes: dict) -> List[Dict[Text, Any]]:
        last = await asyncio.to_thread(last_confirmed, database(), profile().id, tracker.sender_id, requester(tracker))
        if last is None:
            dispatcher.utter_message(text=messages.NOTHING_TO_CORRECT)
            return clear_request()
        batch = await asyncio.to_thread(batches_in_dialogue.confirmed_batch, last.batch_id)
        if batch is not None:  # a confirmed batch: the correction applies to the batch, never to one app picked from it
            return await self.correct_confirmed_batch(dispatcher, tracker, batch, changes)
        confirmed = DeployRequest(last.app, last.version, last.environment)
        dispatcher.utter_message(text=messages.too_late_to_correct(messages.restate(confirmed, catalog()), last.id, last.state))
        parts = corrected({"app": last.app, "version": last.version, "environment": last.environment}, changes)
        try:
            request = await asyncio.to_thread(checked_request, tracker, parts)
        except RequestRejected as rejection:
            await asyncio.to_thread(refuse, dispatcher, tracker, rejection, app=parts.get("app"),
                                    environment=parts.get("environment"))
            return clear_request()
        return self.slots_of(request) + ask(dispatcher, tracker, request)

    async def correct_confirmed_batch(self, dispatcher, tracker, batch: dict, changes: dict) -> List[Dict[Text, Any]]:
        corrected_batch = batch_corrected(dispatcher, batch["items"], batch["environment"], changes,
                                          " Your last request was confirmed already; nothing was changed.")
        if corrected_batch is None:
            return []
        items, environment = corrected_batch
        confirmed = batches.restated(batch["items"], batch["environment"], catalog())
        dispatcher.utter_message(text=messages.too_late_to_correct_batch(confirmed))
        return await ask_batch(dispatcher, tracker, {"items": items, "environment": environment})

    @staticmethod
    def slots_of(request: DeployRequest) -> List[Dict[Text, Any]]:
        return [SlotSet("app", request.app), SlotSet("version", request.version), SlotSet("environment", request.environment),
                SlotSet("promoted_from", None)]
