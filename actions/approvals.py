"""Four-eyes approvals in the dialogue (issue 14; deploybot.policy.approvals keeps the requests).

- After the requester's yes (and code), a deploy that needs approvals is recorded as an
  approval request and a card is posted in the request's thread: what, which version, what
  runs there now, who asked, and Approve/Reject buttons bound to that request's id.
- An approver decides in their own conversation: a click (sealed by the Slack connector;
  Reject opens a modal for the reason) or, in the terminal chat and over REST, a typed
  "approve" / "reject, reason: ..." when exactly one request waits for them. On Slack only
  the buttons count: a typed approval names no request.
- The requester's conversation hears the outcome through EXTERNAL_approval_decided; an
  approved deploy starts there, with its grant and the locks checked again.
"""
import asyncio
import json
import logging
import re
import time
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.approval_records import audit, notifier, store, what_of
from actions.code_holds import hold_approval_for_code
from actions.context import (
    catalog, clearance_rules, database, deployment_store, entity_values, first_entity, from_slack, locks, message_metadata,
    permissions, pipeline_ports, profile, requester, slack_usergroups, time_zone,
)
from actions.guard import DeployBotAction
from actions.questions import clicked, say_where, show_decision
from actions.token_channels import refused_over_token_channel
from deploybot.domain import messages
from deploybot.rasa_glue import payloads
from deploybot.policy import safeguard_messages as say
from deploybot.policy.approvals import NOT_COUNTED, approved_by, expires_after, why_not_approver
from deploybot.domain.deploy_request import DeployRequest, RequestRejected
from deploybot.domain.deployments import utc
from deploybot.domain.schedule_times import on_day
from deploybot.pipeline.clearance import Confirmed
from deploybot.pipeline.progress import Passed, clearance_for
from deploybot.pipeline.request import Item, Request, at
from deploybot.pipeline.start import Refused, start_item, why_not_allowed
from deploybot.pipeline.summary import ended_without_deployment
from deploybot.adapters.slack import code_modal
from deploybot.adapters.slack.custom_messages import OPEN_VIEW_KEY, UPDATE_KEY

log = logging.getLogger(__name__)
Events = List[Dict[Text, Any]]
TYPED_REASON = re.compile(r"(?:reason\s*:|because)\s*(?P<reason>.+)$", re.IGNORECASE | re.DOTALL)


async def ask_for_approval(dispatcher: CollectingDispatcher, tracker: Tracker, request: DeployRequest, kind: str,
                           requested_at: float, output_channel: str, reply_to: Optional[dict], second_factor: bool,
                           batch_id: Optional[str] = None, start_at: Optional[datetime] = None) -> Events:
    """Records the approval request and posts its card; nothing is deployed yet. An app of a
    batch (actions/batches.py) starts into that batch once approved; a scheduled deploy
    (start_at, actions/schedules.py) is stored to start then once approved."""
    needed = clearance_rules().approvals_needed(request.app, request.environment)
    user = requester(tracker)
    row = await asyncio.to_thread(
        store().create, id=payloads.new_request_id(), assistant=profile().id, app=request.app, environment=request.environment,
        version=request.version, kind=kind, requested_by=user, conversation_id=tracker.sender_id, output_channel=output_channel,
        reply_to=json.dumps(reply_to) if reply_to else None, second_factor=second_factor,
        requested_at=at(requested_at), expires_at=expires_after(profile().approval_timeout_seconds),
        needed=needed, batch_id=batch_id, start_at=start_at)
    running = await asyncio.to_thread(deployment_store().current_version, request.app, request.environment)
    app = catalog().app(request.app)
    listed = f" ({', '.join(app.approvers)})" if app.approvers else ""
    minutes = max(1, profile().approval_timeout_seconds // 60)
    now_running = (f"{request.environment.capitalize()} runs {running} now." if running
                   else f"Nothing I deployed runs on {request.environment} yet.")
    later = f" on {on_day(start_at, time_zone())}" if start_at else ""
    card = (f"Approval needed: {messages.restate(request, catalog())}{later}, asked by {user}"
            f"{' (second factor given)' if second_factor else ''}. {now_running} {needed} approval{'s' if needed > 1 else ''} needed from "
            f"someone else{listed}, within {minutes} min; nothing is deployed until then.")
    say_where(dispatcher, card, output_channel, reply_to, payloads.approval_buttons(row.id))
    await asyncio.to_thread(audit, user, "asked", f"approval asked for: {what_of(row)}", row)
    return []


# -- the approver's side ---------------------------------------------------------------------


def typed_choice(tracker: Tracker, dispatcher: CollectingDispatcher, user: str) -> Optional[str]:
    """The one request a typed approve/reject can mean (terminal chat, REST); None after saying why not."""
    if from_slack(tracker):
        dispatcher.utter_message(text="On Slack, approve or reject with the buttons of the approval card: they name the request. Nothing was done.")
        return None
    if refused_over_token_channel("approve", dispatcher, tracker):  # a token is no approver (issue 22)
        return None
    pending = store().pending(profile().id)
    named = entity_values(tracker, "app")
    if named:  # "approve crm": among several (a batch's cards), the one of the app named
        pending = [row for row in pending if row.app in named]
    refusals = {row.id: why_not_approver(user, row, catalog(), permissions(), slack_usergroups()) for row in pending}
    mine = [row for row in pending if refusals[row.id] is None]
    if len(mine) == 1:
        return mine[0].id
    # Requests whose approver groups could not be looked up: say so rather than "nothing".
    blocked = [f"{what_of(row)} (asked by {row.requested_by}): {refusals[row.id]}" for row in pending
               if (refusals[row.id] or "").endswith(NOT_COUNTED)]
    if not mine and blocked:
        dispatcher.utter_message(text=f"Nothing I can count waits for your approval. {' '.join(blocked)} Nothing was done.")
    elif not mine:
        dispatcher.utter_message(text="Nothing waits for your approval. Nothing was done.")
    else:
        listing = "; ".join(f"{what_of(row)} (asked by {row.requested_by})" for row in mine)
        app = mine[0].app
        dispatcher.utter_message(text=f"Several requests wait for your approval: {listing}. Name the app, for example “approve {app}”"
                                      f" or “reject {app}, reason: …”, or use the buttons on their cards in Slack. Nothing was done.")
    return None


CLOSED = {
    "not_found": "That approval card is not one of mine",
    "expired": "That approval request expired",
    "already_approved": "That request was approved already",
    "already_started": "That request was approved and started already",
    "already_rejected": "That request was rejected already",
    "already_expired": "That approval request expired",
    "already_withdrawn": "That request was withdrawn by the person who asked",
    "twice": "You approved that request already",
}


class ActionApproveDeployment(DeployBotAction):
    def name(self) -> Text:
        return "action_approve_deployment"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user = requester(tracker)
        approval_id = first_entity(tracker, "approval") or await asyncio.to_thread(typed_choice, tracker, dispatcher, user)
        if approval_id is None:
            return []
        return await decide(dispatcher, tracker, user, approval_id, None)


class ActionRejectDeployment(DeployBotAction):
    def name(self) -> Text:
        return "action_reject_deployment"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user = requester(tracker)
        metadata = message_metadata(tracker)
        approval_id = first_entity(tracker, "approval")
        # Slack metadata comes from the connector only: the reason a rejection modal gave.
        reason = str(metadata.get(code_modal.REASON_KEY) or "").strip() if from_slack(tracker) else ""
        if approval_id is None:
            approval_id = await asyncio.to_thread(typed_choice, tracker, dispatcher, user)
            if approval_id is None:
                return []
            found = TYPED_REASON.search(tracker.latest_message.get("text") or "")
            reason = found.group("reason").strip() if found else ""
        if len(reason) < 3:
            click = clicked(tracker) or {}
            row = await asyncio.to_thread(store().get, approval_id)
            if click.get("trigger_id") and row is not None and row.state == "pending":
                view = code_modal.reason_view(approval_id, what_of(row), metadata.get("out_channel"), metadata.get("thread_id"))
                dispatcher.utter_message(json_message={OPEN_VIEW_KEY: {"trigger_id": click["trigger_id"], "view": view,
                                                                       "fallback": "Say why you reject it in the window that opens."}})
                return []
            if row is None or row.state != "pending":
                return await decide(dispatcher, tracker, user, approval_id, "")
            dispatcher.utter_message(text="Say why, for example “reject, reason: the migration is not reviewed”. Nothing was done.")
            return []
        return await decide(dispatcher, tracker, user, approval_id, reason)


def show_on_card(dispatcher: CollectingDispatcher, tracker: Tracker, outcome: str, card: Optional[dict]) -> None:
    """The card clicked now, or (after the approver's code) the one clicked before, says what came of it."""
    if card and card.get("ts"):
        text = messages.decided(card.get("question") or "", card.get("choice") or "", card.get("user") or "", outcome)
        dispatcher.utter_message(json_message={UPDATE_KEY: {"channel": card.get("channel"), "ts": card["ts"], "text": text}})
    else:
        show_decision(dispatcher, tracker, outcome)


async def decide(dispatcher: CollectingDispatcher, tracker: Tracker, user: str, approval_id: str, reason: Optional[str],
                 code_given: bool = False, card: Optional[dict] = None) -> Events:
    """Approve (reason None) or reject: checks who may, records it, tells the requester.
    With approver_two_factor, an approval first asks for the approver's own code
    (actions/codes.py takes it and comes back here with code_given)."""
    approvals = store()
    row = await asyncio.to_thread(approvals.get, approval_id)
    verb = "approve" if reason is None else "reject"
    if row is None or row.assistant != profile().id:
        dispatcher.utter_message(text=f"{CLOSED['not_found']}: nothing was done.")
        await asyncio.to_thread(audit, user, "refused", f"{verb}: unknown approval request")
        return []
    why_not = await asyncio.to_thread(why_not_approver, user, row, catalog(), permissions(), slack_usergroups())
    if why_not:
        dispatcher.utter_message(text=f"{why_not} Nothing was done.")
        await asyncio.to_thread(audit, user, "refused", f"{verb} {what_of(row)}: {why_not}", row)
        return []
    if reason is None and profile().approver_two_factor and not code_given and row.state == "pending":
        return await hold_approval_for_code(dispatcher, tracker, row.id, what_of(row))
    if reason is None:
        decision = await asyncio.to_thread(approvals.approve, approval_id, user)
    else:
        decision = await asyncio.to_thread(approvals.reject, approval_id, user, reason)
    what = what_of(row)
    if decision.outcome in CLOSED:
        dispatcher.utter_message(text=f"{CLOSED[decision.outcome]}: {what}. This changes nothing.")
        show_on_card(dispatcher, tracker, card=card, outcome="no longer open, nothing was changed")
        await asyncio.to_thread(audit, user, "refused", f"{verb} {what}: {decision.outcome}", row)
        if decision.outcome == "expired":
            notify_in_background(decision.row)
        return []
    if decision.outcome == "counted":
        count = len(approved_by(decision.row))
        dispatcher.utter_message(text=f"Approved by you: {what}. {count} of {decision.row.needed} approvals so far.")
        show_on_card(dispatcher, tracker, card=card, outcome=f"{count} of {decision.row.needed} approvals")
        await asyncio.to_thread(audit, user, "done", f"approved ({count} of {decision.row.needed}): {what}", row)
        return []
    if decision.outcome == "approved":
        # It starts in the requester's conversation, with grant and locks checked there: say
        # "starts now" only when no lock stands in the way at this moment.
        blocked = await asyncio.to_thread(lock_in_the_way, row)
        if blocked:
            dispatcher.utter_message(text=f"Approved: {what}. It cannot start now: {blocked} I'm telling {row.requested_by}.")
            show_on_card(dispatcher, tracker, card=card, outcome="approved, but locked: not deployed")
        else:
            dispatcher.utter_message(text=f"Approved: {what}. I'm telling {row.requested_by}; it starts now.")
            show_on_card(dispatcher, tracker, card=card, outcome="approved, deploying")
        await asyncio.to_thread(audit, user, "done", f"approved: {what}", row)
    else:
        dispatcher.utter_message(text=f"Rejected: {what}. I'm telling {row.requested_by} why.")
        show_on_card(dispatcher, tracker, card=card, outcome="rejected, nothing was deployed")
        await asyncio.to_thread(audit, user, "done", f"rejected: {what}: {reason}", row)
    notify_in_background(decision.row)
    return []


def lock_in_the_way(row) -> Optional[str]:
    try:
        locks().check(row.app, row.environment)
    except RequestRejected as locked:
        return say.as_sentence(str(locked))
    return None


def cannot_start(what: str, approvers: str, refusal: str) -> str:
    return f"{what} was approved by {approvers}, but it cannot start: {say.as_sentence(str(refusal))} Nothing was deployed."


def notify_in_background(row) -> None:
    """The requester's conversation is told after this action returns (a Rasa turn of its own)."""
    asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(asyncio.to_thread(notifier().send, row)))


# -- the requester's side ---------------------------------------------------------------------


class ActionApprovalDecided(DeployBotAction):
    """EXTERNAL_approval_decided in the requester's conversation: says the outcome once, and
    starts an approved deploy (its grant and the locks checked again now)."""

    def name(self) -> Text:
        return "action_approval_decided"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        approvals = store()
        approval_id = first_entity(tracker, "approval")
        row = await asyncio.to_thread(approvals.get, approval_id) if approval_id else None
        if row is None or row.assistant != profile().id or row.conversation_id != tracker.sender_id:
            return []
        if row.state not in ("approved", "rejected", "expired") or not await asyncio.to_thread(approvals.mark_told, row.id):
            return []
        what, reply_to = what_of(row), json.loads(row.reply_to) if row.reply_to else None
        if row.state == "rejected":
            text = f"{what} was rejected by {row.decided_by}: {row.reason}. Nothing was deployed."
            ended = f"rejected by {row.decided_by}: {row.reason}"
        elif row.state == "expired":
            minutes = max(1, profile().approval_timeout_seconds // 60)
            text = f"Nobody approved {what} within {minutes} min, so the request expired and nothing was deployed. Ask again if it is still needed."
            ended = f"nobody approved it within {minutes} min"
        else:
            text, started = await self.start(row, what)
            ended = None if started else text
        if ended and row.batch_id:  # one app of a batch ended without a deployment: maybe the batch's last
            summary = await asyncio.to_thread(ended_without_deployment, database(), catalog(), row.batch_id, row.app, ended)
            text += f"\n{summary}" if summary else ""
        say_where(dispatcher, text, row.output_channel, reply_to)
        return []

    @staticmethod
    async def start(row, what: str) -> tuple:
        """What to tell the requester, and whether a deployment was recorded: the requester and
        the grant checked again, then the pipeline's clearance with the approvals given."""
        approved = request_of(row)
        item, approvers = approved.items[0], ", ".join(approved_by(row))
        why_not = await asyncio.to_thread(why_not_allowed, pipeline_ports(), approved, item, channel=row.output_channel,
                                          audit_as="after approval: ")
        if why_not:
            return cannot_start(what, approvers, why_not), False
        if not await asyncio.to_thread(store().mark_started, row.id):
            return f"{what} was started already.", True
        confirmed = Confirmed.BUILD_SYSTEM if approved.via_build_system else Confirmed.YES
        passed = Passed(confirmed, second_factor=bool(row.second_factor), approved_by=tuple(approved_by(row)))
        clearance = clearance_for(approved, item, passed, clearance_rules())
        outcome = await asyncio.to_thread(start_item, pipeline_ports(), approved, item, clearance, "after approval: ")
        if isinstance(outcome, Refused):  # a lock set meanwhile, another deployment
            return cannot_start(what, approvers, outcome.why), False
        return f"Approved by {approvers}. {outcome.text}", True


def request_of(row) -> Request:
    """The pipeline's request an approval row holds. A trusted build system's request waits for
    approvals too (issue 22): its id is a bot id."""
    build_system = row.requested_by if row.requested_by in profile().trusted_build_systems else None
    return Request(assistant=row.assistant, environment=row.environment, items=(Item(row.app, row.version, row.kind),),
                   requester=row.requested_by, conversation_id=row.conversation_id, output_channel=row.output_channel,
                   reply_to=json.loads(row.reply_to) if row.reply_to else None, requested_at=row.requested_at,
                   via_build_system=build_system, batch_id=row.batch_id, start_at=utc(row.start_at))


async def watch_expiry(every: float = 2.0) -> None:
    """The action server's task: expires overdue requests and tells their requesters; sends
    again an outcome whose telling was lost."""
    approvals, told_again = store(), {}
    while True:
        try:
            for approval_id in await asyncio.to_thread(approvals.expire_due, profile().id):
                await asyncio.to_thread(notifier().send, await asyncio.to_thread(approvals.get, approval_id))
            for approval_id in await asyncio.to_thread(approvals.untold, profile().id):
                if time.monotonic() - told_again.get(approval_id, time.monotonic()) > 15:
                    row = await asyncio.to_thread(approvals.get, approval_id)
                    await asyncio.to_thread(notifier().send, row)
                    told_again.pop(approval_id, None)
                told_again.setdefault(approval_id, time.monotonic())
        except Exception as error:  # the next round tries again; the server must not lose this task
            log.warning("approval expiry round failed: %s", error)
        await asyncio.sleep(every)
