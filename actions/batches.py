"""Several apps in one request, in the dialogue: one restatement, one yes, a deployment per app,
and a summary when all have ended (deploybot.batches reads the request, deploybot.batch_store
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
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import (
    catalog, database, deployer, deployment_store, entity_values, first_entity, from_slack, locks, message_metadata,
    permissions, profile, profiles, requester,
)
from actions import approvals, safeguards
from actions.questions import ask, close_pending, pending_question, restated, show_decision
from deploybot import batches, messages, payloads
from deploybot import safeguard_messages as say
from deploybot.step_up import two_factor_required
from deploybot.batch_store import SUMMARY, BatchStore
from deploybot.deploy_request import (
    DeployRequest, RequestRejected, build_request, check_environment, check_not_injection, check_version,
    confirmation_is_stale,
)
from deploybot.deployments import NewDeployment
from deploybot.jenkins.client import JenkinsError
from deploybot.outbox import Outbox

Events = List[Dict[Text, Any]]
BATCH_SLOT = "batch"  # {items: [{app, version, kind, promoted_from}], environment} while the request is filled in


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
            permissions().check_may_deploy(user, request)
            locks().check(request.app, request.environment)
            active = deployment_store().active_for(request.app, environment)
            if active is not None:
                raise RequestRejected(deployment_store().describe_active(active))
            ready.append(dict(item, version=request.version))
        except RequestRejected as rejection:
            blocked[item["app"]] = str(rejection)
    return ready, blocked


async def confirm(dispatcher: CollectingDispatcher, tracker: Tracker, request: dict, previous_fate: str = "replaced") -> Events:
    """One question for the whole batch, or one refusal when none of it can go ahead."""
    from actions.deploy import check_requester_of, clear_request  # actions.deploy imports this module

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
        dispatcher.utter_message(text=await start_all(dispatcher, tracker, batch, second_factor=False))
        return clear_request()
    question = batches.question(ready, environment, blocked, catalog())
    pending = {"items": request["items"], "ready": ready, "blocked": blocked,
               "restatement": batches.restated(ready, environment, catalog()), "environment": environment}
    return [SlotSet(BATCH_SLOT, None), SlotSet("app", None), SlotSet("version", None)] + ask(
        dispatcher, tracker, None, "batch", question, previous_fate=previous_fate, batch=pending)


# -- the yes --------------------------------------------------------------------------------


async def deploy(dispatcher: CollectingDispatcher, tracker: Tracker, pending: dict) -> Events:
    """The yes to a batch: each app starts on its own (after the code, on Bender)."""
    from actions.deploy import check_requester_of, clear_request  # actions.deploy imports this module

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


def where_asked(tracker: Tracker) -> dict:
    """Where the reports of the batch go: the input channel, and on Slack the request's thread."""
    metadata = message_metadata(tracker)
    return {"output_channel": tracker.get_latest_input_channel() or "rest",
            "reply_to": {"channel": metadata.get("out_channel"), "thread_ts": metadata.get("thread_id")}
            if from_slack(tracker) else None}


async def start_all(dispatcher: CollectingDispatcher, tracker: Tracker, batch: dict, second_factor: bool) -> str:
    """Records the batch and starts each app as its own deployment (or approval request);
    what to tell the requester. The grant of each is checked again: it may have been revoked."""
    user, environment, batch_id = requester(tracker), batch["environment"], batch["id"]
    batch_store = store()
    await asyncio.to_thread(batch_store.create, batch_id, profile().id, user, environment, batch["ready"],
                            tracker.sender_id, batch["output_channel"], batch["reply_to"])
    requested_at = datetime.fromtimestamp(batch["requested_at"], tz=timezone.utc)
    lines = []
    for item in batch["ready"]:
        request = DeployRequest(item["app"], item["version"], environment)
        what = batches.line(item, catalog())
        try:
            await asyncio.to_thread(permissions().check_may_deploy, user, request)
        except RequestRejected as rejection:
            lines.append(await not_started(batch_store, batch_id, user, request, what, str(rejection)))
            continue
        if approvals.needs_approval(request):
            await approvals.ask_for_approval(dispatcher, tracker, request, item.get("kind") or "deploy", batch["requested_at"],
                                             batch["output_channel"], batch["reply_to"], second_factor=second_factor,
                                             batch_id=batch_id)
            lines.append(f"• {what}: waiting for approval (its card is below)")
            continue
        new = NewDeployment(
            assistant=profile().id, request=request, kind=item.get("kind") or "deploy", requested_by=user,
            conversation_id=tracker.sender_id, output_channel=batch["output_channel"], requested_at=requested_at,
            reply_to=batch["reply_to"], safeguards={"second_factor": True} if second_factor else None, batch_id=batch_id)
        try:
            lines.append(f"• {await asyncio.to_thread(deployer().start, new)}")
        except (RequestRejected, JenkinsError) as refusal:  # a lock set meanwhile, another deployment, no Jenkins
            lines.append(await not_started(batch_store, batch_id, user, request, what, str(refusal)))
    head = (f"OK, {len(batch['ready'])} deployments to {environment}, each with its own Jenkins build and reports."
            " I'll sum up here when all have ended:")
    text = head + "\n" + "\n".join(lines)
    summary = await asyncio.to_thread(summary_if_over, batch_store, batch_id)
    return text + (f"\n{summary}" if summary else "")


async def not_started(batch_store: BatchStore, batch_id: str, user: str, request: DeployRequest, what: str, why: str) -> str:
    await asyncio.to_thread(batch_store.not_started, batch_id, request.app, why)
    await asyncio.to_thread(audit_refused, user, request.app, request.environment, f"batch: {why}")
    return f"• {what}: not started: {batches.plain(why)}"


def summary_if_over(batch_store: BatchStore, batch_id: str) -> Optional[str]:
    """The summary, when the batch ended the moment it was started (nothing reached Jenkins,
    or every start failed): no watcher will see it, so it is said now, once."""
    if batch_store.is_over(batch_id) and batch_store.mark_summarized(batch_id):
        return batch_store.summary(batch_id, catalog())
    return None


def ended_without_deployment(batch_id: Optional[str], app: str, why: str) -> Optional[str]:
    """An app of a batch ended without a deployment after the yes (its approval was rejected or
    expired, or it was refused after approval). Returns the summary to say now when that
    ended a batch with no deployment to carry it; with one, the watcher says it."""
    if not batch_id:
        return None
    batch_store = store()
    batch_store.not_started(batch_id, app, why)
    if not batch_store.is_over(batch_id):
        return None
    carrier = batch_store.carrier(batch_id)
    if carrier is None:
        return summary_if_over(batch_store, batch_id)
    Outbox(database()).add(carrier, SUMMARY)  # the watcher sends it (deploybot.watcher)
    return None


# -- "same again" and a late correction, after a batch ----------------------------------------


def confirmed_batch(batch_id: Optional[str]) -> Optional[dict]:
    """The request a confirmed batch was ({items, environment}, all its apps), or None."""
    batch = store().get(batch_id) if batch_id else None
    if batch is None:
        return None
    return {"items": json.loads(batch.items), "environment": batch.environment}
