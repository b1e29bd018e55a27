"""What the bots say about deployments, and how a report reaches the conversation.

Reports go through Rasa (trigger_intent with EXTERNAL_deployment_report), so the tracker
records them and they reach the user on the channel the request came in on.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Mapping, Optional

from deploybot.domain.catalog import Catalog
from deploybot.domain.deployments import ago, utc
from deploybot.domain.messages import format_duration
from deploybot.storage.models import Deployment, ReportOutbox

REPORT_INTENT = "EXTERNAL_deployment_report"
log = logging.getLogger(__name__)


def about(milliseconds: Optional[int]) -> str:
    """A rough duration for estimates: "45 sec", "6 min", "1 h, 20 min"."""
    seconds = round((milliseconds or 0) / 1000)
    if seconds < 60:
        return f"{seconds} sec"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h, {minutes % 60} min"


def build_seconds(deployment: Deployment, duration_ms: Optional[int] = None) -> float:
    if duration_ms:
        return duration_ms / 1000
    if deployment.started_at and deployment.finished_at:
        return (utc(deployment.finished_at) - utc(deployment.started_at)).total_seconds()
    return 0.0


def start_report(deployment: Deployment, catalog: Catalog) -> str:
    name = catalog.app(deployment.app).name
    usually = f" (usually takes about {about(deployment.estimated_duration_ms)})" if deployment.estimated_duration_ms else ""
    return (f"Deploying {name} {deployment.version} to {deployment.environment}: "
            f"Jenkins build #{deployment.build_number} started{usually}. {deployment.build_url}")


def outcome_report(deployment: Deployment, catalog: Catalog) -> str:
    name = catalog.app(deployment.app).name
    what = f"version {deployment.version} to {deployment.environment}"
    took = format_duration(build_seconds(deployment))
    build = f"Build #{deployment.build_number}: {deployment.build_url}" if deployment.build_number else ""
    state = deployment.state
    if state == "succeeded":
        return f"{name}: deployed {what} in {took}"
    if state == "aborted":
        by = f" by {deployment.cancelled_by}" if deployment.cancelled_by else ""
        if not deployment.build_number:
            return f"{name}: deploying {what} was cancelled{by} before Jenkins started it. Nothing was deployed."
        return f"{name}: deploying {what} was aborted{by} after {took}. {build}"
    if state == "timed_out":
        return f"{name}: deploying {what} timed out: {deployment.error} {build}"
    if state == "failed" and deployment.build_number and deployment.jenkins_result:
        text = f"{name}: deploying {what} failed after {took} ({deployment.jenkins_result}). {build}"
        # The console's last lines, or why they could not be read ("console unavailable: ...").
        detail = deployment.console_tail or deployment.error
        return text + (f"\n{detail}" if detail else "")
    return f"{name}: deploying {what} failed: {deployment.error or 'unknown error'} {build}".rstrip()


def failed_to_start(deployment: Deployment, catalog: Catalog) -> str:
    name = catalog.app(deployment.app).name
    return (f"I could not start deploying {name} {deployment.version} to {deployment.environment}: "
            f"{deployment.error} Nothing was deployed.")


def management_post(deployment: Deployment, catalog: Catalog) -> str:
    name = catalog.app(deployment.app).name
    return (f"{name} {deployment.version} is on {deployment.environment}: deployed by {deployment.requested_by}"
            f" in {format_duration(build_seconds(deployment))}. Build #{deployment.build_number}: {deployment.build_url}")


def safeguards_of(deployment: Deployment) -> str:
    """" (approved by U1, U2; second factor)": the production safeguards it passed (issue 14)."""
    parts = []
    if getattr(deployment, "break_glass_reason", None):
        parts.append(f"break glass: {deployment.break_glass_reason}")
    if getattr(deployment, "approved_by", None):
        parts.append(f"approved by {', '.join(deployment.approved_by.split(','))}")
    if getattr(deployment, "second_factor", None):
        parts.append("second factor")
    return f" ({'; '.join(parts)})" if parts else ""


def status_line(deployment: Deployment) -> str:
    """One active deployment, with its elapsed time against Jenkins' estimate."""
    head = f"{deployment.app} {deployment.version} → {deployment.environment} by {deployment.requested_by}{safeguards_of(deployment)}"
    if deployment.build_number is None:
        return f"{head}: waiting in the Jenkins queue for {ago(deployment.queued_at or deployment.confirmed_at)}"
    estimate = f" of about {about(deployment.estimated_duration_ms)}" if deployment.estimated_duration_ms else ""
    return f"{head}: build #{deployment.build_number} running for {ago(deployment.started_at)}{estimate}. {deployment.build_url}"


def when(deployment: Deployment) -> str:
    return f"{utc(deployment.confirmed_at):%Y-%m-%d %H:%M} UTC"


def history_line(deployment: Deployment) -> str:
    """When, what, who, how long and how it ended."""
    took = f" in {format_duration(build_seconds(deployment))}" if deployment.finished_at and deployment.started_at else ""
    kind = "" if deployment.kind == "deploy" else f" ({deployment.kind})"
    state = deployment.state.replace("_", " ")
    return (f"{when(deployment)}: {deployment.app} {deployment.version} → {deployment.environment}{kind} by {deployment.requested_by}"
            f"{safeguards_of(deployment)}: {state}{took}")


@dataclass
class RasaReporter:
    """Puts a report into a conversation: POST /conversations/<id>/trigger_intent on the
    Rasa server of the bot the deployment belongs to."""

    rasa_urls: Mapping[str, str]   # assistant id -> Rasa base URL
    token: Optional[str]
    # Under load a Rasa turn takes many seconds; a send that times out is sent again later.
    timeout: float = 30.0

    def send(self, deployment: Deployment, report: str) -> bool:
        """Whether Rasa answered. Whether the report was said is the outbox's said-mark, which
        the report action sets (Rasa answers 200 even when its action server is down)."""
        conversation = urllib.parse.quote(deployment.conversation_id, safe="")
        query = {"output_channel": deployment.output_channel}
        if self.token:
            query["token"] = self.token
        url = f"{self.rasa_urls[deployment.assistant]}/conversations/{conversation}/trigger_intent?{urllib.parse.urlencode(query)}"
        body = {"name": REPORT_INTENT, "entities": {"deployment": str(deployment.id), "report": report}}
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=self.timeout).close()
        except (urllib.error.URLError, OSError) as error:
            log.warning("could not report deployment %s (%s) to %s: %s", deployment.id, report, deployment.assistant, error)
            return False
        return True


def belongs_here(deployment: Optional[Deployment], report: str, assistant: str, conversation_id: str,
                 outbox_row: Optional[ReportOutbox]) -> bool:
    """Whether a report may be said here: the deployment is this bot's, it came from this
    conversation, and the report is due (a watcher put it in the outbox)."""
    if deployment is None or deployment.assistant != assistant or deployment.conversation_id != conversation_id:
        return False
    return outbox_row is not None and outbox_row.deployment_id == deployment.id and outbox_row.kind == report
