"""The dashboard's metrics over long periods, quickly: every deployment's facts kept in memory
as arrays per app and environment, brought up to date before each computation, and the
metrics computed with numpy instead of a Python loop over each deployment.

Why: a year holds 100,000 deployments; reading them from the database and summarizing them
one by one took 1 to 3 s (issue 17's goal is 300 ms a page). Finished deployments never
change, so they are read once (when the dashboard starts); each computation then reads only
the deployments newer than the last ones seen (RECHECK of them again: on PostgreSQL, a
transaction may commit an id lower than one already seen) and those not finished yet.

The numbers are exactly those of deploybot.ledger.metrics.summarize (with metrics_by_target's
lookahead), compared on generated ledgers in tests/unit/test_ledger_fact_store.py; the
seconds are computed from integer microseconds, as timedelta does.
"""
from __future__ import annotations

import threading
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta, timezone
from typing import Dict, List, Optional, Tuple

import numpy as np
from sqlalchemy import or_, select

from deploybot.domain.deployments import FINAL_STATES, utc
from deploybot.ledger import dora
from deploybot.ledger.metrics import FACT_COLUMNS, FAILED_STATES, Metrics, merged
from deploybot.ledger.periods import Period
from deploybot.storage.database import Database
from deploybot.storage.models import Deployment

LOOKAHEAD = 20      # as deploybot.ledger.metrics.following
RECHECK = 200
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MICROSECOND = timedelta(microseconds=1)
NO_TIME = np.iinfo(np.int64).min
STATE_CODES = {state: code for code, state in enumerate(FINAL_STATES + ("confirmed", "queued", "running"))}
OTHER_STATE = len(STATE_CODES)
SUCCEEDED = STATE_CODES["succeeded"]
FAILED_CODES = [STATE_CODES[s] for s in FAILED_STATES]
FINAL_CODES = [STATE_CODES[s] for s in FINAL_STATES]


def microseconds(moment: Optional[datetime]) -> int:
    return NO_TIME if moment is None else (utc(moment) - EPOCH) // ONE_MICROSECOND


class Target:
    """One app and environment's deployments, by id, as arrays."""

    FIELDS = ("ids", "requested", "finished", "state", "rollback", "commit")

    def __init__(self, rows: Dict[int, tuple]):
        ids = sorted(rows)
        self.ids = np.array(ids, dtype=np.int64)
        self.requested = np.array([rows[i][0] for i in ids], dtype=np.int64)
        self.finished = np.array([rows[i][1] for i in ids], dtype=np.int64)
        self.state = np.array([rows[i][2] for i in ids], dtype=np.int8)
        self.rollback = np.array([rows[i][3] for i in ids], dtype=bool)
        self.commit = np.array([rows[i][4] for i in ids], dtype=np.int64)   # NO_TIME: unknown

    def merge(self, changed: "Target") -> None:
        """Takes the rows read again (their new values) and the new ones (kept in id order)."""
        at = np.searchsorted(self.ids, changed.ids)
        known = (at < len(self.ids)) & (self.ids[np.minimum(at, max(len(self.ids) - 1, 0))] == changed.ids) \
            if len(self.ids) else np.zeros(len(changed.ids), dtype=bool)
        for name in self.FIELDS[1:]:
            getattr(self, name)[at[known]] = getattr(changed, name)[known]
        if not known.all():
            order = np.argsort(np.concatenate([self.ids, changed.ids[~known]]), kind="stable")
            for name in self.FIELDS:
                setattr(self, name, np.concatenate([getattr(self, name), getattr(changed, name)[~known]])[order])


class FactStore:
    def __init__(self, database: Database):
        self.database = database
        self._lock = threading.Lock()
        self._targets: Dict[Tuple[str, str], Target] = {}   # (environment, app) -> its deployments
        self._open: Dict[int, Tuple[str, str]] = {}      # deployments not finished yet
        self._max_id = 0

    def refresh(self) -> None:
        """Reads what is new or may have changed since the last time (all at the first)."""
        with self._lock:
            floor = max(0, self._max_id - RECHECK)
            query = select(*FACT_COLUMNS, Deployment.commit_at).where(or_(Deployment.id > floor,
                                                    Deployment.id.in_([i for i in self._open if i <= floor])))
            read: Dict[Tuple[str, str], Dict[int, tuple]] = defaultdict(dict)
            with self.database.transaction() as session:
                for row in session.execute(query):
                    deployment_id, app, environment, kind, state, requested_at, finished_at, commit_at = row
                    key = (environment, app)
                    read[key][deployment_id] = (microseconds(requested_at), microseconds(finished_at),
                                                STATE_CODES.get(state, OTHER_STATE), kind == "rollback",
                                                microseconds(commit_at))
                    if state in FINAL_STATES:
                        self._open.pop(deployment_id, None)
                    else:
                        self._open[deployment_id] = key
                    self._max_id = max(self._max_id, deployment_id)
            for key, rows in read.items():
                if key in self._targets:
                    self._targets[key].merge(Target(rows))
                else:
                    self._targets[key] = Target(rows)

    def metrics_by_target(self, period: Period, environment: Optional[str] = None,
                          app: Optional[str] = None) -> Dict[Tuple[str, Optional[str]], Metrics]:
        """The same table as deploybot.ledger.metrics.metrics_by_target, from memory."""
        self.refresh()
        with self._lock:
            targets = {key: target for key, target in self._targets.items()
                       if environment in (None, "", key[0]) and app in (None, "", key[1])}
        days = [period.since + timedelta(days=n) for n in range(period.days)]
        midnights = np.array([microseconds(datetime.combine(day, time(0), period.tz)) for day in days], dtype=np.int64)
        start, end = microseconds(period.start), microseconds(period.end)
        table: Dict[Tuple[str, Optional[str]], Metrics] = {}
        for key in sorted(targets):
            found = summarize_target(targets[key], start, end, midnights, days, period.days)
            if found is not None:
                table[key] = found
        for env in sorted({env for env, _ in table}):
            table[(env, None)] = merged([m for (e, a), m in table.items() if e == env and a is not None], period)
        return dict(sorted(table.items(), key=lambda kv: (kv[0][0], kv[0][1] is not None, kv[0][1] or "")))


    def dora_keys(self, environment: str, period: Period, apps) -> Dict[str, "dora.FourKeys"]:
        """deploybot.ledger.dora.four_keys per app deployed to the environment in the period,
        on the arrays (the same window as dora.rows_of: after the environment's previous
        success up to the period's last deployment, every environment's builds for the
        commits, and up to dora.LOOKAHEAD of the environment's after it)."""
        self.refresh()
        with self._lock:
            targets = dict(self._targets)
        start, end = microseconds(period.start), microseconds(period.end)
        found: Dict[str, dora.FourKeys] = {}
        for app in apps:
            here = targets.get((environment, app))
            if here is None:
                continue
            chosen = np.nonzero((here.requested >= start) & (here.requested < end))[0]
            if not len(chosen):
                continue
            first, last = here.ids[chosen[0]], here.ids[chosen[-1]]
            before = np.nonzero((here.ids < first) & (here.state == SUCCEEDED))[0]
            previous = here.ids[before[-1]] if len(before) else first - 1
            parts = []
            for (env, other), target in targets.items():
                if other != app:
                    continue
                picked = np.nonzero((target.ids > previous) & (target.ids <= last))[0]
                if env == environment:
                    picked = np.concatenate([picked, np.nonzero(target.ids > last)[0][:dora.LOOKAHEAD]])
                parts.append((target, picked, env == environment))
            found[app] = _four_keys(parts, start, end, period.days)
        return found


def _four_keys(parts, start: int, end: int, days: int) -> "dora.FourKeys":
    """dora.four_keys on arrays: parts are (target, picked indexes, is the environment's)."""
    ids = np.concatenate([t.ids[p] for t, p, _ in parts])
    order = np.argsort(ids, kind="stable")

    def column(name: str) -> np.ndarray:
        return np.concatenate([getattr(t, name)[p] for t, p, _ in parts])[order]
    mine = np.concatenate([np.full(len(p), is_here, dtype=bool) for _, p, is_here in parts])[order]
    state, rollback, commit = column("state"), column("rollback"), column("commit")
    requested, finished = column("requested"), column("finished")

    keys = dora.FourKeys(days=days)
    # The oldest commit since the environment's previous success: rows are cut into runs, each
    # ending with a success of the environment; a success's commit is its run's oldest.
    success = mine & (state == SUCCEEDED)
    run = np.concatenate([[0], np.cumsum(success)[:-1]])
    known = commit != NO_TIME
    oldest = np.full(run[-1] + 1 if len(run) else 0, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(oldest, run[known], commit[known])

    here = np.nonzero(mine)[0]
    h_state, h_rollback = state[here], rollback[here]
    h_requested, h_finished = requested[here], finished[here]
    h_success = h_state == SUCCEEDED
    next_rollback = np.zeros(len(here), dtype=bool)
    next_rollback[:-1] = h_rollback[1:]
    change_failed = h_success & ~h_rollback & next_rollback
    in_period = (h_requested >= start) & (h_requested < end)
    keys.failed_builds = int((in_period & np.isin(h_state, FAILED_CODES)).sum())
    deployed = in_period & h_success
    keys.deployments = int(deployed.sum())
    changes = deployed & ~h_rollback
    keys.changes = int(changes.sum())
    keys.change_failures = int((changes & change_failed).sum())
    commit_of = oldest[run[here[changes]]]
    has = commit_of != np.iinfo(np.int64).max
    keys.lead_unknown = int((~has).sum())
    keys.lead_times = [max(0.0, s) for s in ((h_finished[changes][has] - commit_of[has]) / 1e6).tolist()]

    _outages(keys, h_success, change_failed, in_period, h_finished)
    return keys


def _outages(keys: "dora.FourKeys", h_success, change_failed, in_period, h_finished) -> None:
    """Restores and unrestored outages: a change failure with none open starts one; the next
    success that is no change failure ends it (as dora.four_keys)."""
    decisive = np.nonzero(h_success)[0]
    failed = change_failed[decisive]
    before_failed = np.zeros(len(decisive), dtype=bool)
    before_failed[1:] = failed[:-1]
    starts = decisive[failed & ~before_failed]
    goods = decisive[~failed]
    ends = np.searchsorted(goods, starts, side="right")
    for first, end_at in zip(starts.tolist(), ends.tolist()):
        if not in_period[first]:
            continue
        if end_at < len(goods):
            keys.restores.append(float((h_finished[goods[end_at]] - h_finished[first]) / 1e6))
        else:
            keys.unrestored += 1


def summarize_target(target: Target, start: int, end: int, midnights: np.ndarray, days: List, day_count: int) -> Optional[Metrics]:
    """deploybot.ledger.metrics.summarize for one app and environment, on arrays; None when
    nothing of it was requested in the period (metrics_by_target has no row for it then)."""
    in_period = (target.requested >= start) & (target.requested < end)
    if not in_period.any():
        return None
    chosen = np.nonzero(in_period)[0]
    last_id = target.ids[chosen[-1]]                      # ids ascending: the last in the period
    after = np.nonzero(target.ids > last_id)[0][:LOOKAHEAD]
    picked = np.concatenate([chosen, after])               # ids ascending: chosen < after
    state, requested, finished = target.state[picked], target.requested[picked], target.finished[picked]
    counted = in_period[picked]
    succeeded = state == SUCCEEDED
    next_is_rollback = np.zeros(len(picked), dtype=bool)
    next_is_rollback[:-1] = target.rollback[picked][1:]
    rolled_back = succeeded & next_is_rollback
    failed = np.isin(state, FAILED_CODES) | rolled_back
    final = np.isin(state, FINAL_CODES)
    day = np.searchsorted(midnights, requested, side="right") - 1

    metrics = Metrics(days=day_count)
    finished_here = counted & final
    metrics.finished = int(finished_here.sum())
    metrics.finished_by_day = _by_day(day[finished_here], days)
    failures = finished_here & failed
    metrics.failures = int(failures.sum())
    metrics.failures_by_day = _by_day(day[failures], days)
    metrics.rolled_back = int((finished_here & rolled_back).sum())
    successes = counted & succeeded
    metrics.successes = int(successes.sum())
    deploy_seconds = (finished[successes] - requested[successes]) / 1e6
    metrics.deploy_times = [(days[d], float(s)) for d, s in zip(day[successes].tolist(), deploy_seconds.tolist())]

    # Outages: a failure with no outage open starts one; the next success that is no failure ends it.
    decisive = np.nonzero(failed | (succeeded & ~failed))[0]
    decisive_failed = failed[decisive]
    before_failed = np.zeros(len(decisive), dtype=bool)
    before_failed[1:] = decisive_failed[:-1]
    starts = decisive[decisive_failed & ~before_failed]
    goods = decisive[~decisive_failed]
    ends = np.searchsorted(goods, starts, side="right")
    for first, end_at in zip(starts.tolist(), ends.tolist()):
        if not counted[first]:
            continue
        if end_at < len(goods):
            seconds = (finished[goods[end_at]] - finished[first]) / 1e6
            metrics.restores.append((days[day[first]], float(seconds)))
        else:
            metrics.unrestored += 1
    return metrics


def _by_day(day_indexes: np.ndarray, days: List) -> Counter:
    counts = np.bincount(day_indexes, minlength=0) if len(day_indexes) else np.array([], dtype=np.int64)
    return Counter({days[i]: int(n) for i, n in enumerate(counts.tolist()) if n})
