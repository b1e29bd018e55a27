"""Deployments after the yes: reports from the watcher, status, history, cancel, rollback.
The work is done in deploybot (deployments, deployer, reports); these only talk."""
import asyncio
import json
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.context import catalog, deployer, deployment_store, entity_values, first_entity, permissions, profile, profiles, requester
from actions.held import withdraw_held
from actions.deploy import refuse
from actions import why
from actions.guard import DeployBotAction
from actions.questions import ask, say_where
from actions.token_channels import counts_as_admin
from deploybot.domain.batch_store import SUMMARY, BatchStore
from deploybot.domain import messages
from deploybot.delivery import reports
from deploybot.domain.deploy_request import DeployRequest, RequestRejected, check_app, check_environment
from deploybot.adapters.jenkins.client import JenkinsError
from deploybot.domain.lock_details import stated_reason
from deploybot.domain.outbox import Outbox
from deploybot.domain.references import rollback_target

log = logging.getLogger(__name__)

def reason_of(tracker: Tracker):
    """The reason a cancel or rollback gives in its own words ("… because the config is wrong"), or None."""
    ends = [e.get("end") for e in tracker.latest_message.get("entities", [])
            if e.get("entity") in ("app", "environment", "version") and isinstance(e.get("end"), int)]
    return stated_reason(tracker.latest_message.get("text") or "", ends)


def target(tracker: Tracker, app_required: bool) -> tuple:
    """(app, environment) from the message, checked against this bot and the catalog. Cancel,
    rollback, lock and unlock act on one app and environment: several are refused, never one
    of them picked."""
    for entity in ("app", "environment"):
        named = entity_values(tracker, entity)
        if len(named) > 1:
            raise RequestRejected(messages.one_target_at_a_time(entity, named))
    app, environment = first_entity(tracker, "app"), first_entity(tracker, "environment") or profile().default_environment
    check_environment(environment, profile(), profiles(), catalog())
    if app_required and not app:
        raise RequestRejected("Which app? Say for example “… cms”.")
    if app:
        check_app(app, environment, catalog())
    return app, environment


class ActionReportDeployment(DeployBotAction):
    """Says what the watcher reports (EXTERNAL_deployment_report): a build started or ended."""

    def name(self) -> Text:
        return "action_report_deployment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        # The watcher asked, not a person: with the database unreachable the report is not
        # marked said, so the watcher sends it again later; an apology here would be noise.
        try:
            return await self.act(dispatcher, tracker, domain)
        except SQLAlchemyError as error:
            log.warning("report not said: the database is unreachable (%s)", error.__class__.__name__)
            return []

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        deployment_id, report = str(first_entity(tracker, "deployment") or ""), first_entity(tracker, "report")
        if not deployment_id.isdigit() or report not in ("start", "outcome", SUMMARY):
            return []
        outbox = Outbox(deployment_store().db)
        deployment = await asyncio.to_thread(deployment_store().get, int(deployment_id))
        row = await asyncio.to_thread(outbox.row, int(deployment_id), report)
        if not reports.belongs_here(deployment, report, profile().id, tracker.sender_id, row):
            log.warning("ignored a %s report of deployment %s in conversation %s: not this bot's, not this"
                        " conversation's, or not due", report, deployment_id, tracker.sender_id)
            return []
        # The idempotency key, in the database: a resend after a send that timed out, or one
        # that lands in a new Rasa session, finds the report said and stays silent.
        if not await asyncio.to_thread(outbox.mark_said, deployment.id, report):
            return []
        if report == SUMMARY:  # the batch's summary, after its last app's outcome (deploybot.domain.batch_store)
            if not deployment.batch_id:
                return []
            text = await asyncio.to_thread(BatchStore(deployment_store().db).summary, deployment.batch_id, catalog())
        elif report == "start":
            text = reports.start_report(deployment, catalog())
        else:
            text = reports.outcome_report(deployment, catalog())
        # Into the thread of the request on Slack.
        say_where(dispatcher, text, deployment.output_channel, json.loads(deployment.reply_to) if deployment.reply_to else None)
        return []


class ActionDeploymentStatus(DeployBotAction):
    """Running builds with elapsed time against the estimate; otherwise what each app runs."""

    def name(self) -> Text:
        return "action_deployment_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=await asyncio.to_thread(self.answer, tracker))
        return []

    @staticmethod
    def answer(tracker: Tracker) -> str:
        store, app, environment = deployment_store(), first_entity(tracker, "app"), first_entity(tracker, "environment")
        running = store.active(app, environment)
        if running:
            return "Running now:\n" + "\n".join(f"• {reports.status_line(d)}" for d in running)
        lines = []
        for app_id in [app] if app else list(catalog().apps):
            for env in [environment] if environment else list(catalog().environments):
                latest = store.history(app_id, env, limit=1)
                if latest:
                    lines.append(f"• {current_line(app_id, env, latest[0])}")
        if not lines:
            where = " ".join(x for x in (app, "on " + environment if environment else None) if x)
            return f"No deployments recorded{' for ' + where if where else ''} yet, and nothing is running."
        return "Nothing is running. Last results:\n" + "\n".join(lines)


def current_line(app: str, environment: str, latest) -> str:
    """What the environment runs, and how the last attempt went if that was not a success."""
    version = deployment_store().current_version(app, environment)
    runs = f"{version} is on {environment}" if version else f"nothing deployed to {environment} by me yet"
    line = f"{catalog().app(app).name}: {runs}"
    if latest.state != "succeeded":
        line += f"; the last deployment ({latest.version} by {latest.requested_by}) {latest.state.replace('_', ' ')}"
    elif version:
        line += f" (deployed by {latest.requested_by}, {reports.when(latest)})"
    return line


class ActionDeploymentHistory(DeployBotAction):
    def name(self) -> Text:
        return "action_deployment_history"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        app, environment = first_entity(tracker, "app"), first_entity(tracker, "environment")
        past = await asyncio.to_thread(deployment_store().history, app, environment, 10)
        where = " ".join(x for x in (app, "to " + environment if environment else None) if x)
        if not past:
            dispatcher.utter_message(text=f"No deployments{' of ' + where if where else ''} recorded yet.")
        else:
            title = f"The last {len(past)} deployments{' of ' + where if where else ''}, newest first:"
            dispatcher.utter_message(text=title + "\n" + "\n".join(f"• {reports.history_line(d)}" for d in past))
        return []


class ActionCancelDeployment(DeployBotAction):
    """Only the requester or an admin may cancel; the watcher reports it as aborted."""

    def name(self) -> Text:
        return "action_cancel_deployment"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        # "cancel the shop deployment" while it waits for a code or for approvals: withdrawn (issue 22).
        withdrawn = await withdraw_held(dispatcher, tracker, first_entity(tracker, "app"))
        if withdrawn is not None:
            return withdrawn
        try:
            text = await asyncio.to_thread(self.cancel, tracker)
        except RequestRejected as refusal:
            text = str(refusal)
            await asyncio.to_thread(permissions().audit, requester(tracker), "cancel", "refused",
                                    app=first_entity(tracker, "app"), environment=first_entity(tracker, "environment"),
                                    detail=text[:500])
        except JenkinsError as error:
            text = str(error)
        dispatcher.utter_message(text=text)
        return []

    @staticmethod
    def cancel(tracker: Tracker) -> str:
        app, environment = target(tracker, app_required=False)
        running = deployment_store().active(app, environment)
        if not running:
            return f"Nothing is being deployed{' for ' + app if app else ''} to {environment}, so there is nothing to cancel."
        if len(running) > 1:
            names = ", ".join(d.app for d in running)
            # Said, not asked: nothing waits for an answer, so a bare "cms" would start a deployment.
            return (f"Several deployments are running on {environment} ({names}), so I cancelled none of them."
                    f" Say which one, for example “cancel the {running[0].app} deployment”.")
        user = requester(tracker)
        text = deployer().cancel(running[0], user, counts_as_admin(tracker, user))
        reason = reason_of(tracker)
        if reason and text.startswith("Cancelling"):
            permissions().audit(user, "cancel", "done", app=running[0].app, environment=running[0].environment,
                                detail=f"deployment {running[0].id}: {reason}"[:500])
            text += f" Reason: {reason}."
        return text


class ActionRollback(DeployBotAction):
    """Offers the previous successful version; the yes goes through action_deploy."""

    def name(self) -> Text:
        return "action_rollback"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        try:
            app, environment = target(tracker, app_required=True)
            successes = await asyncio.to_thread(deployment_store().successes, app, environment)
            # "roll back cms" goes to the previous version, "roll back cms to 1.0.1" to that one.
            current, previous = rollback_target([d.version for d in successes], first_entity(tracker, "version"),
                                                app, environment)
            request = DeployRequest(app, previous, environment)
            # A rollback does not bypass a lock, nor any other rule: every rule that blocks, before the question.
            await asyncio.to_thread(why.check_all, request, requester(tracker))
        except RequestRejected as refusal:
            await asyncio.to_thread(refuse, dispatcher, tracker, refusal, app=first_entity(tracker, "app"))
            return []
        question = messages.rollback_question(request, current, catalog(), reason_of(tracker))
        return ask(dispatcher, tracker, request, "rollback", question)
