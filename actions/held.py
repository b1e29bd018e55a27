"""What waits in a conversation after the yes, each in a place of its own, and how "no" or
"cancel" withdraws it (issue 22):

- the requester's deploy (or batch) held for their two-factor code, and an approver's
  approval held for their own code: rows of deploybot.pipeline.held, one of each per
  conversation, so that neither displaces the other (a code goes to the one asked for last);
- deploys waiting for approvals: rows (deploybot.policy.approvals), as an enrolment waiting for its
  first code is a row (deploybot.policy.two_factor), so a refused deploy cannot drop it.
All of it is in the database with the request, none in slots (issue 23).
"""
import asyncio
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import approval_records as approvals
from actions.context import catalog, database, permissions, profile, requester
from deploybot.domain import messages
from deploybot.policy import safeguard_messages as say
from deploybot.domain.deploy_request import DeployRequest
from deploybot.pipeline.held import APPROVE, DEPLOY, Holds
from deploybot.pipeline.summary import ended_without_deployment

Events = List[Dict[Text, Any]]


def holds() -> Holds:
    return Holds(database(), profile().id)


def held_request(tracker: Tracker) -> Optional[dict]:
    """The requester's own deploy (or batch) held for their code in this conversation. An
    enrolment waiting for its first code is a row of its own (deploybot.policy.two_factor);
    an approver's approval held for their code is held apart, so that neither displaces the other."""
    return holds().get(tracker.sender_id, DEPLOY)


def held_approval(tracker: Tracker) -> Optional[dict]:
    return holds().get(tracker.sender_id, APPROVE)


def keep_held(tracker: Tracker, held: dict) -> Events:
    """Holds a deploy (purpose deploy) or an approval (purpose approve) for a code, in place of
    the one of its kind held before; no events: it is a row, not a slot."""
    holds().put(tracker.sender_id, held["purpose"], requester(tracker), held)
    return []


def drop_held(tracker: Tracker, purpose: str = DEPLOY) -> Events:
    """What this conversation held for a code, of this kind, is gone (used, withdrawn, refused)."""
    holds().drop(tracker.sender_id, purpose)
    return []


def what_is_held(held: dict) -> str:
    """A held deploy said as a request ("Deploy ... to production") or a batch's restatement."""
    if held.get("batch"):
        return held["batch"]["restatement"]
    return messages.restate(DeployRequest(held["app"], held["version"], held["environment"]), catalog())


def approval_what(held: dict) -> str:
    return held.get("what") or "a deployment"


def inline(what: str) -> str:
    """A restated request inside a sentence: "your approval of deploy ..." (not "of Deploy")."""
    return what[:1].lower() + what[1:]


# -- "no", "cancel", "never mind" while something is held ---------------------------------


async def withdraw_held(dispatcher: CollectingDispatcher, tracker: Tracker, app: Optional[str] = None) -> Optional[Events]:
    """Withdraws what this user holds here (only what concerns `app`, when named): their deploy
    held for a code, their deploys waiting for approvals (asked in this conversation), their own
    approval held for their code. Each is said and audited; None when nothing was held."""
    user, events, said = requester(tracker), [], []
    held, approval = held_request(tracker), held_approval(tracker)
    if held is not None and (app is None or app in held_apps(held)):
        what = what_is_held(held)
        said.append(say.withdrawn_from_code(what))
        environment = held["batch"]["environment"] if held.get("batch") else held.get("environment")
        await asyncio.to_thread(permissions().audit, user, "deploy", "withdrawn", app=held.get("app"), environment=environment,
                                detail=f"withdrawn while waiting for a two-factor code: {what}"[:500])
        events += drop_held(tracker)
    for row in await asyncio.to_thread(approvals.store().pending_of, profile().id, tracker.sender_id, user):
        if app is not None and row.app != app:
            continue
        if not await asyncio.to_thread(approvals.store().withdraw, row.id):
            continue  # decided meanwhile: its outcome is told as usual
        what = approvals.what_of(row)
        said.append(say.withdrawn_from_approval(what))
        await asyncio.to_thread(approvals.audit, user, "withdrawn", f"withdrawn by the requester while waiting for approval: {what}", row)
        if row.batch_id:  # maybe the last app of its batch: the summary is said now or by the watcher
            summary = await asyncio.to_thread(ended_without_deployment, database(), catalog(), row.batch_id, row.app,
                                              "withdrawn by the requester")
            if summary:
                said.append(summary)
    if approval is not None and app is None:
        said.append(say.approval_not_given(inline(approval_what(approval))))
        await asyncio.to_thread(permissions().audit, user, "two_factor", "refused",
                                detail=f"approver called off their approval: {approval_what(approval)}"[:500])
        events += drop_held(tracker, APPROVE)
    if not said:
        return None
    for text in said:
        dispatcher.utter_message(text=text)
    return events


def held_apps(held: dict) -> List[str]:
    if held.get("batch"):
        return [item["app"] for item in held["batch"]["ready"]]
    return [held.get("app")]
