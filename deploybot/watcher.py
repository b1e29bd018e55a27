"""The watcher follows each deployment from the Jenkins queue to its result and reports it.

- It runs inside each bot's action server and looks after that bot's deployments only. It polls
  every few seconds (the safety net) and looks at once when Jenkins' Notification plugin
  pushes. A push only says "look now": what counts is what the Jenkins API answers, so a
  forged push cannot fake a result, and a burst of pushes makes one more round, not many.
- Its rounds run one at a time on a thread of their own; a round first asks Jenkins about
  every deployment, then sends the reports due, a few at a time on threads of their own.
  Sending a report makes Rasa call this action server back, so the watcher must never
  occupy the threads the actions need.
- After a restart it simply finds the unfinished deployments in the database again.
- The build number is recorded as soon as it is known: Jenkins forgets queue items.
- Each report is claimed in the database before it is sent, so two watchers (replicas, or
  a push racing a poll) never send one twice. A send that timed out may still have been
  said, so it is sent again and the report action stays silent if the conversation already
  has it (reports.already_said). The outcome follows the start report.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping, Optional

from deploybot.catalog import Catalog
from deploybot.deployments import FINAL_STATES, STATE_OF_RESULT, DeploymentStore, now, utc
from deploybot.jenkins.client import JenkinsClient, JenkinsError
from deploybot.messages import format_duration
from deploybot.notifier import Notifier
from deploybot.profiles import AssistantProfile
from deploybot.reports import RasaReporter, management_post
from deploybot.storage.models import Deployment

log = logging.getLogger(__name__)
# A deployment still "confirmed" has no queue id: Jenkins did not answer the trigger in time,
# or the action server died while asking. Jenkins may have the build anyway, so it is looked
# for by its parameters; after this long without a trace it is recorded as not started.
STUCK_CONFIRMED = timedelta(seconds=90)
# How far a Jenkins clock behind ours may be when matching a build to the yes that asked for it.
CLOCK_SKEW = timedelta(minutes=2)
CONSOLE_LINES = 10
REPORT_SENDERS = 4


def from_epoch_ms(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc)


@dataclass
class Watcher:
    store: DeploymentStore
    jenkins: JenkinsClient
    reporter: RasaReporter
    notifier: Notifier
    profiles: Mapping[str, AssistantProfile]
    catalog: Catalog
    assistant: str
    poll_seconds: float = 5.0
    build_timeout_seconds: float = 1800.0

    def __post_init__(self):
        self._wake: Optional[asyncio.Event] = None
        # Reports of different deployments go out side by side; one deployment's two
        # reports stay in order (_report sends the start before the outcome).
        self._senders = ThreadPoolExecutor(max_workers=REPORT_SENDERS, thread_name_prefix="reports")

    # -- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        log.info("watching %s's deployments every %s s", self.assistant, self.poll_seconds)
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        rounds = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watcher")
        while True:
            try:
                await loop.run_in_executor(rounds, self.round)
            except Exception:  # never let one bad round stop the watching
                log.exception("watcher round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    def wake(self) -> None:
        """Jenkins pushed: look now (call from the action server's event loop)."""
        if self._wake is not None:
            self._wake.set()

    def round(self) -> None:
        ids = [deployment.id for deployment in self.store.needing_attention(self.assistant)]
        # Jenkins first, for all: a finished build frees its app and environment at once,
        # however long the reports then take (each is a full Rasa turn, slow under load).
        for deployment_id in ids:
            self._safely(self.follow, deployment_id)
        list(self._senders.map(lambda deployment_id: self._safely(self.report, deployment_id), ids))

    @staticmethod
    def _safely(step, deployment_id: int) -> None:
        try:
            step(deployment_id)
        except Exception:  # one deployment's trouble must not hold up the others
            log.exception("deployment %s: %s failed; trying again next round", deployment_id, step.__name__)

    # -- one deployment ------------------------------------------------------------------

    def follow(self, deployment_id: int) -> None:
        deployment = self.store.get(deployment_id)
        try:
            if deployment.state == "confirmed":
                self._find_unanswered(deployment)
            elif deployment.state == "queued":
                self._follow_queue(deployment)
            deployment = self.store.get(deployment_id)
            if deployment.state == "running":
                self._follow_build(deployment)
        except JenkinsError as error:
            # Jenkins down or slow: the deployment stays as it is; the next round retries.
            log.warning("deployment %s: %s", deployment_id, error)

    def report(self, deployment_id: int) -> None:
        self._report(self.store.get(deployment_id))

    def _find_unanswered(self, deployment: Deployment) -> None:
        waited = now() - utc(deployment.confirmed_at)
        if waited < timedelta(seconds=self.poll_seconds):
            return  # most likely the action is still waiting for Jenkins' answer
        job = deployment.jenkins_job
        parameters = self.catalog.app(deployment.app).job_parameters(
            deployment.version, deployment.environment, deployment.requested_by)
        queue_id = self.jenkins.queued_with_parameters(job, parameters)
        if queue_id is not None:
            self.store.mark_queued(deployment.id, queue_id)
            return
        since_ms = int((utc(deployment.confirmed_at) - CLOCK_SKEW).timestamp() * 1000)
        owned = self.store.builds_of_job(job)
        builds = [b for b in self.jenkins.builds_with_parameters(job, parameters, since_ms) if b.number not in owned]
        if builds:
            self._mark_running(deployment, builds[-1])  # the oldest unclaimed one came from our request
            return
        if waited > STUCK_CONFIRMED:
            self.store.mark_finished(
                deployment.id, "failed_to_start",
                error=f"Jenkins shows no build for it {format_duration(waited.total_seconds())} after it was asked,"
                      " so nothing was deployed.")

    def _follow_queue(self, deployment: Deployment) -> None:
        # A Jenkins restarting or behind a failing proxy raises JenkinsError (the deployment stays
        # active, its app and environment busy); None is a 404 from a Jenkins otherwise up.
        item = self.jenkins.queue_item(deployment.queue_id)
        if item is None:
            # Jenkins forgets queue items (after 5 min, or a restart); the build, if any, still names its queue id.
            build = self.jenkins.find_build_by_queue_id(deployment.jenkins_job, deployment.queue_id)
            if build is None:
                self.store.mark_finished(deployment.id, "failed",
                                         error=f"Jenkins dropped queue item {deployment.queue_id} before a build started.")
                return
            self._mark_running(deployment, build)
        elif item.cancelled:
            self.store.mark_finished(deployment.id, "aborted", jenkins_result="CANCELLED")
        elif item.build_number is not None:
            self._mark_running(deployment, self.jenkins.build(deployment.jenkins_job, item.build_number))

    def _mark_running(self, deployment: Deployment, build) -> None:
        self.store.mark_running(deployment.id, build.number, build.url, build.estimated_duration_ms,
                                from_epoch_ms(build.timestamp_ms))

    def _follow_build(self, deployment: Deployment) -> None:
        build = self.jenkins.build(deployment.jenkins_job, deployment.build_number)
        if build.building:
            running_for = (now() - utc(deployment.started_at)).total_seconds()
            if running_for > self.build_timeout_seconds:
                self._time_out(deployment)
            return
        state = STATE_OF_RESULT.get(build.result or "", "failed")
        tail = None
        if state == "failed":
            tail = "\n".join(self.jenkins.console_tail(deployment.jenkins_job, build.number, CONSOLE_LINES))
        self.store.mark_finished(
            deployment.id, state, jenkins_result=build.result, console_tail=tail,
            finished_at=from_epoch_ms(build.timestamp_ms + build.duration_ms),
        )

    def _time_out(self, deployment: Deployment) -> None:
        # Recorded before the stop: the stopped build's push must not turn it into "aborted".
        limit = format_duration(self.build_timeout_seconds)
        stopped = f"build #{deployment.build_number} was still running after {limit}, so I asked Jenkins to stop it."
        if not self.store.mark_finished(deployment.id, "timed_out", error=stopped):
            return
        try:
            self.jenkins.stop_build(deployment.jenkins_job, deployment.build_number)
        except JenkinsError as error:
            self.store.annotate(deployment.id, error=f"build #{deployment.build_number} was still running after {limit}."
                                                     f" Stopping it failed ({error}), so it may still be running.")

    # -- reports -----------------------------------------------------------------------

    def _report(self, deployment: Deployment) -> None:
        if deployment.build_number is not None and deployment.start_reported_at is None:
            if not self._send(deployment, "start"):
                return  # the outcome waits for the start report
            deployment = self.store.get(deployment.id)
        start_done = deployment.build_number is None or deployment.start_reported_at is not None
        if deployment.state in FINAL_STATES and deployment.outcome_reported_at is None and start_done:
            if self._send(deployment, "outcome") and deployment.state == "succeeded":
                self._tell_management(deployment)

    def _send(self, deployment: Deployment, report: str) -> bool:
        if not self.store.claim_report(deployment.id, report):
            return False  # another watcher has it
        if self.reporter.send(deployment, report):
            return True
        self.store.release_report(deployment.id, report)
        return False

    def _tell_management(self, deployment: Deployment) -> None:
        channel = self.profiles[deployment.assistant].management_channel
        if channel:
            self.notifier.post(channel, management_post(deployment, self.catalog))
