"""Holding something for a two-factor code (issue 14): the requester's confirmed deploy (or
batch), an approver's approval, each a row (deploybot.pipeline.held). What the
code then releases is actions/codes.py; when a deploy needs one, the pipeline says
(deploybot/pipeline/progress.py, through actions/safeguards.py).

- On Slack a code counts only in a direct message or the code modal.
- Every attempt is audited (action "two_factor"), never with the code.
"""
import asyncio
import time
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import database, from_slack, message_metadata, permissions, profile, requester
from actions.held import held_request, inline, keep_held, what_is_held
from actions.questions import clicked, show_decision
from deploybot.policy import safeguard_messages as say
from deploybot.adapters.slack import code_modal
from deploybot.adapters.slack.custom_messages import OPEN_VIEW_KEY
from deploybot.policy.two_factor import TwoFactor, TwoFactorUnavailable, cipher_from

Events = List[Dict[Text, Any]]


def two_factor() -> TwoFactor:
    """TwoFactorUnavailable when DEPLOYBOT_SECRET_KEY is missing or no Fernet key."""
    return TwoFactor(database(), cipher_from())


def audit(actor: str, outcome: str, detail: str, **details) -> None:
    permissions().audit(actor, "two_factor", outcome, detail=detail[:500],
                        **{key: (str(value)[:64] if value is not None else None) for key, value in details.items()})


def in_direct_message(tracker: Tracker) -> bool:
    """Whether a code may be given here: on Slack in the code modal (the connector marks it;
    metadata comes only from the connector) or in a direct message (channel ids starting
    with D); the terminal chat and REST are one person's conversation anyway."""
    metadata = message_metadata(tracker)
    return (not from_slack(tracker) or metadata.get(code_modal.FROM_MODAL_KEY) is True
            or str(metadata.get("out_channel") or "").startswith("D"))


async def hold_for_code(dispatcher: CollectingDispatcher, tracker: Tracker, what: str, where: dict, held: dict) -> Events:
    """Holds the confirmed deploy (or batch) for the code (a row) and asks for it; or drops
    it, saying why (no key, not enrolled, locked)."""
    metadata = message_metadata(tracker)
    user = requester(tracker)
    try:
        factor = two_factor()
        enrolled, locked = await asyncio.to_thread(factor.is_enrolled, user), await asyncio.to_thread(factor.is_locked, user)
    except TwoFactorUnavailable as problem:
        return await _dropped(dispatcher, tracker, say.unavailable(str(problem)), "no two-factor key", where)
    if message_metadata(tracker).get("build_system"):  # a build system has no phone (issue 22)
        return await _dropped(dispatcher, tracker, say.build_system_needs_code(what), "a build system cannot give a code", where)
    if locked:
        return await _dropped(dispatcher, tracker, say.locked(what), "locked", where)
    if not enrolled:
        # An enrolment waiting for its first code stays: it is a row of its own, not this deploy's.
        started = await asyncio.to_thread(factor.has_enrolment_started, user)
        return await _dropped(dispatcher, tracker, say.enrolment_unfinished(what) if started else say.not_enrolled(what),
                              "not enrolled", where)
    replaced = held_request(tracker)
    if replaced is not None:  # one deploy of one's own waits for a code at a time: say which one goes
        was = what_is_held(replaced)
        dispatcher.utter_message(text=say.hold_replaced(was))
        await asyncio.to_thread(permissions().audit, user, "deploy", "withdrawn", app=replaced.get("app"),
                                environment=replaced.get("environment") or (replaced.get("batch") or {}).get("environment"),
                                detail=f"replaced by a newer confirmed request while waiting for a two-factor code: {was}"[:500])
    held = dict(held, asked_at=time.time())
    minutes = max(1, profile().confirmation_timeout_seconds // 60)
    trigger_id = (clicked(tracker) or {}).get("trigger_id") if from_slack(tracker) else None
    if trigger_id:  # a Slack click: the code goes into a modal, never into the channel
        view = code_modal.code_view(what, metadata.get("out_channel"), metadata.get("thread_id"))
        fallback = say.ask_code(what, say.TYPE_CODE_IN_DM, minutes)
        dispatcher.utter_message(json_message={OPEN_VIEW_KEY: {"trigger_id": trigger_id, "view": view, "fallback": fallback}})
    else:
        dispatcher.utter_message(text=say.ask_code(what, say.TYPE_CODE_IN_DM if from_slack(tracker) else say.TYPE_CODE_HERE, minutes))
    show_decision(dispatcher, tracker, f"confirmed: {what}; waiting for a two-factor code")
    await asyncio.to_thread(audit, user, "asked", f"code asked for: {what}", **where)
    return keep_held(tracker, held)


async def _dropped(dispatcher, tracker, text: str, reason: str, where: dict) -> Events:
    """This deploy is not held; whatever else waits (an older held deploy, an enrolment) stays."""
    dispatcher.utter_message(text=text)
    show_decision(dispatcher, tracker, f"not deployed: {reason}")
    await asyncio.to_thread(audit, requester(tracker), "refused", f"deploy not held for a code: {reason}", **where)
    return []


async def hold_approval_for_code(dispatcher: CollectingDispatcher, tracker: Tracker, approval_id: str, what: str) -> Events:
    """approver_two_factor: the approval waits for the approver's own code (a modal after a
    Slack click, else typed; on Slack by DM)."""
    user = requester(tracker)
    try:
        factor = two_factor()
        enrolled, locked = await asyncio.to_thread(factor.is_enrolled, user), await asyncio.to_thread(factor.is_locked, user)
    except TwoFactorUnavailable as problem:
        dispatcher.utter_message(text=f"{problem} Your approval was not counted.")
        return []
    if locked or not enrolled:
        dispatcher.utter_message(text=(say.locked() if locked else f"Approvals need your own code, and you have not set up two-factor yet. {say.HOW_TO_ENROL}")
                                 + " Your approval was not counted.")
        await asyncio.to_thread(audit, user, "refused", f"approver not enrolled or locked: {what}")
        return []
    metadata = message_metadata(tracker)
    trigger_id = (clicked(tracker) or {}).get("trigger_id") if from_slack(tracker) else None
    ask = f"Your approval of {inline(what)} counts with your own code: "
    if trigger_id:
        view = code_modal.code_view(f"Approve {what}", metadata.get("out_channel"), metadata.get("thread_id"))
        dispatcher.utter_message(json_message={OPEN_VIEW_KEY: {"trigger_id": trigger_id, "view": view,
                                                               "fallback": ask + say.TYPE_CODE_IN_DM + "."}})
    else:
        dispatcher.utter_message(text=ask + (say.TYPE_CODE_IN_DM if from_slack(tracker) else say.TYPE_CODE_HERE) + ".")
    return keep_held(tracker, {"purpose": "approve", "approval": approval_id, "what": what, "asked_at": time.time(),
                               "card": clicked(tracker)})
