"""Scheduled deploys in the dialogue (issue 24, item 3): "deploy cms 1.0.3 to production at
18:00" is restated with its date and time and confirmed now, through the whole pipeline (the
yes, the code, approvals); the started stage stores it (deploybot/pipeline/schedules.py)
instead of starting it. At its time the announcer (deploybot/delivery/schedule_announcer.py)
sends EXTERNAL_scheduled_deploy here, and the requester is asked for one last yes; on that
yes everything is checked again and it starts through Deployer.start. "what's scheduled?"
lists them; "cancel my scheduled deploy" cancels (the requester's own, or any for an admin).
"""
import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import (
    catalog, check_gate, clearance_rules, database, deployment_store, first_entity, gate_blocks, locks, message_metadata,
    permissions, pipeline_ports, profile, requester, time_zone,
)
from actions.guard import DeployBotAction
from actions.questions import ask, close_pending, pending_question, say_where, show_decision
from actions.request_slots import START_SLOT, check_requester_of, clear_request
from deploybot.domain import messages, schedule_times
from deploybot.domain.deploy_request import DeployRequest, RequestRejected, confirmation_is_stale
from deploybot.domain.deployments import utc
from deploybot.domain.schedule_times import BadStart, after_the_freeze, check_start, find_start
from deploybot.pipeline import schedules
from deploybot.pipeline.progress import clearance_for
from deploybot.pipeline.request import at
from deploybot.pipeline.start import Started, start_item, why_not_allowed

Events = List[Dict[Text, Any]]


def start_said(tracker: Tracker) -> Events:
    """ActionStartDeploy: the start the message names, kept for the question (or none)."""
    now = datetime.now(time_zone())
    start = find_start(tracker.latest_message.get("text") or "", now)
    if start is None:
        return [SlotSet(START_SLOT, None)]
    if start.after_freeze:
        return [SlotSet(START_SLOT, {"after_freeze": True})]
    return [SlotSet(START_SLOT, {"at": start.at.timestamp()})]


def scheduled_for(tracker: Tracker, request: DeployRequest) -> Optional[datetime]:
    """When the request is to start (aware, the bot's zone), None for now; BadStart (or
    RequestRejected) when it cannot be scheduled, with the reason."""
    said = tracker.get_slot(START_SLOT)
    if not isinstance(said, dict):
        return None
    now = datetime.now(time_zone())
    if said.get("after_freeze"):
        start = after_the_freeze(gate_blocks(request.app, request.environment, requester(tracker)), now)
    else:
        start = datetime.fromtimestamp(float(said["at"]), time_zone())
    return check_start(start, now)


ONE_APP_AT_A_TIME = ("I schedule one app at a time: ask for each app on its own "
                     "(“deploy cms 1.0.3 at 18:00”). Nothing was scheduled.")


async def confirm(dispatcher: CollectingDispatcher, tracker: Tracker, request: DeployRequest) -> Events:
    """ActionConfirmDeploy, for a request with a start (its grant checked): the question with the
    date and time, or RequestRejected saying why it cannot be scheduled."""
    if message_metadata(tracker).get("build_system"):
        raise RequestRejected("A build system's deploy is not scheduled by me: start it when it should run. Nothing was scheduled.")
    try:
        start = await asyncio.to_thread(scheduled_for, tracker, request)
    except BadStart as problem:
        raise RequestRejected(str(problem)) from None
    events = [SlotSet("environment", request.environment), SlotSet("version", request.version)]
    kind = "promotion" if tracker.get_slot("promoted_from") else "deploy"
    return events + ask(dispatcher, tracker, request, kind, question(request, start), start_at=start.timestamp())


def on_day(moment: datetime) -> str:
    """"Tue 2026-12-08 at 18:00 CET"."""
    return schedule_times.on_day(utc(moment), time_zone())


def question(request: DeployRequest, start: datetime) -> str:
    return f"{messages.restate(request, catalog())} on {on_day(start)}? (yes/no)"


def restated_row(row) -> str:
    return messages.restate(DeployRequest(row.app, row.version, row.environment), catalog())


def audit(user: str, row, outcome: str, detail: str) -> None:
    permissions().audit(user, "schedule", outcome, app=row.app, environment=row.environment,
                        detail=f"{restated_row(row)}: {detail} ({row.id})"[:500])


def why_not_now(row, tracker: Optional[Tracker] = None) -> Optional[str]:
    """Everything checked again at the time: the requester, the grant, locks, the gate
    (a freeze), another deployment; the refusal, or None."""
    request = schedules.request_of(row, datetime.now(timezone.utc))
    item = request.items[0]
    channel = tracker.get_latest_input_channel() if tracker is not None else None
    why = why_not_allowed(pipeline_ports(), request, item, channel=channel, audit_as="scheduled: ")
    if why:
        return why
    try:
        locks().check(row.app, row.environment)
        check_gate(row.app, row.environment, row.requested_by)
        if deployment_store().active_for(row.app, row.environment) is not None:
            raise RequestRejected(f"{catalog().app(row.app).name} is being deployed to {row.environment} right now.")
    except RequestRejected as rejection:
        return str(rejection)
    return None


def plainly(why: str) -> str:
    """A refusal's reason without its own "Nothing was deployed." (the caller says it once)."""
    return why.strip().removesuffix("Nothing was deployed.").strip()


class ActionScheduledDeployDue(DeployBotAction):
    """EXTERNAL_scheduled_deploy, from the announcer only: a scheduled deploy's time has come
    (ask for the last yes, or refuse it with the reason), or its last yes did not come in time."""

    def name(self) -> Text:
        return "action_scheduled_deploy_due"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        row = await asyncio.to_thread(schedules.get, database(), str(first_entity(tracker, "schedule") or ""))
        if row is None or row.assistant != profile().id or row.conversation_id != tracker.sender_id:
            return []  # not this bot's, or not this conversation's: nothing is said
        reply_to = schedules.request_of(row, row.run_at).reply_to
        if row.state == "asked":  # unanswered for the confirmation timeout (a resend of the ask is no such thing)
            unanswered_since = datetime.now(timezone.utc) - timedelta(seconds=profile().confirmation_timeout_seconds)
            if not await asyncio.to_thread(schedules.move, database(), row.id, ("asked",), "expired",
                                           asked_before=unanswered_since, outcome="no answer in time"):
                return []
            await asyncio.to_thread(audit, row.requested_by, row, "expired", "no yes in time, not deployed")
            say_where(dispatcher, f"You did not answer in time, so {restated_row(row)} was not deployed.",
                      row.output_channel, reply_to)
            pending = pending_question(tracker)
            return close_pending(tracker, "expired") + clear_request() if pending and pending.get("schedule") == row.id else []
        if row.state != "scheduled":
            return []
        why = await asyncio.to_thread(why_not_now, row)
        if why:
            if await asyncio.to_thread(schedules.move, database(), row.id, ("scheduled",), "refused", outcome=why[:500]):
                await asyncio.to_thread(audit, row.requested_by, row, "refused", f"at its time: {why}")
                say_where(dispatcher, f"It's time for your scheduled {restated_row(row)}, but I can't: {plainly(why)} "
                          "Nothing was deployed.", row.output_channel, reply_to)
            return []
        if not await asyncio.to_thread(schedules.move, database(), row.id, ("scheduled",), "asked",
                                       asked_at=datetime.now(timezone.utc)):
            return []  # another replica asked already
        await asyncio.to_thread(audit, row.requested_by, row, "asked", "the last yes asked for")
        request = DeployRequest(row.app, row.version, row.environment)
        text = f"It's time for your scheduled deploy: {messages.restate(request, catalog())} now? (yes/no)"
        return ask(dispatcher, tracker, request, row.kind, text, schedule=row.id) + [SlotSet(START_SLOT, None)]


async def last_yes(dispatcher: CollectingDispatcher, tracker: Tracker, pending: dict) -> Events:
    """ActionDeploy, for the yes to a scheduled deploy's last question (already checked to be a
    yes, here, to this question): everything checked again, then the start, with the clearance
    the pipeline issues for what was given when it was scheduled (the code, the approvals)."""
    row = await asyncio.to_thread(schedules.get, database(), pending["schedule"])
    done = close_pending(tracker, "confirmed") + clear_request()
    if row is None or row.requested_by != requester(tracker) or row.state != "asked":
        dispatcher.utter_message(text=f"That scheduled deploy is {row.state if row else 'gone'}: nothing was deployed.")
        return done
    what = restated_row(row)
    if confirmation_is_stale(pending.get("asked_at"), time.time(), profile().confirmation_timeout_seconds):
        if await asyncio.to_thread(schedules.move, database(), row.id, ("asked",), "expired", outcome="yes too late"):
            await asyncio.to_thread(audit, row.requested_by, row, "expired", "the yes came too late, not deployed")
        dispatcher.utter_message(text=f"That yes came too late, so {what} was not deployed.")
        return done
    try:
        check_requester_of(tracker)
    except RequestRejected as rejection:
        dispatcher.utter_message(text=str(rejection))
        return done
    why = await asyncio.to_thread(why_not_now, row, tracker)
    if why:
        if await asyncio.to_thread(schedules.move, database(), row.id, ("asked",), "refused", outcome=why[:500]):
            await asyncio.to_thread(audit, row.requested_by, row, "refused", f"at the last yes: {why}")
        dispatcher.utter_message(text=f"I can't deploy your scheduled {what}: {plainly(why)} Nothing was deployed.")
        show_decision(dispatcher, tracker, f"not deployed: {why}")
        return done
    if not await asyncio.to_thread(schedules.move, database(), row.id, ("asked",), "started"):
        dispatcher.utter_message(text=f"Your scheduled {what} was answered already.")
        return done
    request = schedules.request_of(row, at(pending["asked_at"]))
    item = request.items[0]
    clearance = clearance_for(request, item, schedules.passed(row), clearance_rules())
    outcome = await asyncio.to_thread(start_item, pipeline_ports(), request, item, clearance, "scheduled: ")
    if isinstance(outcome, Started):
        active = await asyncio.to_thread(deployment_store().active_for, row.app, row.environment)
        await asyncio.to_thread(schedules.move, database(), row.id, ("started",), "started",
                                deployment_id=active.id if active else None, outcome="started")
        await asyncio.to_thread(audit, row.requested_by, row, "started", "started after the last yes")
        show_decision(dispatcher, tracker, f"confirmed: {what}")
    else:
        await asyncio.to_thread(schedules.move, database(), row.id, ("started",), "refused", outcome=outcome.why[:500])
        show_decision(dispatcher, tracker, f"not deployed: {outcome.why}")
    say_where(dispatcher, outcome.text if isinstance(outcome, Started) else outcome.why, row.output_channel,
              request.reply_to)
    return done


async def declined(tracker: Tracker) -> None:
    """ActionDenyDeploy: a no to a scheduled deploy's last question cancels it (audited)."""
    pending = pending_question(tracker)
    if not pending or not pending.get("schedule"):  # ActionDenyDeploy checked it answers this question
        return
    row = await asyncio.to_thread(schedules.get, database(), pending["schedule"])
    user = requester(tracker)
    if row is not None and row.requested_by == user and await asyncio.to_thread(
            schedules.move, database(), row.id, ("asked",), "cancelled", ended_by=user, outcome="no at the last question"):
        await asyncio.to_thread(audit, user, row, "cancelled", "no at the last question")


class ActionListScheduledDeploys(DeployBotAction):
    """"what's scheduled?": this bot's scheduled deploys still to happen."""

    def name(self) -> Text:
        return "action_list_scheduled_deploys"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        rows = await asyncio.to_thread(schedules.waiting, database(), profile().id)
        if not rows:
            dispatcher.utter_message(text="Nothing is scheduled.")
            return []
        lines = [f"• {restated_row(row)} on {on_day(row.run_at)}, "
                 f"for {row.requested_by}{' (asking now)' if row.state == 'asked' else ''}" for row in rows]
        dispatcher.utter_message(text="Scheduled:\n" + "\n".join(lines))
        return []


class ActionCancelScheduledDeploy(DeployBotAction):
    """"cancel my scheduled deploy" (of cms): the requester's own; an admin may cancel anyone's."""

    def name(self) -> Text:
        return "action_cancel_scheduled_deploy"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user, app = requester(tracker), first_entity(tracker, "app")
        rows = [row for row in await asyncio.to_thread(schedules.waiting, database(), profile().id)
                if app is None or row.app == app]
        admin = await asyncio.to_thread(permissions().is_admin, user)
        mine = [row for row in rows if row.requested_by == user or admin]
        if not mine:
            if rows:  # someone else's: only they or an admin may cancel it
                await asyncio.to_thread(audit, user, rows[0], "refused", "cancel by someone else")
                dispatcher.utter_message(text=f"{restated_row(rows[0])} was scheduled by {rows[0].requested_by}: "
                                              "only they or an admin can cancel it. Nothing was cancelled.")
            else:
                dispatcher.utter_message(text="You have no scheduled deploy to cancel.")
            return []
        if len(mine) > 1 and app is None and len({row.app for row in mine}) > 1:
            names = ", ".join(catalog().app(row.app).name for row in mine)
            dispatcher.utter_message(text=f"Which one? Scheduled: {names}. Say for example “cancel the scheduled deploy of {mine[0].app}”.")
            return []
        cancelled = []
        for row in mine:
            if await asyncio.to_thread(schedules.move, database(), row.id, schedules.WAITING, "cancelled", ended_by=user,
                                       outcome=f"cancelled by {user}"):
                await asyncio.to_thread(audit, user, row, "cancelled", f"cancelled by {user}")
                cancelled.append(restated_row(row))
        dispatcher.utter_message(text=("Cancelled, nothing will be deployed: " + "; ".join(cancelled) + ".") if cancelled
                                 else "That scheduled deploy has just been answered or cancelled already.")
        pending = pending_question(tracker)
        if pending and pending.get("schedule") and cancelled:
            return close_pending(tracker, "cancelled") + clear_request()
        return []
