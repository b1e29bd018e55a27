"""Batches in the database: what one yes confirmed, and when the summary is due.

- A batch is recorded at the yes (or the accepted code), before any of its deployments, so
  that every deployment can name it. Its items are what the question listed.
- An item ends as a deployment (deployments.batch_id) or as "not started" with the reason: refused
  at the yes (a lock set meanwhile, a grant revoked), held for an approval that was rejected
  or expired, or failed to start in Jenkins (that one is a deployment too).
- The summary is due once every item has ended and every deployment's outcome report was
  delivered, so it always comes last. It travels as one more report in the report outbox
  (kind "summary", on the batch's first deployment), leased and said once like the others.
  A batch none of whose items became a deployment is summed up by whoever ends its last item.
  Each watcher round also sweeps this bot's recent batches that are over but not summed up,
  so a sender that died between the last outcome and the summary loses nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import List, Optional, Sequence

from sqlalchemy import select, update

from deploybot.domain.catalog import Catalog
from deploybot.domain.deployments import FINAL_STATES, now
from deploybot.domain import batches
from deploybot.storage.database import Database
from deploybot.storage.models import Deployment, DeploymentBatch
from deploybot.storage.row_locks import locked_row

SUMMARY = "summary"  # its report kind in the outbox


@dataclass
class BatchStore:
    db: Database

    def create(self, batch_id: str, assistant: str, requested_by: str, environment: str, items: Sequence[dict],
               conversation_id: str, output_channel: str, reply_to: Optional[dict]) -> None:
        with self.db.transaction() as session:
            session.add(DeploymentBatch(
                id=batch_id, assistant=assistant, requested_by=requested_by, environment=environment,
                items=json.dumps([{key: item.get(key) for key in ("app", "version", "kind")} for item in items]),
                not_started="{}", conversation_id=conversation_id, output_channel=output_channel,
                reply_to=json.dumps(reply_to) if reply_to else None, created_at=now()))

    def get(self, batch_id: str) -> Optional[DeploymentBatch]:
        with self.db.transaction() as session:
            return session.get(DeploymentBatch, batch_id)

    def not_started(self, batch_id: str, app: str, reason: str) -> None:
        """The item never became a deployment. Two items ending at once must both be kept."""
        with self.db.transaction() as session:
            batch = locked_row(session, DeploymentBatch, batch_id)
            if batch is None:
                return
            ended = json.loads(batch.not_started or "{}")
            ended.setdefault(app, reason[:300])
            batch.not_started = json.dumps(ended)

    def deployments(self, batch_id: str) -> List[Deployment]:
        with self.db.transaction() as session:
            return list(session.scalars(select(Deployment).where(Deployment.batch_id == batch_id).order_by(Deployment.id)))

    def is_over(self, batch_id: str) -> bool:
        """Every item has ended, and every deployment's outcome has been delivered."""
        batch = self.get(batch_id)
        if batch is None:
            return False
        deployed = self.deployments(batch_id)
        ended = set(json.loads(batch.not_started or "{}")) | {d.app for d in deployed}
        items = {item["app"] for item in json.loads(batch.items)}
        return items <= ended and all(d.state in FINAL_STATES and d.outcome_reported_at is not None for d in deployed)

    def carrier(self, batch_id: str) -> Optional[int]:
        """The deployment whose outbox row carries the summary: the batch's first."""
        deployed = self.deployments(batch_id)
        return deployed[0].id if deployed else None

    def unsummarized(self, assistant: str, since: timedelta = timedelta(days=2)) -> List[str]:
        """This bot's recent batches whose summary was not delivered yet: the watcher's sweep
        for a summary whose row was never added (a sender that died right after the last outcome)."""
        with self.db.transaction() as session:
            return list(session.scalars(select(DeploymentBatch.id).where(
                DeploymentBatch.assistant == assistant, DeploymentBatch.summarized_at.is_(None),
                DeploymentBatch.created_at > now() - since).order_by(DeploymentBatch.created_at)))

    def mark_summarized(self, batch_id: str) -> bool:
        """The summary was said (or, for a batch without deployments, is about to be): True for
        the one caller that marked it."""
        with self.db.transaction() as session:
            result = session.execute(update(DeploymentBatch).where(
                DeploymentBatch.id == batch_id, DeploymentBatch.summarized_at.is_(None)).values(summarized_at=now()))
            return result.rowcount == 1

    def summary(self, batch_id: str, catalog: Catalog) -> str:
        batch = self.get(batch_id)
        deployed = {d.app: d for d in self.deployments(batch_id)}
        refused = json.loads(batch.not_started or "{}")
        outcomes = []
        for item in json.loads(batch.items):
            deployment = deployed.get(item["app"])
            if deployment is not None:
                detail = outcome_detail(deployment)
                outcomes.append({"app": item["app"], "version": deployment.version, "environment": deployment.environment,
                                 "state": deployment.state, "detail": detail})
            else:
                outcomes.append({"app": item["app"], "version": item["version"], "environment": batch.environment,
                                 "state": "not_started", "detail": refused.get(item["app"], "")})
        return batches.summary(outcomes, catalog)


def outcome_detail(deployment: Deployment) -> str:
    """A few words on how a deployment ended, for the summary's line."""
    build = f"build #{deployment.build_number}" if deployment.build_number else ""
    if deployment.state == "succeeded":
        return build
    if deployment.state == "failed" and deployment.jenkins_result:
        return f"{build}, {deployment.jenkins_result}"
    if deployment.state == "aborted" and deployment.cancelled_by:
        return f"cancelled by {deployment.cancelled_by}"
    return (deployment.error or build or "")[:200]
