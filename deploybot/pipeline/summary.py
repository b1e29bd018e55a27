"""The summed-up stage of a batch whose apps ended without a deployment to carry its summary
(nothing reached Jenkins, every start failed, the last app's approval was rejected or expired).
With a deployment to carry it, the watcher sends the summary (deploybot.delivery.watcher)."""
from __future__ import annotations

from typing import Optional

from deploybot.domain.batch_store import SUMMARY, BatchStore
from deploybot.domain.catalog import Catalog
from deploybot.domain.outbox import Outbox
from deploybot.storage.database import Database


def summary_if_over(batch_store: BatchStore, batch_id: str, catalog: Catalog) -> Optional[str]:
    """The summary, when the batch ended the moment it was started: no watcher will see it, so
    it is said now, once."""
    if batch_store.is_over(batch_id) and batch_store.mark_summarized(batch_id):
        return batch_store.summary(batch_id, catalog)
    return None


def ended_without_deployment(db: Database, catalog: Catalog, batch_id: Optional[str], app: str, why: str) -> Optional[str]:
    """An app of a batch ended without a deployment after the yes. Returns the summary to say
    now when that ended a batch with no deployment to carry it; with one, the watcher says it."""
    if not batch_id:
        return None
    batch_store = BatchStore(db)
    batch_store.not_started(batch_id, app, why)
    if not batch_store.is_over(batch_id):
        return None
    carrier = batch_store.carrier(batch_id)
    if carrier is None:
        return summary_if_over(batch_store, batch_id, catalog)
    Outbox(db).add(carrier, SUMMARY)  # the watcher sends it
    return None
