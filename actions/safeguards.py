"""Production safeguards in the dialogue: a second factor (TOTP code) between the yes and
Jenkins, enrolment in a direct message, and an admin's reset (issue 14).

- After the yes, a deploy that needs a code (deploybot.step_up decides) is held in the
  step_up slot and the requester is asked for a code; nothing reaches Jenkins until a
  code is accepted, the grant is checked again and the confirmation has not gone stale.
- A code is a message of six digits (deploybot.patched_rasa gives it the intent
  two_factor_code, never the NLU). On Slack a code counts only in a direct message: one
  typed in a channel is refused and checked at once, so it is used (or counted as wrong)
  and worthless to anyone who saw it.
- Every attempt is audited (action "two_factor"), never with the code; no reply repeats it.
"""
import asyncio
import logging
import os
import re
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import (
    catalog, database, deployer, entity_values, first_entity, from_slack, message_metadata, permissions, profile, profiles, requester,
    slack_directory,
)
from actions import approvals
from actions.guard import DeployBotAction
from actions.held import (  # noqa: F401 (STEP_UP_SLOT, held_request: actions.corrections reads them here)
    APPROVAL_STEP_UP_SLOT, STEP_UP_SLOT, approval_what, held_approval, held_request, inline, what_is_held,
)
from actions.permissions import UnknownUser, named_user, shown_as
from actions.token_channels import refused_over_token_channel
from actions.questions import clicked, say_where, show_decision
from deploybot import messages
from deploybot import safeguard_messages as say
from deploybot.deploy_request import DeployRequest, RequestRejected, build_request, confirmation_is_stale
from deploybot.deployments import NewDeployment
from deploybot.identity import check_requester
from deploybot.jenkins.client import JenkinsError
from deploybot.notifier import AllOf, local_notifier
from deploybot.slack.notifier import SlackNotifier
from deploybot.storage.database import var_dir
from deploybot.slack import code_modal, web_api
from deploybot.slack.custom_messages import OPEN_VIEW_KEY
from deploybot.step_up import anywhere_required, code_in, looks_like_code, two_factor_required
from deploybot.terminal_chat import post_privately
from deploybot.two_factor import Enrolment, TwoFactor, TwoFactorUnavailable, Verdict, cipher_from

log = logging.getLogger(__name__)
Events = List[Dict[Text, Any]]
QR_FILENAME = "deploybot-two-factor.png"
QR_TITLE = "QR code for your authenticator app"


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


# -- the hook in ActionDeploy: between the yes and Jenkins ---------------------------------


async def hold_before_jenkins(dispatcher: CollectingDispatcher, tracker: Tracker, request: DeployRequest,
                              kind: str, asked_at: float, break_glass: Optional[str] = None) -> Optional[Events]:
    """None when this deploy needs neither a code nor approvals (the caller deploys at once);
    otherwise the events that hold it for a code or for approvals, or that drop it (no key,
    not enrolled, locked) with the reason said. A break-glass deploy always needs a code."""
    metadata = message_metadata(tracker)
    if not break_glass and not two_factor_required(profile(), catalog(), request.app, request.environment):
        if not approvals.needs_approval(request):
            return None
        reply_to = {"channel": metadata.get("out_channel"), "thread_ts": metadata.get("thread_id")} if from_slack(tracker) else None
        show_decision(dispatcher, tracker, f"confirmed: {messages.restate(request, catalog())}; waiting for approval")
        return await approvals.ask_for_approval(dispatcher, tracker, request, kind, asked_at,
                                                tracker.get_latest_input_channel() or "rest", reply_to, second_factor=False)
    held = {
        "purpose": "deploy", "break_glass": break_glass, "app": request.app, "version": request.version,
        "environment": request.environment, "kind": kind, "requested_at": asked_at,
        "output_channel": tracker.get_latest_input_channel() or "rest",
        "reply_to": {"channel": metadata.get("out_channel"), "thread_ts": metadata.get("thread_id")} if from_slack(tracker) else None,
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


async def hold_for_code(dispatcher: CollectingDispatcher, tracker: Tracker, what: str, where: dict, held: dict) -> Events:
    """Holds the confirmed deploy (or batch) in the step_up slot and asks for the code; or drops
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
    return [SlotSet(STEP_UP_SLOT, held)]


async def _dropped(dispatcher, tracker, text: str, reason: str, where: dict) -> Events:
    """This deploy is not held; whatever else waits (an older held deploy, an enrolment) stays."""
    dispatcher.utter_message(text=text)
    show_decision(dispatcher, tracker, f"not deployed: {reason}")
    await asyncio.to_thread(audit, requester(tracker), "refused", f"deploy not held for a code: {reason}", **where)
    return []


# -- a typed code ------------------------------------------------------------------------


class ActionTwoFactorCode(DeployBotAction):
    """A six-digit message (or one that tries to be): the code a held deploy, an approver's
    held approval or an unfinished enrolment waits for. With a deploy and an approval both
    held, the code goes to the one asked for last; the other keeps waiting and is named."""

    def name(self) -> Text:
        return "action_two_factor_code"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user, text = requester(tracker), tracker.latest_message.get("text") or ""
        code = code_in(text)
        held, approval = held_request(tracker), held_approval(tracker)
        if not looks_like_code(text) or (held is None and approval is None and not anywhere_required(profile(), catalog())):
            # Only deploybot.patched_rasa sets this intent, but be sure; and to a bot that never
            # asks for codes (Marvin) a number is just a number.
            dispatcher.utter_message(text=say.NO_CODE_AWAITED)
            return []
        try:
            factor = two_factor()
            enrolling = held is None and approval is None and await asyncio.to_thread(factor.has_enrolment_started, user)
        except TwoFactorUnavailable as problem:
            dispatcher.utter_message(text=say.unavailable(str(problem)))
            return [SlotSet(STEP_UP_SLOT, None), SlotSet(APPROVAL_STEP_UP_SLOT, None)]
        # The code goes to what was asked for last; the other (if any) keeps waiting.
        target = max((h for h in (held, approval) if h), key=lambda h: h.get("asked_at") or 0, default=None)
        if code is None:  # "1234567", "123-456": not a code; said, never counted as a wrong one
            if target is None and not enrolling:
                dispatcher.utter_message(text=say.NO_CODE_AWAITED)
                return []
            awaited = ("to finish setting up two-factor" if target is None else
                       f"for your approval of {inline(approval_what(target))}" if target is approval else
                       f"for {inline(what_is_held(target))}")
            dispatcher.utter_message(text=say.not_a_code(awaited, await asyncio.to_thread(factor.tries_left, user)))
            await asyncio.to_thread(audit, user, "refused", f"not a code (a code awaited {awaited})")
            return []
        if not in_direct_message(tracker):
            return await self.burn(dispatcher, factor, user, code)
        if target is None and enrolling:
            return await self.confirm_enrolment(dispatcher, factor, user, code)
        if target is None:
            # Still checked, so that a code which nothing awaited is spent: the tracker keeps its text.
            verdict = await asyncio.to_thread(factor.verify, user, code)
            spent = verdict in (Verdict.ACCEPTED, Verdict.WRONG, Verdict.REPLAYED)
            dispatcher.utter_message(text=say.NO_CODE_AWAITED + (say.SPENT if spent else ""))
            if spent:
                await asyncio.to_thread(audit, user, "refused", f"code with nothing awaiting it, spent ({verdict.value})")
            return []
        if target is approval:
            events = await self.approve_with_code(dispatcher, tracker, factor, user, code, approval)
            other = held
        else:
            events = await self.release(dispatcher, tracker, factor, user, code, held)
            other = approval
        cleared = any(e.get("name") in (STEP_UP_SLOT, APPROVAL_STEP_UP_SLOT) and e.get("value") is None for e in events)
        if other is not None and cleared:
            dispatcher.utter_message(text=say.still_waiting(
                f"Your approval of {inline(approval_what(other))}" if other is approval else what_is_held(other)))
        return events

    @staticmethod
    async def burn(dispatcher, factor: TwoFactor, user: str, code: str) -> Events:
        """A code in a channel: checked now, so it cannot be used again (or counts as wrong)."""
        verdict = await asyncio.to_thread(factor.verify, user, code)
        # During the backoff nothing is checked, so nothing is used up: never say it was.
        dispatcher.utter_message(text=say.CODE_IN_CHANNEL_UNCHECKED if verdict is Verdict.WAIT else say.CODE_IN_CHANNEL)
        await asyncio.to_thread(audit, user, "refused", f"code typed in a channel, burnt ({verdict.value})")
        return []

    @staticmethod
    async def confirm_enrolment(dispatcher, factor: TwoFactor, user: str, code: str) -> Events:
        verdict = await asyncio.to_thread(factor.confirm_enrolment, user, code)
        if verdict is Verdict.ACCEPTED:
            dispatcher.utter_message(text=say.ENROLLED)
            await asyncio.to_thread(audit, user, "done", "enrolment confirmed")
            return []
        await asyncio.to_thread(audit, user, "refused", f"enrolment code {verdict.value}")
        if verdict is Verdict.LOCKED:
            dispatcher.utter_message(text=say.locked())
            return []
        if verdict is Verdict.NOT_ENROLLED:  # confirmed meanwhile, or reset
            dispatcher.utter_message(text=say.ALREADY_ENROLLED if await asyncio.to_thread(factor.is_enrolled, user) else say.HOW_TO_ENROL)
            return []
        left = await asyncio.to_thread(factor.tries_left, user)
        if verdict is Verdict.WAIT:
            dispatcher.utter_message(text=say.wait_before_next(await asyncio.to_thread(factor.wait_seconds, user), left))
            return []
        dispatcher.utter_message(text=f"{say.ENROL_WRONG} {say.tries_left(left)}")
        return []

    @staticmethod
    async def approve_with_code(dispatcher, tracker: Tracker, factor: TwoFactor, user: str, code: str, held: dict) -> Events:
        """An approver's own code (approver_two_factor): right, and the approval counts."""
        timeout = profile().confirmation_timeout_seconds
        if confirmation_is_stale(held.get("asked_at"), time.time(), timeout):
            dispatcher.utter_message(text="That code came too late for your approval, so your approval was not counted: approve again.")
            return [SlotSet(APPROVAL_STEP_UP_SLOT, None)]
        verdict = await asyncio.to_thread(factor.verify, user, code)
        if verdict is not Verdict.ACCEPTED:
            await asyncio.to_thread(audit, user, "refused", f"approver's code {verdict.value}")
            left = await asyncio.to_thread(factor.tries_left, user)
            if verdict is Verdict.WAIT:
                wait = await asyncio.to_thread(factor.wait_seconds, user)
                dispatcher.utter_message(text=say.wait_before_next(wait, left).replace("Nothing was deployed yet.", "Your approval is not counted yet."))
                return []
            if verdict in (Verdict.WRONG, Verdict.REPLAYED):
                text = say.APPROVER_WRONG_CODE if verdict is Verdict.WRONG else say.REPLAYED_CODE
                dispatcher.utter_message(text=f"{text} {say.tries_left(left)}")
                return []
            dispatcher.utter_message(text=(say.locked() if verdict is Verdict.LOCKED else say.HOW_TO_ENROL) + " Your approval was not counted.")
            return [SlotSet(APPROVAL_STEP_UP_SLOT, None)]
        await asyncio.to_thread(audit, user, "done", "approver's code accepted")
        return await approvals.decide(dispatcher, tracker, user, held["approval"], None, code_given=True,
                                      card=held.get("card")) + [SlotSet(APPROVAL_STEP_UP_SLOT, None)]

    @staticmethod
    async def release(dispatcher, tracker: Tracker, factor: TwoFactor, user: str, code: str, held: dict) -> Events:
        """The held deploy goes to Jenkins when the code is right, the grant still holds and
        the confirmation is fresh; a wrong code may be tried again until the lock. A held
        batch is one code for all its apps."""
        batch = held.get("batch")
        if batch:
            request, what, where = None, batch["restatement"], {"environment": batch["environment"]}
        else:
            request = DeployRequest(held["app"], held["version"], held["environment"])
            what, where = messages.restate(request, catalog()), {"app": request.app, "environment": request.environment}
        timeout = profile().confirmation_timeout_seconds
        if confirmation_is_stale(held.get("asked_at"), time.time(), timeout):
            dispatcher.utter_message(text=say.CODE_EXPIRED.format(minutes=max(1, timeout // 60)))
            await asyncio.to_thread(audit, user, "refused", f"code came too late for: {what}", **where)
            return [SlotSet(STEP_UP_SLOT, None)]
        verdict = await asyncio.to_thread(factor.verify, user, code)
        if verdict is not Verdict.ACCEPTED:
            await asyncio.to_thread(audit, user, "refused", f"code {verdict.value} for: {what}", **where)
            left = await asyncio.to_thread(factor.tries_left, user)
            if verdict is Verdict.WAIT:
                dispatcher.utter_message(text=say.wait_before_next(await asyncio.to_thread(factor.wait_seconds, user), left))
                return []
            if verdict in (Verdict.WRONG, Verdict.REPLAYED):
                text = say.wrong_code(left) if verdict is Verdict.WRONG else f"{say.REPLAYED_CODE} {say.tries_left(left)}"
                dispatcher.utter_message(text=text + (say.ON_SLACK_IN_DM if from_slack(tracker) else ""))
                return []
            dispatcher.utter_message(text=say.locked(what) if verdict is Verdict.LOCKED else say.not_enrolled(what))
            return [SlotSet(STEP_UP_SLOT, None)]
        await asyncio.to_thread(audit, user, "done", f"code accepted for: {what}", **where)
        if batch:  # each app's grant is checked again as it starts (actions/batches.py)
            from actions import batches

            try:
                check_requester(user, tracker.get_latest_input_channel(), None)
            except RequestRejected as rejection:
                dispatcher.utter_message(text=say.not_started(what, str(rejection)))
                return [SlotSet(STEP_UP_SLOT, None)]
            text = await batches.start_all(dispatcher, tracker, batch, second_factor=True)
            say_where(dispatcher, text, batch.get("output_channel") or "rest", batch.get("reply_to"))
            return [SlotSet(STEP_UP_SLOT, None)]
        try:  # a grant may have been revoked while the code was awaited
            check_requester(user, tracker.get_latest_input_channel(), None)
            if not (held.get("break_glass") and permissions().is_admin(user)):  # an admin's break glass needs no grant
                await asyncio.to_thread(permissions().check_may_deploy, user, request)
        except RequestRejected as rejection:
            dispatcher.utter_message(text=say.not_started(what, str(rejection)))
            await asyncio.to_thread(permissions().audit, user, "deploy", "refused", detail=str(rejection)[:500], **where)
            return [SlotSet(STEP_UP_SLOT, None)]
        if not held.get("break_glass") and approvals.needs_approval(request):
            events = await approvals.ask_for_approval(dispatcher, tracker, request, held.get("kind") or "deploy", held["requested_at"],
                                                      held.get("output_channel") or "rest", held.get("reply_to"), second_factor=True)
            return events + [SlotSet(STEP_UP_SLOT, None)]
        text = await start_held_deployment(tracker, request, held)
        if held.get("break_glass"):
            await asyncio.to_thread(announce_break_glass, user, what, held["break_glass"], text)
        say_where(dispatcher, text, held.get("output_channel") or "rest", held.get("reply_to"))
        return [SlotSet(STEP_UP_SLOT, None)]


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
    return [SlotSet(APPROVAL_STEP_UP_SLOT, {"purpose": "approve", "approval": approval_id, "what": what, "asked_at": time.time(),
                                            "card": clicked(tracker)})]


def announce_break_glass(user: str, what: str, reason: str, outcome: str) -> None:
    """A deploy without approvals: the management channel and the audit log hear of it at once."""
    text = f"Break glass: {user} skipped approvals for {what}. Reason: {reason}. {outcome}"
    permissions().audit(user, "break_glass", "done", detail=f"{what}. Reason: {reason}"[:500])
    channel = profile().management_channel
    if channel:
        management_notifier().post(channel, text)


def management_notifier():
    """Where production successes are posted (as the watcher does): the local log or chat, and Slack."""
    notifier = local_notifier(var_dir(), os.environ.get("DEPLOYBOT_MANAGEMENT_URL"))
    directory = slack_directory()
    return AllOf([notifier, SlackNotifier(directory)]) if directory is not None else notifier


async def start_held_deployment(tracker: Tracker, request: DeployRequest, held: dict) -> str:
    """Records and triggers it, reporting to where the request was made (not where the code was)."""
    new = NewDeployment(
        assistant=profile().id, request=request, kind=held.get("kind") or "deploy", requested_by=requester(tracker),
        conversation_id=tracker.sender_id, output_channel=held.get("output_channel") or "rest",
        requested_at=datetime.fromtimestamp(held["requested_at"], tz=timezone.utc), reply_to=held.get("reply_to"),
        safeguards={"second_factor": True, "break_glass_reason": held.get("break_glass")},
    )
    try:
        return await asyncio.to_thread(deployer().start, new)
    except (RequestRejected, JenkinsError) as refusal:  # a lock, another deployment, no Jenkins
        await asyncio.to_thread(permissions().audit, requester(tracker), "deploy", "refused", app=request.app,
                                environment=request.environment, detail=str(refusal)[:500])
        return say.not_started(messages.restate(request, catalog()), str(refusal))


# -- enrolment and reset -----------------------------------------------------------------


class ActionSetUpTwoFactor(DeployBotAction):
    """"set up two-factor": a new secret, shown only to the user: on Slack in a DM, elsewhere
    by the terminal chat itself; never said in the conversation (tracker, API answers). Over a
    token channel only when the profile allows it (actions/token_channels.py)."""

    def name(self) -> Text:
        return "action_set_up_two_factor"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user = requester(tracker)
        if await asyncio.to_thread(refused_over_token_channel, "enrol", dispatcher, tracker):
            return []
        try:
            factor = two_factor()
            enrolment = await asyncio.to_thread(factor.start_enrolment, user, f"{profile().name}:{user}")
        except TwoFactorUnavailable as problem:
            dispatcher.utter_message(text=str(problem))
            return []
        if enrolment is None:
            dispatcher.utter_message(text=say.ALREADY_ENROLLED)
            return []
        if from_slack(tracker):
            if not await asyncio.to_thread(send_enrolment_dm, user, enrolment):
                await asyncio.to_thread(factor.reset, user)  # an enrolment nobody saw must not linger
                dispatcher.utter_message(text=say.ENROL_DM_FAILED)
                await asyncio.to_thread(audit, user, "refused", "enrolment: no direct message")
                return []
            if not in_direct_message(tracker):
                dispatcher.utter_message(text=say.ENROL_SENT_BY_DM)
        else:  # the terminal chat shows it itself: the conversation (tracker, API answers) never holds it
            if not await asyncio.to_thread(show_in_terminal_chat, user, enrolment):
                await asyncio.to_thread(factor.reset, user)
                dispatcher.utter_message(text=say.ENROL_NO_CHAT)
                await asyncio.to_thread(audit, user, "refused", "enrolment: no terminal chat to show it in")
                return []
            dispatcher.utter_message(text=say.ENROL_SHOWN_IN_CHAT)
        await asyncio.to_thread(audit, user, "done", "enrolment started")
        # The unfinished enrolment is its database row: no slot is set, so a deploy that waits
        # for its code in step_up keeps waiting (each held item has its own place).
        return []


def show_in_terminal_chat(user: str, enrolment: Enrolment) -> bool:
    """The QR code as text and the link, posted straight into the terminal chat
    (DEPLOYBOT_CALLBACK_URL, which carries the chat's key), not said in the conversation."""
    url = os.environ.get("DEPLOYBOT_CALLBACK_URL")
    return bool(url) and post_privately(url, user, say.enrol_started(enrolment.uri, enrolment.qr_terminal))


def send_enrolment_dm(user: str, enrolment: Enrolment) -> bool:
    """The otpauth:// link and the QR code image, in the user's DM with this bot and nowhere
    else; when Slack does not take the image, the QR code as text in a code block instead."""
    directory = slack_directory()
    if directory is None:
        return False
    client = directory.client
    opened = web_api.run_sync(client, web_api.single_call("conversations.open", {"users": user}, user))
    if not opened.delivered or not opened.channel.startswith("D"):  # only a DM may hold the secret
        return False
    image = web_api.upload_file_sync(client, opened.channel, QR_FILENAME, enrolment.qr_png, QR_TITLE,
                                     say.enrol_started_with_image(enrolment.uri), alt_txt=QR_TITLE)
    if image.delivered:
        return True
    log.warning("the enrolment QR code image for %s could not be sent (%s); sending the QR code as text instead",
                user, image.error)
    text = say.enrol_started(enrolment.uri, enrolment.qr_terminal)
    qr_start = text.index("\n") + 1
    qr_end = text.index("\notpauth://")
    in_blocks = text[:qr_start] + "```" + text[qr_start:qr_end] + "```" + text[qr_end:]
    return web_api.post_message_sync(client, opened.channel, in_blocks).delivered


class ActionResetTwoFactor(DeployBotAction):
    """"reset two-factor for @theresa": admins only; audited."""

    def name(self) -> Text:
        return "action_reset_two_factor"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        actor = requester(tracker)
        if await asyncio.to_thread(refused_over_token_channel, "reset_two_factor", dispatcher, tracker):
            return []
        try:
            user = await asyncio.to_thread(named_user, tracker)
        except UnknownUser as unknown:
            dispatcher.utter_message(text=str(unknown))
            return []
        if not permissions().is_admin(actor):
            dispatcher.utter_message(text=say.RESET_ONLY_ADMINS)
            await asyncio.to_thread(permissions().audit, actor, "two_factor_reset", "refused", target_user=(user or "")[:64] or None,
                                    detail="not an admin")
            return []
        if not user:
            dispatcher.utter_message(text=say.RESET_WHO)
            return []
        label = await asyncio.to_thread(shown_as, tracker, user)
        try:
            removed = await asyncio.to_thread(two_factor().reset, user)
        except TwoFactorUnavailable as problem:
            dispatcher.utter_message(text=str(problem))
            return []
        await asyncio.to_thread(permissions().audit, actor, "two_factor_reset", "done" if removed else "unchanged",
                                target_user=user[:64])
        dispatcher.utter_message(text=say.reset_done(label) if removed else say.reset_nothing(label))
        return []


# -- break glass -------------------------------------------------------------------------

BREAK_GLASS_REASON = re.compile(r"reason\s*:\s*(?P<reason>.+)$", re.IGNORECASE | re.DOTALL)


class ActionEmergencyDeploy(DeployBotAction):
    """"emergency deploy cms 1.0.3, reason: outage INC-123": an admin skips the approvals,
    never the second factor; the management channel and the audit log hear of it at once."""

    def name(self) -> Text:
        return "action_emergency_deploy"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user = requester(tracker)
        found = BREAK_GLASS_REASON.search(tracker.latest_message.get("text") or "")
        reason = found.group("reason").strip()[:300] if found else ""
        if await asyncio.to_thread(refused_over_token_channel, "break_glass", dispatcher, tracker):
            return []
        if not permissions().is_admin(user):
            dispatcher.utter_message(text="Only an admin can deploy in an emergency without approvals. Nothing was deployed.")
            await asyncio.to_thread(permissions().audit, user, "break_glass", "refused", detail="not an admin")
            return []
        if len(reason) < 3:
            dispatcher.utter_message(text="An emergency deploy needs a written reason, for example "
                                          "“emergency deploy cms 1.0.3, reason: outage INC-123”. Nothing was deployed.")
            return []
        several = [name for name in ("app", "version", "environment") if len(entity_values(tracker, name)) > 1]
        if several:  # never one of several; an emergency is one app at a time
            dispatcher.utter_message(text=f"An emergency deploy is one app at a time, and you named several {several[0]}s"
                                          f" ({', '.join(entity_values(tracker, several[0]))}). Nothing was deployed.")
            return []
        try:
            check_requester(user, tracker.get_latest_input_channel(), None)
            request = build_request(first_entity(tracker, "app"), first_entity(tracker, "version"),
                                    first_entity(tracker, "environment"), profile(), profiles(), catalog())
        except RequestRejected as rejection:
            dispatcher.utter_message(text=f"{rejection} Nothing was deployed.")
            await asyncio.to_thread(permissions().audit, user, "break_glass", "refused", detail=str(rejection)[:500])
            return []
        events = await hold_before_jenkins(dispatcher, tracker, request, "deploy", time.time(), break_glass=reason)
        return events or []
