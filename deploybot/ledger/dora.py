"""DORA's four keys, as DORA defines them, for one environment (production), app by app.

Our own figures (deploybot.ledger.metrics) count what deploybot does: request to deployed
("deploy time"), failed builds, the next success after any failure. DORA's are about changes
reaching users, and differ on purpose:

- lead time for changes: from the commit to running in the environment. A successful
  deployment's commit is the oldest commit it brought: the oldest commit time Jenkins listed
  in the change sets of the app's builds since the environment's previous successful
  deployment of it, this one's included (deploy jobs are per app, shared by the
  environments: each build's change set holds the commits since the job's previous build,
  whichever environment that was for). Rollbacks bring no change and have none. Where no
  build listed a commit time, the lead time is unknown and counted as such, never guessed.
- deployment frequency: successful deployments (rollbacks included: they are deployments)
  per day and per week of the period.
- change failure rate: of the successful deployments that brought a change (not
  rollbacks), the share that caused a failure in the environment, which deploybot knows as
  the next deployment of that app there being a rollback. A fix-forward cannot be told from
  an ordinary deployment and is not counted; failed builds never reached users and are not
  change failures (they stay a figure of their own, "failed builds").
- time to restore: from such a change failure (the end of its deployment, when the bad
  change went live: the incident began at the latest then) to the end of the next
  successful deployment of that app there (the rollback, or a fix).

A deployment belongs to the period in which it was requested, as in metrics.py. The
computation (four_keys) is pure, tested on fixed ledgers in tests/unit/test_ledger_dora.py.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deploybot.domain.deployments import utc
from deploybot.ledger.metrics import duration_text as _duration
from deploybot.ledger.periods import Period
from deploybot.storage.models import Deployment

FAILED_BUILD_STATES = ("failed", "timed_out")
LOOKAHEAD = 20       # deployments after the period read for a rollback or a restore that came later
DAY = 86400.0

# The performance levels of DORA's 2024 report ("Accelerate State of DevOps Report 2024",
# DORA / Google Cloud, its table of software delivery performance levels; see docs/ledger.md
# for where they were read). A level is shown only for the two keys whose published bands
# could be checked and that are bands at all: the 2024 report gives a change failure rate
# and a recovery time per cluster as typical values (elite 5%, high 20%, medium 10%, low 40%:
# not ordered thresholds), so no level is shown for those two.
LEVELS_SOURCE = "DORA, Accelerate State of DevOps Report 2024: software delivery performance levels"
# (level, lowest deployments a day, highest), checked from elite down: elite "on demand
# (multiple deploys per day)", high "between once per day and once per week", medium
# "between once per week and once per month", low "between once per month and once every
# six months" (a month read as 30 days, six months as 182).
FREQUENCY_LEVELS = (("elite", 1.0, None), ("high", 1 / 7, 1.0), ("medium", 1 / 30, 1 / 7), ("low", 1 / 182, 1 / 30))
# (level, longest median lead time in days): elite "less than one day", high "between one
# day and one week", medium "between one week and one month", low "between one month and
# six months".
LEAD_TIME_LEVELS = (("elite", 1.0), ("high", 7.0), ("medium", 30.0), ("low", 182.0))


class Row(NamedTuple):
    """What DORA's keys need of one deployment."""
    id: int
    environment: str
    kind: str                       # deploy, rollback, promotion
    state: str
    requested_at: datetime
    finished_at: Optional[datetime]
    commit_at: Optional[datetime]   # the oldest commit of its build's change sets, if Jenkins listed one


@dataclass
class FourKeys:
    days: int
    deployments: int = 0                  # successful, rollbacks included
    changes: int = 0                      # successful and not a rollback
    change_failures: int = 0              # of those, rolled back by the next deployment
    failed_builds: int = 0                # failed or timed out: never reached users
    lead_times: List[float] = field(default_factory=list)   # seconds, per change with a known commit
    lead_unknown: int = 0                 # changes whose commit time nobody listed
    restores: List[float] = field(default_factory=list)     # seconds, per restored change failure
    unrestored: int = 0

    @property
    def per_day(self) -> float:
        return self.deployments / self.days if self.days else 0.0

    @property
    def per_week(self) -> float:
        return self.per_day * 7

    @property
    def failure_rate(self) -> Optional[float]:
        return self.change_failures / self.changes if self.changes else None

    @property
    def lead_median(self) -> Optional[float]:
        return statistics.median(self.lead_times) if self.lead_times else None

    @property
    def restore_median(self) -> Optional[float]:
        return statistics.median(self.restores) if self.restores else None

    @property
    def frequency_level(self) -> Optional[str]:
        return frequency_level(self.per_day) if self.days else None

    @property
    def lead_level(self) -> Optional[str]:
        return lead_time_level(self.lead_median)


def frequency_level(per_day: float) -> Optional[str]:
    """The 2024 report's level for a number of deployments a day; None below its lowest band."""
    for level, lowest, highest in FREQUENCY_LEVELS:
        if per_day > lowest if highest is None else lowest <= per_day <= highest:
            return level
    return None


def lead_time_level(seconds: Optional[float]) -> Optional[str]:
    """The 2024 report's level for a median lead time; None when unknown or over six months."""
    if seconds is None:
        return None
    for level, longest in LEAD_TIME_LEVELS:
        if seconds / DAY < longest or (level != "elite" and seconds / DAY <= longest):
            return level
    return None


def four_keys(rows: Iterable[Row], environment: str, period: Period) -> FourKeys:
    """The four keys of one app in `environment` for the deployments requested in the period.
    rows are that app's deployments in every environment (for the commits its builds listed),
    in any order, with those before the period back to the environment's previous success
    and those after it (a later rollback or restore). One pass, in id order."""
    keys = FourKeys(days=period.days)
    every = sorted(rows, key=lambda r: r.id)
    here = [r for r in every if r.environment == environment]
    following = {row.id: after for row, after in zip(here, here[1:])}
    start, end = period.start, period.end
    oldest_commit: Optional[datetime] = None  # since the environment's previous success
    outage_from: Optional[datetime] = None    # the end of the change failure being restored
    outage_counts = False
    for row in every:
        if row.commit_at is not None:
            commit = utc(row.commit_at)
            oldest_commit = commit if oldest_commit is None else min(oldest_commit, commit)
        if row.environment != environment:
            continue
        in_period = start <= utc(row.requested_at) < end
        succeeded = row.state == "succeeded"
        after = following.get(row.id)
        change_failed = succeeded and row.kind != "rollback" and after is not None and after.kind == "rollback"
        if in_period and row.state in FAILED_BUILD_STATES:
            keys.failed_builds += 1
        if in_period and succeeded:
            keys.deployments += 1
            if row.kind != "rollback":
                keys.changes += 1
                keys.change_failures += change_failed
                if oldest_commit is None:
                    keys.lead_unknown += 1
                else:
                    keys.lead_times.append(max(0.0, (utc(row.finished_at) - oldest_commit).total_seconds()))
        if succeeded and outage_from is not None and not change_failed:
            if outage_counts:
                keys.restores.append((utc(row.finished_at) - outage_from).total_seconds())
            outage_from = None
        if change_failed and outage_from is None:
            outage_from, outage_counts = utc(row.finished_at), in_period
        if succeeded:
            oldest_commit = None   # what it brought is in the environment now
    if outage_from is not None and outage_counts:
        keys.unrestored += 1
    return keys


def merged(parts: Sequence[FourKeys], days: int) -> FourKeys:
    """Several apps' keys as one environment's."""
    total = FourKeys(days=days)
    for part in parts:
        for name in ("deployments", "changes", "change_failures", "failed_builds", "lead_unknown", "unrestored"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.lead_times.extend(part.lead_times)
        total.restores.extend(part.restores)
    return total


COLUMNS = (Deployment.id, Deployment.environment, Deployment.kind, Deployment.state, Deployment.requested_at,
           Deployment.finished_at, Deployment.commit_at)


def rows_of(session: Session, environment: str, period: Period, app: str) -> List[Row]:
    """One app's rows that four_keys needs for the period (see there)."""
    def read(query) -> List[Row]:
        return [Row(r[0], r[1], r[2], r[3], utc(r[4]), utc(r[5]), utc(r[6])) for r in session.execute(query)]

    mine = (Deployment.app == app, Deployment.environment == environment)
    ids = session.execute(select(func.min(Deployment.id), func.max(Deployment.id)).where(
        *mine, Deployment.requested_at >= period.start, Deployment.requested_at < period.end)).first()
    if ids is None or ids[0] is None:
        return []
    first, last = ids
    previous = session.scalar(select(func.max(Deployment.id)).where(*mine, Deployment.id < first,
                                                                       Deployment.state == "succeeded")) or first - 1
    within = read(select(*COLUMNS).where(Deployment.app == app, Deployment.id > previous, Deployment.id <= last))
    after = read(select(*COLUMNS).where(*mine, Deployment.id > last).order_by(Deployment.id).limit(LOOKAHEAD))
    return within + after


def keys_by_app(session: Session, environment: str, period: Period, apps: Sequence[str]) -> Dict[Optional[str], FourKeys]:
    """{app: FourKeys} for the apps deployed to the environment in the period, and {None: all of them}."""
    rows = {app: found for app in apps if (found := rows_of(session, environment, period, app))}
    return table_of(rows, environment, period)


def table_of(rows_by_app: Dict[str, List[Row]], environment: str, period: Period) -> Dict[Optional[str], FourKeys]:
    table: Dict[Optional[str], FourKeys] = {app: four_keys(rows, environment, period)
                                            for app, rows in sorted(rows_by_app.items())}
    table[None] = merged(list(table.values()), period.days)
    return table


@dataclass(frozen=True)
class Comparison:
    """An environment's keys in a period and in the one of the same length before it."""
    environment: str
    period: Period
    now: Dict[Optional[str], FourKeys]
    before: Dict[Optional[str], FourKeys]


def compare(session: Session, environment: str, period: Period, apps: Sequence[str]) -> Comparison:
    """From the database (the digest)."""
    return Comparison(environment, period, keys_by_app(session, environment, period, apps),
                      keys_by_app(session, environment, period.previous(), apps))


def compare_in_memory(facts, environment: str, period: Period, apps: Sequence[str]) -> Comparison:
    """From the dashboard's facts in memory (deploybot.ledger.fact_store.FactStore.dora_keys)."""
    def table(chosen: Period) -> Dict[Optional[str], FourKeys]:
        keys: Dict[Optional[str], FourKeys] = dict(sorted(facts.dora_keys(environment, chosen, apps).items()))
        keys[None] = merged(list(keys.values()), chosen.days)
        return keys
    return Comparison(environment, period, table(period), table(period.previous()))


def change(now: Optional[float], before: Optional[float]) -> Optional[float]:
    """now − before, or None when either is unknown."""
    return None if now is None or before is None else now - before



# -- how the page and the digest say them ----------------------------------------------

DEFINITIONS = {
    "frequency": "successful deployments (rollbacks included) per day and per week",
    "lead": "from the oldest commit not yet in the environment (Jenkins' change sets) to the deployment"
            " that brought it; median",
    "failure_rate": "of the successful deployments that brought a change, the share rolled back by the next"
                    " deployment; failed builds are not counted (they never reached users)",
    "restore": "from a change failure going live to the end of the next successful deployment; median",
}


def frequency_text(keys: FourKeys) -> str:
    return f"{keys.per_day:.2f} a day, {keys.per_week:.1f} a week ({keys.deployments})"


def lead_text(keys: FourKeys) -> str:
    known = len(keys.lead_times)
    if not known:
        return f"unknown ({keys.lead_unknown} without a commit time)" if keys.lead_unknown else "–"
    unknown = f"; unknown for {keys.lead_unknown} of {known + keys.lead_unknown}" if keys.lead_unknown else ""
    return f"{_duration(keys.lead_median)} ({known} known{unknown})"


def failure_rate_text(keys: FourKeys) -> str:
    if keys.failure_rate is None:
        return "–"
    return f"{keys.failure_rate:.0%} ({keys.change_failures} of {keys.changes})"


def restore_text(keys: FourKeys) -> str:
    text = _duration(keys.restore_median)
    return text + (f"; {keys.unrestored} not restored" if keys.unrestored else "")


def change_texts(now: FourKeys, before: FourKeys) -> Dict[str, str]:
    """The change against the previous period, per key: "+1.5 a week", "−2 h 10 min", "+5 points"."""
    def signed(value: Optional[float], unit: Callable[[float], str]) -> str:
        if value is None:
            return "–"
        return ("±" if value == 0 else "+" if value > 0 else "−") + unit(abs(value))

    rate = change(now.failure_rate, before.failure_rate)
    return {
        "frequency": signed(change(now.per_week, before.per_week), lambda v: f"{v:.1f} a week"),
        "lead": signed(change(now.lead_median, before.lead_median), _duration),
        "failure_rate": signed(None if rate is None else rate * 100, lambda v: f"{v:.0f} points"),
        "restore": signed(change(now.restore_median, before.restore_median), _duration),
    }

