"""The deploy dialogue: start a request, fill it in, restate it, act on yes or no.
Rollbacks and promotions end in the same yes or no (pending_deploy says which kind)."""
import asyncio
import time
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import (
    catalog, clearance_rules, deployment_store, entity_values, message_metadata, permissions, pipeline_ports,
    pipeline_request, profile, profiles, requester,
)
from actions import batches, queue, safeguards, schedules, why
from actions.request_slots import REQUEST_SLOTS, START_SLOT, check_requester_of, clear_request
from actions.held import held_request, what_is_held, withdraw_held
from actions.guard import DeployBotAction, DeployBotFormValidation
from actions.questions import (
    ask, close_pending, pending_question, restated, show_decision, why_not_a_clear_yes, why_not_an_answer,
)
from actions.references import source_named, version_by_reference
from deploybot.domain import messages
from deploybot.rasa_glue import payloads
from deploybot.policy import safeguard_messages as say
from deploybot.policy.step_up import two_factor_required
from deploybot.pipeline.progress import Passed, clearance_for
from deploybot.pipeline.request import Item, at
from deploybot.pipeline.start import Started, start_item
from deploybot.domain.deploy_request import (
    DeployRequest,
    RequestRejected,
    build_request,
    check_app,
    check_environment,
    check_not_injection,
    check_version,
    confirmation_is_stale,
)

def pending_request(tracker: Tracker) -> Optional[DeployRequest]:
    """The request waiting for yes or no, if any (checked again: profiles may have changed)."""
    pending = tracker.get_slot("pending_deploy")
    if not isinstance(pending, dict):
        return None
    return build_request(pending.get("app"), pending.get("version"), pending.get("environment"), profile(), profiles(), catalog())


def target_environment(tracker: Tracker) -> Optional[str]:
    """The environment slot, unless it names where a promotion's version comes from ("deploy
    the version that's on staging" to Bender): the form sets it from the message again."""
    environment = tracker.get_slot("environment")
    promotion_source = environment and environment == tracker.get_slot("promoted_from") == source_named(tracker)
    return None if promotion_source else environment


def request_from_slots(tracker: Tracker) -> DeployRequest:
    return build_request(
        tracker.get_slot("app"), tracker.get_slot("version"), target_environment(tracker),
        profile(), profiles(), catalog(),
    )


def several_named(tracker: Tracker) -> bool:
    """The request names several versions for one app, or several environments: it is refused
    as a whole (ActionStartDeploy says so), and nothing in it is asked about or restated.
    Several apps are a batch (actions/batches.py), unless they go to several environments."""
    if tracker.latest_message.get("intent", {}).get("name") != "deploy":
        return False
    apps, versions = entity_values(tracker, "app"), entity_values(tracker, "version")
    return len(entity_values(tracker, "environment")) > 1 or (len(apps) <= 1 and len(versions) > 1)


async def start_deployment(tracker: Tracker, request: DeployRequest, kind: str, asked_at: float,
                           start_at: Optional[float] = None) -> Tuple[str, bool]:
    """Through the pipeline's started stage, when it clears the request (the caller held it
    otherwise); what to tell the requester, and whether it was recorded (False: a lock or
    another deployment stood in the way). With start_at, the started stage stores it instead."""
    asked = pipeline_request(tracker, [Item(request.app, request.version, kind)], request.environment, asked_at,
                             start_at=at(start_at) if start_at else None)
    item = asked.items[0]
    clearance = clearance_for(asked, item, Passed(safeguards.confirmed_how(tracker)), clearance_rules())
    outcome = await asyncio.to_thread(start_item, pipeline_ports(), asked, item, clearance)
    return (outcome.text, True) if isinstance(outcome, Started) else (outcome.why, False)


def refuse(dispatcher: CollectingDispatcher, tracker: Tracker, rejection: Exception, **details) -> None:
    """Says why a request cannot go on, and records the attempt in the audit log."""
    dispatcher.utter_message(text=str(rejection))
    details.setdefault("app", tracker.get_slot("app"))
    details.setdefault("environment", tracker.get_slot("environment"))
    details = {key: (str(value)[:64] if value is not None else None) for key, value in details.items()}
    permissions().audit(requester(tracker), "deploy", "refused", detail=str(rejection)[:500], **details)


class ActionStartDeploy(DeployBotAction):
    """A deploy request starts afresh: only what this message says counts."""

    def name(self) -> Text:
        return "action_start_deploy"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        events = []
        previous = pending_question(tracker)
        if previous:
            dispatcher.utter_message(text=messages.replaced_request(restated(previous)))
            events += close_pending(tracker, "replaced")
        events += clear_request()
        if several_named(tracker):
            # Never pick one of several: the request is refused as a whole.
            slot = "environment" if len(entity_values(tracker, "environment")) > 1 else "version"
            dispatcher.utter_message(text=messages.one_at_a_time(slot, entity_values(tracker, slot)))
            return events
        start = schedules.start_said(tracker)  # "at 18:00", "after the freeze" (issue 24)
        if batches.is_batch(tracker):  # several apps: one question, a deployment each
            if start[0].get("value") is not None:  # never now what was asked for later
                dispatcher.utter_message(text=schedules.ONE_APP_AT_A_TIME)
                return events

            return events + await batches.start(dispatcher, tracker)
        events += start
        for slot in REQUEST_SLOTS:
            values = entity_values(tracker, slot)
            if values:
                events.append(SlotSet(slot, values[0]))
        # "redeploy cms", "the version that's on staging" (actions/references.py)
        return events + await asyncio.to_thread(version_by_reference, dispatcher, tracker)


class ValidateDeployForm(DeployBotFormValidation):
    def name(self) -> Text:
        return "validate_deploy_form"

    def _environment(self, tracker: Tracker) -> str:
        return target_environment(tracker) or profile().default_environment

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Text]:
        # A request for an environment this bot does not serve, or one naming several apps,
        # needs nothing more: action_confirm_deploy ends it right away.
        if several_named(tracker):
            return []
        if batches.in_hand(tracker):
            return batches.required_slots(tracker)
        try:
            check_environment(self._environment(tracker), profile(), profiles(), catalog())
        except RequestRejected:
            return []
        return domain_slots

    async def validate_app(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if several_named(tracker):
            return {"app": None}
        if batches.in_hand(tracker):
            return batches.validate_app(dispatcher, tracker, value)
        try:
            check_app(str(value), self._environment(tracker), catalog())
        except RequestRejected as rejection:
            await asyncio.to_thread(refuse, dispatcher, tracker, rejection, app=value)
            return {"app": None}
        source = profile().promote_from
        if source and not tracker.get_slot("version"):
            # Bender asked for an app without a version: offer what the source environment runs.
            version = await asyncio.to_thread(deployment_store().current_version, str(value), source)
            if version:
                return {"app": value, "version": version, "promoted_from": source}
        return {"app": value}

    async def validate_version(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if several_named(tracker):
            return {"version": None}
        if batches.in_hand(tracker):
            return batches.validate_version(dispatcher, tracker, value)
        try:
            check_not_injection(tracker.latest_message.get("text"))
            return {"version": check_version(str(value))}
        except RequestRejected as rejection:
            await asyncio.to_thread(refuse, dispatcher, tracker, rejection)
            return {"version": None}


class ActionAskApp(DeployBotAction):
    def name(self) -> Text:
        return "action_ask_app"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        buttons = [payloads.app_button(app_id) for app_id in catalog().apps]
        dispatcher.utter_message(text=messages.ask_app(catalog()), buttons=buttons)
        return []


class ActionAskVersion(DeployBotAction):
    def name(self) -> Text:
        return "action_ask_version"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        if batches.draft(tracker):
            dispatcher.utter_message(text=batches.ask_version(tracker))
            return []
        app = catalog().app(tracker.get_slot("app") or "")
        dispatcher.utter_message(text=messages.ask_version(app.name if app else "the app"))
        return []


class ActionConfirmDeploy(DeployBotAction):
    """Checks the complete request once more and restates it, or says why not."""

    def name(self) -> Text:
        return "action_confirm_deploy"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        if several_named(tracker):
            return clear_request()  # refused as a whole by action_start_deploy; nothing to restate
        if batches.in_hand(tracker):
            return await batches.confirm(dispatcher, tracker, batches.draft(tracker))
        try:
            check_requester_of(tracker)
            request = request_from_slots(tracker)
            if tracker.get_slot(START_SLOT):  # a scheduled deploy (issue 24): the grant now; locks, busy and the gate at its time
                await asyncio.to_thread(permissions().check_may_deploy, requester(tracker), request)
                return await schedules.confirm(dispatcher, tracker, request)
            # Grant, lock, busy and the gate stage, said before the yes: one refusal naming every rule that blocks.
            await asyncio.to_thread(why.check_all, request, requester(tracker))
        except RequestRejected as rejection:
            await asyncio.to_thread(refuse, dispatcher, tracker, rejection,
                                    environment=tracker.get_slot("environment") or profile().default_environment)
            return clear_request() + await queue.offer(dispatcher, tracker)  # busy or locked: "Queue me" (issue 24)
        events = [SlotSet("environment", request.environment), SlotSet("version", request.version)]
        if message_metadata(tracker).get("build_system"):
            if two_factor_required(profile(), catalog(), request.app, request.environment):
                # A build system has no phone: refused before any question (issue 22).
                await asyncio.to_thread(refuse, dispatcher, tracker,
                                        RequestRejected(say.build_system_needs_code(messages.restate(request, catalog()))),
                                        environment=request.environment)
                return clear_request()
            if profile().build_systems_skip_confirmation:
                # A trusted build system's request needs no yes (the profile says so); it skips
                # only the question: where approvals are needed, it waits for them.
                held = await safeguards.hold_before_jenkins(dispatcher, tracker, request, "deploy", time.time())
                if held is not None:
                    return held + clear_request()
                dispatcher.utter_message(text=(await start_deployment(tracker, request, "deploy", time.time()))[0])
                return clear_request()
        source = tracker.get_slot("promoted_from")
        if source:
            question = messages.promotion_question(request, source, catalog())
            return events + ask(dispatcher, tracker, request, "promotion", question)
        return events + ask(dispatcher, tracker, request)


class ActionDeploy(DeployBotAction):
    """The requester said yes: to the pending question, here, and in time."""

    def name(self) -> Text:
        return "action_deploy"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        not_an_answer = why_not_an_answer(dispatcher, tracker) or why_not_a_clear_yes(dispatcher, tracker)
        if not_an_answer:
            await asyncio.to_thread(permissions().audit, requester(tracker), "confirm", "refused", detail=not_an_answer)
            return []
        pending = tracker.get_slot("pending_deploy")
        if isinstance(pending, dict) and pending.get("kind") == "batch":
            return await batches.deploy(dispatcher, tracker, pending)
        if isinstance(pending, dict) and pending.get("schedule"):  # a scheduled deploy's last yes (issue 24)
            return await schedules.last_yes(dispatcher, tracker, pending)
        try:
            request = pending_request(tracker)
            if request is not None:  # a grant may have been revoked since the question
                check_requester_of(tracker)
                await asyncio.to_thread(permissions().check_may_deploy, requester(tracker), request)
        except RequestRejected as rejection:
            await asyncio.to_thread(refuse, dispatcher, tracker, rejection)
            show_decision(dispatcher, tracker, "refused, nothing was deployed")
            return close_pending(tracker, "cancelled") + clear_request()
        if request is None:
            waiting = held_request(tracker)
            if waiting is not None:  # confirmed already: what it waits for is the code, not a yes
                dispatcher.utter_message(text=say.confirmed_waits_for_code(what_is_held(waiting)))
                return []
            # Also what someone else's "yes" gets: it lands in their own conversation.
            dispatcher.utter_message(text=messages.NOTHING_PENDING)
            await asyncio.to_thread(permissions().audit, requester(tracker), "confirm", "refused", detail="nothing pending")
            return []
        pending = tracker.get_slot("pending_deploy")
        kind = pending.get("kind") or "deploy"
        timeout = profile().confirmation_timeout_seconds
        if confirmation_is_stale(pending.get("asked_at"), time.time(), timeout):
            dispatcher.utter_message(text=messages.stale_confirmation(timeout))
            show_decision(dispatcher, tracker, "expired, nothing was deployed; asked again")
            return ask(dispatcher, tracker, request, kind, pending.get("question"), previous_fate="expired")
        # -- issue 14, production safeguards (actions/safeguards.py): a code and approvals before Jenkins --
        held = await safeguards.hold_before_jenkins(dispatcher, tracker, request, kind, pending["asked_at"],
                                                    start_at=pending.get("start_at"))
        if held is not None:
            return held + close_pending(tracker, "confirmed") + clear_request()
        # -- end of issue 14's hook --
        text, started = await start_deployment(tracker, request, kind, pending["asked_at"], pending.get("start_at"))
        # What the question now shows is what happened: confirmed and started, or not deployed and why.
        show_decision(dispatcher, tracker, f"confirmed: {messages.restate(request, catalog())}" if started
                      else f"not deployed: {text}")
        dispatcher.utter_message(text=text)
        offered = [] if started else await queue.offer(dispatcher, tracker, request)  # busy or locked: "Queue me" (issue 24)
        return close_pending(tracker, "confirmed") + clear_request() + offered


class ActionDenyDeploy(DeployBotAction):
    """The requester said no (to the pending question, here), or stopped filling in a request."""

    def name(self) -> Text:
        return "action_deny_deploy"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        not_an_answer = why_not_an_answer(dispatcher, tracker)
        if not_an_answer:
            await asyncio.to_thread(permissions().audit, requester(tracker), "deny", "refused", detail=not_an_answer)
            return []
        if tracker.get_slot("pending_deploy") or tracker.active_loop.get("name"):
            await schedules.declined(tracker)  # a scheduled deploy's last question: it ends here (issue 24)
            dispatcher.utter_message(text=messages.CANCELLED)
            passed = await queue.declined(tracker)  # a "no" to "You're next" passes the turn on (issue 24)
            if passed:
                dispatcher.utter_message(text=passed)
            show_decision(dispatcher, tracker, "cancelled, nothing was deployed")
            return close_pending(tracker, "cancelled") + clear_request()
        # After the yes: a deploy waiting for its code or for approvals is withdrawn (issue 22).
        withdrawn = await withdraw_held(dispatcher, tracker)
        if withdrawn is not None:
            return withdrawn
        dispatcher.utter_message(text=messages.NOTHING_PENDING)
        return []
