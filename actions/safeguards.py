"""Production safeguards between the yes and Jenkins, in the dialogue (issue 14): the deploy
pipeline (deploybot/pipeline/progress.py) says what a confirmed deploy waits for, and this
module holds it there: for the requester's code (actions/code_holds.py) or for approvals
(actions/approvals.py). What a code releases is actions/codes.py; enrolment and reset are
actions/two_factor_setup.py; break glass is actions/break_glass.py.
"""
import asyncio
import os
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import approvals
from actions.code_holds import hold_for_code
from actions.context import (
    catalog, clearance_rules, message_metadata, permissions, pipeline_ports, pipeline_request, profile, slack_directory,
)
from actions.questions import show_decision
from deploybot.domain import messages
from deploybot.policy import safeguard_messages as say
from deploybot.domain.deploy_request import DeployRequest
from deploybot.delivery.notifier import AllOf, local_notifier
from deploybot.pipeline.clearance import Confirmed
from deploybot.pipeline.progress import Cleared, NeedsApprovals, Passed, clearance_for, next_stage
from deploybot.pipeline.request import Item, Request, at
from deploybot.pipeline.start import Started, start_item
from deploybot.adapters.slack.notifier import SlackNotifier
from deploybot.policy.step_up import two_factor_required
from deploybot.storage.database import var_dir

Events = List[Dict[Text, Any]]


def confirmed_how(tracker: Tracker, break_glass: Optional[str] = None) -> Confirmed:
    if break_glass:
        return Confirmed.BREAK_GLASS
    return Confirmed.BUILD_SYSTEM if message_metadata(tracker).get("build_system") else Confirmed.YES


async def hold_before_jenkins(dispatcher: CollectingDispatcher, tracker: Tracker, request: DeployRequest,
                              kind: str, asked_at: float, break_glass: Optional[str] = None,
                              start_at: Optional[float] = None) -> Optional[Events]:
    """None when the pipeline clears this deploy at once (the caller starts it); otherwise the
    events that hold it for a code or for approvals, or that drop it (no key, not enrolled,
    locked) with the reason said. A break-glass deploy always needs a code. A scheduled
    deploy's start_at is held with it: after the code it is stored, not started."""
    asked = pipeline_request(tracker, [Item(request.app, request.version, kind)], request.environment, asked_at,
                             break_glass_reason=break_glass, start_at=at(start_at) if start_at else None)
    stage = next_stage(asked, asked.items[0], Passed(confirmed_how(tracker, break_glass)), clearance_rules())
    if isinstance(stage, Cleared):
        return None
    if isinstance(stage, NeedsApprovals):
        show_decision(dispatcher, tracker, f"confirmed: {messages.restate(request, catalog())}; waiting for approval")
        return await approvals.ask_for_approval(dispatcher, tracker, request, kind, asked_at,
                                                asked.output_channel, asked.reply_to, second_factor=False,
                                                start_at=asked.start_at)
    held = {
        "purpose": "deploy", "break_glass": break_glass, "app": request.app, "version": request.version,
        "environment": request.environment, "kind": kind, "requested_at": asked_at,
        "output_channel": asked.output_channel, "reply_to": asked.reply_to,
        **({"start_at": start_at} if start_at else {}),
    }
    return await hold_for_code(dispatcher, tracker, messages.restate(request, catalog()),
                               {"app": request.app, "environment": request.environment}, held)


async def hold_batch_for_code(dispatcher: CollectingDispatcher, tracker: Tracker, batch: dict) -> Optional[Events]:
    """A batch (actions/batches.py) needs one code when any of its apps needs one; None when
    none does (its apps start at once, each with its own approvals where needed)."""
    environment = batch["environment"]
    if not any(two_factor_required(profile(), catalog(), item["app"], environment) for item in batch["ready"]):
        return None
    return await hold_for_code(dispatcher, tracker, batch["restatement"], {"environment": environment},
                               {"purpose": "deploy", "batch": batch})


def held_request_of(tracker: Tracker, held: dict) -> Request:
    """The pipeline's request for a deploy held for its code: reported where it was asked."""
    item = Item(held["app"], held["version"], held.get("kind") or "deploy")
    return Request(assistant=profile().id, environment=held["environment"], items=(item,),
                   requester=tracker.sender_id, conversation_id=tracker.sender_id,
                   output_channel=held.get("output_channel") or "rest", reply_to=held.get("reply_to"),
                   requested_at=at(held["requested_at"]), break_glass_reason=held.get("break_glass"),
                   start_at=at(held["start_at"]) if held.get("start_at") else None)


async def start_held_deployment(held_request: Request) -> str:
    """Starts a deploy whose code was accepted (and which needs no approvals, or an admin broke
    the glass), reporting to where the request was made (not where the code was)."""
    item = held_request.items[0]
    confirmed = Confirmed.BREAK_GLASS if held_request.break_glass_reason else Confirmed.YES
    clearance = clearance_for(held_request, item, Passed(confirmed, second_factor=True), clearance_rules())
    outcome = await asyncio.to_thread(start_item, pipeline_ports(), held_request, item, clearance)
    if isinstance(outcome, Started):
        return outcome.text
    return say.not_started(messages.restate(held_request.deploy_request(item), catalog()), outcome.why)


def announce_break_glass(user: str, what: str, reason: str, outcome: str, through: str = "") -> None:
    """A deploy without approvals: the management channel and the audit log hear of it at once,
    and of the freeze it broke through, if any (`through`: actions/freezes.py freeze_broken)."""
    text = f"Break glass: {user} skipped approvals for {what}. Reason: {reason}.{' ' + through if through else ''} {outcome}"
    permissions().audit(user, "break_glass", "done", detail=f"{what}. Reason: {reason}.{' ' + through if through else ''}"[:500])
    channel = profile().management_channel
    if channel:
        management_notifier().post(channel, text)


def management_notifier():
    """Where production successes are posted (as the watcher does): the local log or chat, and Slack."""
    notifier = local_notifier(var_dir(), os.environ.get("DEPLOYBOT_MANAGEMENT_URL"))
    directory = slack_directory()
    return AllOf([notifier, SlackNotifier(directory)]) if directory is not None else notifier
