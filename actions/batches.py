"""Several apps in one request, in the dialogue: one restatement, one yes, a deployment per app,
and a summary when all have ended (deploybot.domain.batches reads the request, deploybot.domain.batch_store
keeps it).

- action_start_deploy keeps the request's apps and versions in the batch slot; an app without
  a version of its own is asked for by the deploy form, one at a time (Bender first offers what
  the source environment runs, as for one app). No app gets another's version unless the
  message says so ("both 3.1").
- action_confirm_deploy checks every app as it checks one (the environment, the grant, locks,
  a deployment already running) and asks one question: every deployment it would start, and
  before the yes those that cannot go ahead and why. Yes goes on with the rest, no deploys
  nothing. If none can go ahead, nothing is asked.
- The yes (and on Bender the code, one for the whole batch) starts each app on its own,
  checked again: its own record, Jenkins build and reports, and its own approval card where
  one is needed. An app that cannot start is said at once and named in the summary.
"""
import asyncio
import json
import time
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import (
    catalog, clearance_rules, database, deployment_store, entity_values, first_entity, message_metadata,
    permissions, pipeline_ports, profile, profiles, requester, where_asked,
)
from actions import approvals, safeguards, why
from actions.request_slots import BATCH_SLOT, check_requester_of, clear_request
from actions.questions import ask, close_pending, pending_question, restated, show_decision
from deploybot.domain import batches, messages
from deploybot.rasa_glue import payloads
from deploybot.policy import safeguard_messages as say
from deploybot.policy.step_up import two_factor_required
from deploybot.domain.batch_store import BatchStore
from deploybot.domain.deploy_request import (
    RequestRejected, build_request, check_environment, check_not_injection, check_version, confirmation_is_stale,
)
from deploybot.pipeline.clearance import Confirmed
from deploybot.pipeline.progress import Cleared, NeedsApprovals, Passed, next_stage
from deploybot.pipeline.request import Item, Request, at
from deploybot.pipeline.start import Started, start_item, why_not_allowed
from deploybot.pipeline.summary import summary_if_over

Events = List[Dict[Text, Any]]


def is_batch(tracker: Tracker) -> bool:
    """A deploy request naming several apps (and at most one environment)."""
    latest = tracker.latest_message
    return (latest.get("intent", {}).get("name") == "deploy" and batches.several_apps(latest.get("entities") or [])
            and len(entity_values(tracker, "environment")) <= 1)


def draft(tracker: Tracker) -> Optional[dict]:
    value = tracker.get_slot(BATCH_SLOT)
    return value if isinstance(value, dict) and value.get("items") else None


def in_hand(tracker: Tracker) -> bool:
    """Whether the deploy form is filling in a batch, or this message is a batch request (one
    refused has no draft: the form must then ask nothing)."""
    return draft(tracker) is not None or is_batch(tracker)


def store() -> BatchStore:
    return BatchStore(database())


def audit_refused(user: str, app: Optional[str], environment: Optional[str], why: str) -> None:
    permissions().audit(user, "deploy", "refused", app=(app or "")[:64] or None, environment=environment, detail=why[:500])


# -- filling the request in ----------------------------------------------------------------


async def start(dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
    """From action_start_deploy: the apps and their versions; the form asks for what is missing."""
    text = tracker.latest_message.get("text") or ""
    environment = first_entity(tracker, "environment") or profile().default_environment
    try:
        check_not_injection(text)
        items = [item.as_dict() for item in batches.items_of(text, tracker.latest_message.get("entities") or [])]
        check_environment(environment, profile(), profiles(), catalog())
    except RequestRejected as rejection:
        dispatcher.utter_message(text=str(rejection))
        await asyncio.to_thread(audit_refused, requester(tracker), None, environment, f"batch: {rejection}")
        return []
    source = profile().promote_from
    for item in items:
        if item["version"]:
            try:
                item["version"] = check_version(item["version"])
            except RequestRejected as rejection:
                dispatcher.utter_message(text=f"{rejection} Nothing was deployed.")
                return []
        elif source:  # Bender: the version the source environment runs, said so in the question
            item["version"] = await asyncio.to_thread(deployment_store().current_version, item["app"], source)
            if item["version"]:
                item.update(kind="promotion", promoted_from=source)
    missing = batches.missing_versions(items)
    return [SlotSet(BATCH_SLOT, {"items": items, "environment": environment}), SlotSet("app", missing[0] if missing else None),
            SlotSet("version", None), SlotSet("environment", environment)]


def required_slots(tracker: Tracker) -> List[Text]:
    """The form asks only for versions still missing (the app slot names whose)."""
    current = draft(tracker)
    return ["version"] if current and batches.missing_versions(current["items"]) else []


def validate_app(dispatcher: CollectingDispatcher, tracker: Tracker, value: Any) -> Dict[Text, Any]:
    """The form asks for a version of one app of the batch; another app here changes nothing.
    The request's own message names several apps: the form sees one of them, which means nothing."""
    current = draft(tracker)
    expected = batches.missing_versions(current["items"]) if current else []
    if not expected:
        return {"app": None}
    if value != expected[0] and value and not is_batch(tracker):
        dispatcher.utter_message(text=f"Your request names several apps, and I'm asking for the version of "
                                      f"{batches.name_of(expected[0], catalog())}. Say a version, or “no” to drop the whole request.")
    return {"app": expected[0]}


def validate_version(dispatcher: CollectingDispatcher, tracker: Tracker, value: Any) -> Dict[Text, Any]:
    """A version for the app being asked about; then the next app without one, if any."""
    current = draft(tracker)
    missing = batches.missing_versions(current["items"]) if current else []
    if not missing or is_batch(tracker):  # the request's own versions are in the draft already
        return {"version": None}
    try:
        check_not_injection(tracker.latest_message.get("text"))
        version = check_version(str(value))
    except RequestRejected as rejection:
        dispatcher.utter_message(text=str(rejection))
        return {"version": None}
    items = [dict(item, version=version) if item["app"] == missing[0] else item for item in current["items"]]
    still = batches.missing_versions(items)
    return {BATCH_SLOT: {**current, "items": items}, "app": still[0] if still else missing[0],
            "version": None if still else version}


def ask_version(tracker: Tracker) -> str:
    items = draft(tracker)["items"]
    missing = batches.missing_versions(items)
    return batches.ask_missing_version(batches.name_of(missing[0], catalog()), missing, items, catalog())


# -- the question ------------------------------------------------------------------------------


def checked(user: str, items: List[dict], environment: str) -> tuple:
    """(ready, blocked): the items that can go ahead now, and why each other one cannot."""
    ready, blocked = [], {}
    for item in items:
        try:
            request = build_request(item["app"], item["version"], environment, profile(), profiles(), catalog())
            why.check_all(request, user)  # grant, lock, busy and the gate stage: every rule that blocks, at once
            ready.append(dict(item, version=request.version))
        except RequestRejected as rejection:
            blocked[item["app"]] = str(rejection)
    return ready, blocked


async def confirm(dispatcher: CollectingDispatcher, tracker: Tracker, request: dict, previous_fate: str = "replaced") -> Events:
    """One question for the whole batch, or one refusal when none of it can go ahead."""
    if request is None:  # refused as a whole by start(): nothing to ask
        return clear_request()
    user, environment = requester(tracker), request["environment"]
    try:
        check_requester_of(tracker)
        check_environment(environment, profile(), profiles(), catalog())
    except RequestRejected as rejection:
        dispatcher.utter_message(text=str(rejection))
        await asyncio.to_thread(audit_refused, user, None, environment, f"batch: {rejection}")
        return clear_request()
    ready, blocked = await asyncio.to_thread(checked, user, request["items"], environment)
    for app, why in blocked.items():
        await asyncio.to_thread(audit_refused, user, app, environment, f"batch: {why}")
    if not ready:
        previous = pending_question(tracker)  # a corrected batch that can no longer go ahead at all
        if previous and previous_fate == "replaced":
            dispatcher.utter_message(text=messages.replaced_request(restated(previous)))
        dispatcher.utter_message(text=batches.none_can_go(blocked, catalog()))
        return close_pending(tracker, previous_fate) + clear_request()
    needing_code = [item for item in ready if two_factor_required(profile(), catalog(), item["app"], environment)]
    if message_metadata(tracker).get("build_system") and needing_code:
        # A build system has no phone: a batch with an app that needs a code is refused as a whole (issue 22).
        what = batches.restated(needing_code, environment, catalog())
        dispatcher.utter_message(text=say.build_system_needs_code(what))
        for item in needing_code:
            await asyncio.to_thread(audit_refused, user, item["app"], environment, "batch: a build system cannot give a two-factor code")
        return clear_request()
    if message_metadata(tracker).get("build_system") and profile().build_systems_skip_confirmation:
        # A trusted build system's batch needs no yes (the profile says so), as for one app.
        batch = {"id": payloads.new_request_id(), "ready": ready, "environment": environment, "requested_at": time.time(),
                 **where_asked(tracker)}
        dispatcher.utter_message(text=await start_all(dispatcher, tracker, batch, second_factor=False,
                                                      confirmed=Confirmed.BUILD_SYSTEM))
        return clear_request()
    question = batches.question(ready, environment, blocked, catalog())
    pending = {"items": request["items"], "ready": ready, "blocked": blocked,
               "restatement": batches.restated(ready, environment, catalog()), "environment": environment}
    return [SlotSet(BATCH_SLOT, None), SlotSet("app", None), SlotSet("version", None)] + ask(
        dispatcher, tracker, None, "batch", question, previous_fate=previous_fate, batch=pending)


# -- the yes --------------------------------------------------------------------------------


async def deploy(dispatcher: CollectingDispatcher, tracker: Tracker, pending: dict) -> Events:
    """The yes to a batch: each app starts on its own (after the code, on Bender)."""
    timeout = profile().confirmation_timeout_seconds
    if confirmation_is_stale(pending.get("asked_at"), time.time(), timeout):
        dispatcher.utter_message(text=messages.stale_confirmation(timeout))
        show_decision(dispatcher, tracker, "expired, nothing was deployed; asked again")
        return await confirm(dispatcher, tracker, {"items": pending["items"], "environment": pending["environment"]},
                             previous_fate="expired")
    try:
        check_requester_of(tracker)
    except RequestRejected as rejection:
        dispatcher.utter_message(text=str(rejection))
        return close_pending(tracker, "cancelled") + clear_request()
    batch = {"id": pending["request_id"], "ready": pending["ready"], "environment": pending["environment"],
             "requested_at": pending["asked_at"], "restatement": pending["restatement"], **where_asked(tracker)}
    held = await safeguards.hold_batch_for_code(dispatcher, tracker, batch)
    if held is not None:
        return held + close_pending(tracker, "confirmed") + clear_request()
    text = await start_all(dispatcher, tracker, batch, second_factor=False)
    show_decision(dispatcher, tracker, f"confirmed: {batch['restatement']}")
    dispatcher.utter_message(text=text)
    return close_pending(tracker, "confirmed") + clear_request()


async def start_all(dispatcher: CollectingDispatcher, tracker: Tracker, batch: dict, second_factor: bool,
                    confirmed: Confirmed = Confirmed.YES) -> str:
    """Records the batch and starts each app as its own deployment (or approval request);
    what to tell the requester. The grant of each is checked again: it may have been revoked."""
    environment, batch_id = batch["environment"], batch["id"]
    batch_store = store()
    items = [Item(item["app"], item["version"], item.get("kind") or "deploy", item.get("promoted_from")) for item in batch["ready"]]
    asked = Request(assistant=profile().id, environment=environment, items=tuple(items), requester=requester(tracker),
                    conversation_id=tracker.sender_id, output_channel=batch["output_channel"], reply_to=batch["reply_to"],
                    requested_at=at(batch["requested_at"]), batch_id=batch_id)
    await asyncio.to_thread(batch_store.create, batch_id, profile().id, asked.requester, environment, batch["ready"],
                            tracker.sender_id, batch["output_channel"], batch["reply_to"])
    passed = Passed(confirmed, second_factor=second_factor)
    lines = [await start_one(dispatcher, tracker, asked, item, batches.line(ready, catalog()), passed, batch)
             for item, ready in zip(items, batch["ready"])]
    head = (f"OK, {len(batch['ready'])} deployments to {environment}, each with its own Jenkins build and reports."
            " I'll sum up here when all have ended:")
    text = head + "\n" + "\n".join(lines)
    summary = await asyncio.to_thread(summary_if_over, batch_store, batch_id, catalog())
    return text + (f"\n{summary}" if summary else "")


async def start_one(dispatcher: CollectingDispatcher, tracker: Tracker, asked: Request, item: Item, what: str,
                    passed: Passed, batch: dict) -> str:
    """One app of a confirmed batch: its grant again, then its approval card or its start (the
    pipeline says which); the line that says what came of it."""
    why_not = await asyncio.to_thread(why_not_allowed, pipeline_ports(), asked, item, audit_as="batch: ")
    if why_not:
        return await not_started(asked, item, what, why_not)
    stage = next_stage(asked, item, passed, clearance_rules())
    if isinstance(stage, NeedsApprovals):
        await approvals.ask_for_approval(dispatcher, tracker, asked.deploy_request(item), item.kind, batch["requested_at"],
                                         asked.output_channel, asked.reply_to, second_factor=passed.second_factor,
                                         batch_id=asked.batch_id)
        return f"• {what}: waiting for approval (its card is below)"
    clearance = stage.clearance if isinstance(stage, Cleared) else None  # without one, the door refuses it
    outcome = await asyncio.to_thread(start_item, pipeline_ports(), asked, item, clearance, "batch: ")
    if isinstance(outcome, Started):
        return f"• {outcome.text}"
    return await not_started(asked, item, what, outcome.why)  # a lock set meanwhile, another deployment, no Jenkins


async def not_started(asked: Request, item: Item, what: str, why: str) -> str:
    """Recorded in the batch (the refusal was audited by the pipeline)."""
    await asyncio.to_thread(store().not_started, asked.batch_id, item.app, why)
    return f"• {what}: not started: {batches.plain(why)}"


# -- "same again" and a late correction, after a batch ----------------------------------------


def confirmed_batch(batch_id: Optional[str]) -> Optional[dict]:
    """The request a confirmed batch was ({items, environment}, all its apps), or None."""
    batch = store().get(batch_id) if batch_id else None
    if batch is None:
        return None
    return {"items": json.loads(batch.items), "environment": batch.environment}
