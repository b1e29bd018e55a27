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
- It always ends what it follows: a failed build whose console cannot be read is recorded
  with its result and "console unavailable: <reason>"; a build Jenkins no longer knows is
  recorded as lost after lost_after_seconds. Neither keeps its app busy.
- Each report, and each management post, is a row in the report outbox (deploybot.domain.outbox),
  taken with a lease before it is sent: two watchers (replicas, or a push racing a poll)
  never send one at the same time, and one whose sender died is sent again once the lease
  expires. A report counts as delivered when the report action marked its row said (it does
  so just before it speaks); a resend finds the mark and stays silent, in any Rasa session. The outcome follows
  the start report, the management post the outcome.
- A deployment that is one app of a batch (several apps, one yes) also owes the batch's
  summary, sent once after the last app's outcome (deploybot.domain.batch_store).
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping, Optional

from deploybot.domain.batch_store import SUMMARY, BatchStore
from deploybot.domain.catalog import Catalog
from deploybot.domain.deployments import FINAL_STATES, STATE_OF_RESULT, DeploymentStore, now, utc
from deploybot.adapters.jenkins.client import JenkinsClient, JenkinsError
from deploybot.ledger.digest import DigestSender
from deploybot.domain.messages import format_duration
from deploybot.delivery.notifier import Notifier, destinations
from deploybot.domain.outbox import MANAGEMENT, Outbox, management_kind, sender_id
from deploybot.domain.profiles import AssistantProfile
from deploybot.delivery.reports import RasaReporter, management_post
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
# How long a sender holds a report: longer than the longest send (RasaReporter's timeout, or
# Slack waiting out a rate limit), as a live sender must not lose it; a dead one's report
# waits this long before it is sent again.
LEASE_SECONDS = 90.0
# How long a running deployment's build may answer 404, with its queue item 404 too, from a
# Jenkins that otherwise answers, before it is recorded as lost: long enough to ride out a job
# being re-created or a configuration reload, short enough that the app is not busy for ever.
LOST_AFTER_SECONDS = 600.0
# How long after a failed build ended its console is asked for again when Jenkins could not
# answer just then (down, restarting, slow), before the outcome is recorded without it.
CONSOLE_GRACE_SECONDS = 60.0


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
    lease_seconds: float = LEASE_SECONDS
    lost_after_seconds: float = LOST_AFTER_SECONDS
    console_grace_seconds: float = CONSOLE_GRACE_SECONDS
    # The weekly digest to the management channel: looked at every round, sent when due.
    digest: Optional[DigestSender] = None

    def __post_init__(self):
        self._wake: Optional[asyncio.Event] = None
        self.outbox = Outbox(self.store.db)
        self.batches = BatchStore(self.store.db)
        self.sender = sender_id()
        # Reports of different deployments go out side by side; one deployment's two
        # reports stay in order (_report sends the start before the outcome).
        self._senders = ThreadPoolExecutor(max_workers=REPORT_SENDERS, thread_name_prefix="reports")
        # Running deployments whose build Jenkins did not know, since when (in memory: a restart
        # starts the wait again, which keeps it bounded).
        self._missing_since: dict = {}

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
        # Reported deployments whose management post (or batch summary) is still owed.
        ids += [i for i in self.outbox.deployments_with_pending(self.assistant) if i not in ids]
        ids += [i for i in self._batches_to_sum_up() if i not in ids]
        # Jenkins first, for all: a finished build frees its app and environment at once,
        # however long the reports then take (each is a full Rasa turn, slow under load).
        for deployment_id in ids:
            self._safely(self.follow, deployment_id)
        list(self._senders.map(lambda deployment_id: self._safely(self.report, deployment_id), ids))
        if self.digest is not None:
            try:
                self.digest.tick(now())
            except Exception:  # a digest not sent now is tried again next round
                log.exception("weekly digest: not sent this round")

    def _batches_to_sum_up(self) -> list:
        """Batches over whose summary row was never added: its carrier is looked at this round."""
        carriers = []
        for batch_id in self.batches.unsummarized(self.assistant):
            carrier = self.batches.carrier(batch_id)
            if carrier is not None and self.batches.is_over(batch_id):
                carriers.append(carrier)
        return carriers

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
        try:
            build = self.jenkins.build(deployment.jenkins_job, deployment.build_number)
        except JenkinsError as error:
            if error.kind != "job_missing":
                raise  # Jenkins down, slow or failing: ask again next round
            self._build_missing(deployment)
            return
        self._missing_since.pop(deployment.id, None)
        if build.building:
            running_for = (now() - utc(deployment.started_at)).total_seconds()
            if running_for > self.build_timeout_seconds:
                self._time_out(deployment)
            return
        state = STATE_OF_RESULT.get(build.result or "", "failed")
        finished_at = from_epoch_ms(build.timestamp_ms + build.duration_ms)
        tail = error = None
        if state == "failed":
            try:
                tail = "\n".join(self.jenkins.console_tail(deployment.jenkins_job, build.number, CONSOLE_LINES))
            except JenkinsError as unreadable:
                ended_ago = (now() - finished_at).total_seconds()
                if unreadable.transient and ended_ago < self.console_grace_seconds:
                    raise  # Jenkins could not answer just now: ask again next round, for a while
                # The result is known from the build's API: record it now rather than keep the
                # app busy for a log (a proxy refusing HEAD, a 5xx for the log) that may never come.
                error = f"console unavailable: {unreadable}"
        commit = build.oldest_commit   # for DORA's lead time for changes; None: unknown
        self.store.mark_finished(deployment.id, state, jenkins_result=build.result, console_tail=tail, error=error,
                                 finished_at=finished_at, commit_id=commit.id if commit else None,
                                 commit_at=from_epoch_ms(commit.timestamp_ms) if commit else None)

    def _build_missing(self, deployment: Deployment) -> None:
        """Jenkins answered 404 for the build: lost once its queue item is gone too (from a
        Jenkins that otherwise answers: queue_item checks) for lost_after_seconds."""
        if deployment.queue_id is not None and self.jenkins.queue_item(deployment.queue_id) is not None:
            return  # the queue item still says where the build went: not lost yet
        since = self._missing_since.setdefault(deployment.id, now())
        missing_for = (now() - since).total_seconds()
        if missing_for < self.lost_after_seconds:
            log.warning("deployment %s: Jenkins does not know build #%s of %s (for %.0f s)",
                        deployment.id, deployment.build_number, deployment.jenkins_job, missing_for)
            return
        self._missing_since.pop(deployment.id, None)
        self.store.mark_finished(
            deployment.id, "failed",
            error=f"lost: Jenkins no longer knows build #{deployment.build_number} of {deployment.jenkins_job}"
                  f" (not found for {format_duration(missing_for)}), so its result is unknown.")

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
        if start_due(deployment) and not self._deliver(deployment, "start"):
            return  # the outcome waits for the start report
        deployment = self.store.get(deployment.id)
        if outcome_due(deployment) and not self._deliver(deployment, "outcome"):
            return  # the management post waits for the outcome (its rows come with it)
        for row in self.outbox.rows(deployment.id):
            if row.kind.startswith(MANAGEMENT) and row.done_at is None:
                self._post(deployment, row)
        if deployment.batch_id:
            if outcome_done(self.store.get(deployment.id)):
                self._summarize(deployment.batch_id)

    def _summarize(self, batch_id: str) -> None:
        """The batch's summary once all its apps have ended (deploybot.domain.batch_store says when);
        it travels on the batch's first deployment, in the same thread as its reports."""
        if not self.batches.is_over(batch_id):
            return
        carrier = self.batches.carrier(batch_id)
        if carrier is not None and self._deliver(self.store.get(carrier), SUMMARY):
            self.batches.mark_summarized(batch_id)  # the sweep (_batches_to_sum_up) leaves it alone now

    def _deliver(self, deployment: Deployment, report: str) -> bool:
        """Whether the report is delivered (now, or before)."""
        self.outbox.add(deployment.id, report)
        row = self.outbox.row(deployment.id, report)
        if row.done_at is not None:
            return True
        if not self.outbox.take(row.id, self.sender, self.lease_seconds):
            return False  # another watcher holds it, or a dead one's lease has not expired yet
        # An exception here (the sender dying) keeps the lease: the row is taken again after it.
        # Only the report action's said-mark counts: a send that timed out may still have been
        # said (Rasa goes on after the client gives up), and one that "answered" may have been
        # the action apologising for an unreachable database instead of saying the report.
        answered = self.reporter.send(deployment, report)
        if not self.outbox.is_said(row.id):
            if answered:  # Rasa ran the turn, but the action did not say it (action server or database down)
                log.warning("deployment %s (%s): the report was not said; trying again next round", deployment.id, report)
            self.outbox.release(row.id, self.sender)
            return False
        self.outbox.mark_done(row.id, then=self._management_kinds(deployment) if report == "outcome" else ())
        return True

    def _management_kinds(self, deployment: Deployment) -> list:
        channel = self.profiles[deployment.assistant].management_channel
        if deployment.state != "succeeded" or not channel:
            return []
        return [management_kind(name) for name in destinations(self.notifier)]

    def _post(self, deployment: Deployment, row) -> None:
        """One management post to one destination, retried each round until delivered.
        At least once, not exactly once: if the action server dies after the destination
        (Slack) accepted the post and before the row is marked done, the post is sent again
        once the lease expires. Slack has no idempotency key for chat.postMessage to close that."""
        if not self.outbox.take(row.id, self.sender, self.lease_seconds):
            return
        destination = destinations(self.notifier).get(row.kind[len(MANAGEMENT):])
        if destination is None:
            log.warning("deployment %s: no management destination %r any more; not posting there", deployment.id, row.kind)
            self.outbox.mark_done(row.id)
            return
        channel = self.profiles[deployment.assistant].management_channel
        if destination.post(channel, management_post(deployment, self.catalog)):
            self.outbox.mark_done(row.id)
        else:
            self.outbox.release(row.id, self.sender)


def start_due(deployment: Deployment) -> bool:
    return deployment.build_number is not None and deployment.start_reported_at is None


def outcome_done(deployment: Deployment) -> bool:
    return deployment.outcome_reported_at is not None


def outcome_due(deployment: Deployment) -> bool:
    """Final, not reported (a failure to start is said by the yes itself), and after the start report."""
    start_done = deployment.build_number is None or deployment.start_reported_at is not None
    return deployment.state in FINAL_STATES and deployment.outcome_reported_at is None and start_done
