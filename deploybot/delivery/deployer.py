"""Starting and cancelling deployments: the clearance, the lock check, the record, the Jenkins call.

Deployer.start is the single door into Jenkins: it takes the deploy pipeline's Clearance
(deploybot/pipeline/clearance.py) and refuses what it does not cover. Nothing here waits for
a build: after Jenkins has queued it, the watcher takes over.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timezone, tzinfo
from typing import Optional

from sqlalchemy.exc import SQLAlchemyError

from deploybot.delivery import reports
from deploybot.domain.catalog import Catalog
from deploybot.domain.deploy_request import RequestRejected
from deploybot.domain.deployments import DeploymentStore, NewDeployment, now
from deploybot.adapters.jenkins.client import JenkinsClient, JenkinsError
from deploybot.policy.identity import NOT_A_PLAIN_ID, is_plain_id
from deploybot.domain.locks import check_unlocked
from deploybot.pipeline.clearance import Clearance, Rules, refusal, why_not_cleared
from deploybot.storage.models import Deployment

log = logging.getLogger(__name__)


@dataclass
class Deployer:
    store: DeploymentStore
    jenkins: JenkinsClient
    catalog: Catalog
    zone: tzinfo = timezone.utc  # how a lock's times are said in a refusal (the profile's time_zone)
    rules: Optional[Rules] = None  # what a clearance must cover (actions/context.py gives this bot's)

    def start(self, new: NewDeployment, clearance: Optional[Clearance]) -> str:
        """Records and triggers the deployment; returns what to tell the requester.
        RequestRejected when its clearance does not cover it, or a lock or another active
        deployment stands in the way (the caller audits it)."""
        request = new.request
        why_not = why_not_cleared(clearance, new, self.rules) if self.rules is not None else "no clearance rules are set"
        if why_not:  # before anything is recorded or reaches Jenkins
            log.warning("deployment of %s %s to %s refused at the door: %s", request.app, request.version, request.environment, why_not)
            raise RequestRejected(refusal(why_not))
        if not is_plain_id(new.requested_by):  # the last check before the id becomes a job parameter
            raise RequestRejected(NOT_A_PLAIN_ID)
        # The lock check and the record in one transaction: a lock set at the same moment wins or comes after.
        record = self.store.begin(new, check=lambda session: check_unlocked(session, request.app, request.environment, self.zone))
        parameters = self.catalog.app(request.app).job_parameters(request.version, request.environment, new.requested_by)
        name = self.catalog.app(request.app).name
        what = f"{name} {request.version} to {request.environment}"
        try:
            queue_id = self.jenkins.trigger(record.jenkins_job, parameters)
        except JenkinsError as error:
            if error.kind == "timeout":
                # Jenkins may have queued it all the same. The record stays "confirmed"; the
                # watcher looks for the build by its parameters and reports either way.
                return (f"Jenkins did not answer in time when I asked it to deploy {what}, so I don't know yet"
                        " whether it started. I'm watching Jenkins and will report here either way.")
            # The reply is the outcome report: the watcher must not send another.
            self.store.mark_finished(record.id, "failed_to_start", error=str(error), outcome_reported_at=now())
            return reports.failed_to_start(self.store.get(record.id), self.catalog)
        try:
            self.store.mark_queued(record.id, queue_id)
        except SQLAlchemyError:
            # Jenkins has it: the watcher finds the build by its parameters once the database is back.
            log.exception("deployment %s: queued as item %s, but the record could not be updated", record.id, queue_id)
        return (f"OK, deploying {what}: Jenkins has queued it."
                " I'll report here when the build starts and when it ends.")

    def cancel(self, deployment: Deployment, user: str, is_admin: bool) -> str:
        """Asks Jenkins to drop the queue item or stop the build; the watcher reports it as aborted."""
        if user != deployment.requested_by and not is_admin:
            raise RequestRejected(f"Only {deployment.requested_by}, who asked for this deployment, or an admin can cancel it.")
        what = f"{deployment.app} {deployment.version} to {deployment.environment}"
        if deployment.build_number is None and deployment.queue_id is None:
            raise RequestRejected(f"The deployment of {what} is being handed to Jenkins right now; try again in a moment.")
        # Noted first: the watcher may see the stopped build before this method returns.
        self.store.annotate(deployment.id, cancelled_by=user)
        try:
            if deployment.build_number is not None:
                self.jenkins.stop_build(deployment.jenkins_job, deployment.build_number)
                where = f"build #{deployment.build_number}"
            else:
                self.jenkins.cancel_queue(deployment.queue_id)
                where = "its Jenkins queue item"
        except JenkinsError as error:
            self.store.annotate(deployment.id, cancelled_by=None)
            return f"I could not cancel the deployment of {what}: {error}"
        return f"Cancelling the deployment of {what} ({where}). I'll confirm when Jenkins has stopped it."
