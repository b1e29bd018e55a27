"""A typed two-factor code (issue 14): it releases what waits for it, the requester's held
deploy (or batch) or an approver's held approval (actions/code_holds.py holds them), or it
finishes an enrolment. A code is a message of six digits (deploybot.rasa_glue.patched_rasa gives it the
intent two_factor_code, never the NLU); on Slack it counts only in a direct message: one
typed in a channel is checked at once, so it is used (or counted as wrong) and worthless to
anyone who saw it. Every attempt is audited (action "two_factor"), never with the code.
"""
import asyncio
import time
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import approvals, batches
from actions.code_holds import audit, in_direct_message, two_factor
from actions.context import catalog, clearance_rules, from_slack, permissions, pipeline_ports, profile, requester
from actions.freezes import freeze_broken
from actions.guard import DeployBotAction
from actions.held import approval_what, drop_held, held_approval, held_request, inline, what_is_held
from actions.questions import say_where
from actions.safeguards import announce_break_glass, held_request_of, start_held_deployment
from deploybot.domain import messages
from deploybot.policy import safeguard_messages as say
from deploybot.domain.deploy_request import DeployRequest, RequestRejected, confirmation_is_stale
from deploybot.policy.identity import check_requester
from deploybot.pipeline.clearance import Confirmed
from deploybot.pipeline.held import APPROVE
from deploybot.pipeline.progress import NeedsApprovals, Passed, next_stage
from deploybot.pipeline.start import why_not_allowed
from deploybot.policy.step_up import anywhere_required, code_in, looks_like_code
from deploybot.policy.two_factor import TwoFactor, TwoFactorUnavailable, Verdict

Events = List[Dict[Text, Any]]



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
            # Only deploybot.rasa_glue.patched_rasa sets this intent, but be sure; and to a bot that never
            # asks for codes (Marvin) a number is just a number.
            dispatcher.utter_message(text=say.NO_CODE_AWAITED)
            return []
        try:
            factor = two_factor()
            enrolling = held is None and approval is None and await asyncio.to_thread(factor.has_enrolment_started, user)
        except TwoFactorUnavailable as problem:
            dispatcher.utter_message(text=say.unavailable(str(problem)))
            return drop_held(tracker) + drop_held(tracker, APPROVE)
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
        cleared = (held_approval(tracker) if target is approval else held_request(tracker)) is None
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
            return drop_held(tracker, APPROVE)
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
            return drop_held(tracker, APPROVE)
        await asyncio.to_thread(audit, user, "done", "approver's code accepted")
        return await approvals.decide(dispatcher, tracker, user, held["approval"], None, code_given=True,
                                      card=held.get("card")) + drop_held(tracker, APPROVE)

    @staticmethod
    async def release(dispatcher, tracker: Tracker, factor: TwoFactor, user: str, code: str, held: dict) -> Events:
        """The held deploy goes to Jenkins when the code is right, the grant still holds and
        the confirmation is fresh; a wrong code may be tried again until the lock. A held
        batch is one code for all its apps."""
        batch = held.get("batch")
        if batch:
            what, where = batch["restatement"], {"environment": batch["environment"]}
        else:
            request = DeployRequest(held["app"], held["version"], held["environment"])
            what, where = messages.restate(request, catalog()), {"app": request.app, "environment": request.environment}
        timeout = profile().confirmation_timeout_seconds
        if confirmation_is_stale(held.get("asked_at"), time.time(), timeout):
            dispatcher.utter_message(text=say.CODE_EXPIRED.format(minutes=max(1, timeout // 60)))
            await asyncio.to_thread(audit, user, "refused", f"code came too late for: {what}", **where)
            return drop_held(tracker)
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
            return drop_held(tracker)
        await asyncio.to_thread(audit, user, "done", f"code accepted for: {what}", **where)
        if batch:  # each app's grant is checked again as it starts (actions/batches.py)
            try:
                check_requester(user, tracker.get_latest_input_channel(), None)
            except RequestRejected as rejection:
                dispatcher.utter_message(text=say.not_started(what, str(rejection)))
                return drop_held(tracker)
            text = await batches.start_all(dispatcher, tracker, batch, second_factor=True)
            say_where(dispatcher, text, batch.get("output_channel") or "rest", batch.get("reply_to"))
            return drop_held(tracker)
        return await release_held(dispatcher, tracker, held, what) + drop_held(tracker)


async def release_held(dispatcher: CollectingDispatcher, tracker: Tracker, held: dict, what: str) -> Events:
    """After the code: the requester and the grant checked again (a grant may have been revoked
    while the code was awaited; an admin's break glass needs none), then what the pipeline
    says comes next: approvals, or the start."""
    user, asked = requester(tracker), held_request_of(tracker, held)
    item = asked.items[0]
    admin_broke_glass = bool(held.get("break_glass")) and permissions().is_admin(user)
    why_not = await asyncio.to_thread(why_not_allowed, pipeline_ports(), asked, item,
                                      channel=tracker.get_latest_input_channel(), grant_needed=not admin_broke_glass)
    if why_not:
        dispatcher.utter_message(text=say.not_started(what, why_not))
        return []
    confirmed = Confirmed.BREAK_GLASS if held.get("break_glass") else Confirmed.YES
    if isinstance(next_stage(asked, item, Passed(confirmed, second_factor=True), clearance_rules()), NeedsApprovals):
        return await approvals.ask_for_approval(dispatcher, tracker, asked.deploy_request(item), item.kind, held["requested_at"],
                                                asked.output_channel, asked.reply_to, second_factor=True,
                                                start_at=asked.start_at)
    # A freeze that the break glass passes is said with it (issue 24): looked at before the start.
    through = await asyncio.to_thread(freeze_broken, item.app, asked.environment) if held.get("break_glass") else ""
    text = await start_held_deployment(asked)
    if held.get("break_glass"):
        await asyncio.to_thread(announce_break_glass, user, what, held["break_glass"], text, through)
    say_where(dispatcher, text, asked.output_channel, asked.reply_to)
    return []
