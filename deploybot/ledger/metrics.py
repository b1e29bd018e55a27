"""The four key delivery metrics, per environment and app, over a period.

- deployment frequency: successful deployments per day;
- request to deployed: from the request to the successful end of the build, median and p90;
- change failure rate: failed, timed out or rolled back ÷ every finished deployment. A
  success counts as rolled back when the next deployment of that app and environment is
  a rollback;
- time to restore: from a failure to the next success of that app and environment. Failures
  in a row are one outage, timed from the first; a rolled-back success fails when it ended.

A deployment belongs to the period in which it was requested. Aborted and failed-to-start
deployments count in "finished" but are not change failures: nothing reached the environment.
The computation (summarize) is pure, so that it can be tested on fixed ledgers.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from bisect import bisect_right
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from deploybot.domain.deployments import FINAL_STATES, utc
from deploybot.ledger.periods import Period
from deploybot.storage.models import Deployment

FAILED_STATES = ("failed", "timed_out")
FACT_COLUMNS = (Deployment.id, Deployment.app, Deployment.environment, Deployment.kind, Deployment.state,
                Deployment.requested_at, Deployment.finished_at)


class Fact(NamedTuple):
    """What the metrics need of one deployment (a tuple: a year of them loads quickly)."""
    id: int
    app: str
    environment: str
    kind: str
    state: str
    requested_at: datetime
    finished_at: Optional[datetime]


@dataclass
class Metrics:
    """The numbers of a period, and what they are made of, by the local day of the request."""
    days: int
    finished: int = 0
    successes: int = 0
    failures: int = 0                       # failed, timed out or rolled back
    rolled_back: int = 0
    unrestored: int = 0                     # outages with no success yet
    finished_by_day: Counter = field(default_factory=Counter)
    failures_by_day: Counter = field(default_factory=Counter)
    deploy_times: List[Tuple[date, float]] = field(default_factory=list)      # request to deployed, per success
    restores: List[Tuple[date, float]] = field(default_factory=list)   # per restored outage, by its first failure

    @property
    def successes_by_day(self) -> Counter:
        return Counter(day for day, _ in self.deploy_times)

    @property
    def per_day(self) -> float:
        return self.successes / self.days if self.days else 0.0

    @property
    def failure_rate(self) -> Optional[float]:
        return self.failures / self.finished if self.finished else None

    @property
    def deploy_time_median(self) -> Optional[float]:
        return median([seconds for _, seconds in self.deploy_times])

    @property
    def deploy_time_p90(self) -> Optional[float]:
        return percentile([seconds for _, seconds in self.deploy_times], 90)

    @property
    def restore_median(self) -> Optional[float]:
        return median([seconds for _, seconds in self.restores])


def median(values: Sequence[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], p: float) -> Optional[float]:
    """The nearest-rank percentile: a value that occurred, at least p% of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summarize(facts: Iterable[Fact], period: Period, following: Sequence[Fact] = ()) -> Metrics:
    """The metrics of the deployments requested in the period. facts are of one app and
    environment or several, in any order; following are deployments requested after the
    period (for a rollback or a restore that came later)."""
    metrics = Metrics(days=period.days)
    by_target: Dict[Tuple[str, str], List[Fact]] = defaultdict(list)
    for fact in list(facts) + list(following):
        by_target[(fact.app, fact.environment)].append(fact)
    start, end = period.start, period.end
    local_day = _day_finder(period)
    for sequence in by_target.values():
        sequence.sort(key=lambda f: f.id)
        outage: Optional[Tuple[datetime, date]] = None     # its first failure's end and request day
        outage_counts = False                              # it began in the period
        for index, fact in enumerate(sequence):
            requested_at = utc(fact.requested_at)
            in_period = start <= requested_at < end
            day = local_day(requested_at) if in_period else None   # only the period's days are counted
            next_fact = sequence[index + 1] if index + 1 < len(sequence) else None
            rolled_back = fact.state == "succeeded" and next_fact is not None and next_fact.kind == "rollback"
            failed = fact.state in FAILED_STATES or rolled_back
            if in_period and fact.state in FINAL_STATES:
                metrics.finished += 1
                metrics.finished_by_day[day] += 1
                if failed:
                    metrics.failures += 1
                    metrics.failures_by_day[day] += 1
                metrics.rolled_back += rolled_back
            if in_period and fact.state == "succeeded":
                metrics.successes += 1
                metrics.deploy_times.append((day, (utc(fact.finished_at) - requested_at).total_seconds()))
            if failed and outage is None:
                outage, outage_counts = (utc(fact.finished_at), day), in_period
            elif fact.state == "succeeded" and not failed and outage is not None:
                if outage_counts:
                    metrics.restores.append((outage[1], (utc(fact.finished_at) - outage[0]).total_seconds()))
                outage = None
        if outage is not None and outage_counts:
            metrics.unrestored += 1
    return metrics


def _day_finder(period: Period) -> Callable[[datetime], date]:
    """The local day of a moment in the period, by bisecting the UTC instants of its local
    midnights: the same answer as converting each moment to the time zone, in a fraction
    of the time (a year holds 100,000 deployments)."""
    days = [period.since + timedelta(days=n) for n in range(period.days)]
    midnights = [datetime.combine(day, time(0), period.tz).astimezone(timezone.utc) for day in days]

    def local_day(moment: datetime) -> date:
        return days[bisect_right(midnights, moment) - 1]
    return local_day


def facts(session: Session, period: Period, environment: Optional[str] = None, app: Optional[str] = None) -> List[Fact]:
    """The deployments requested in the period (columns only: quick on a large ledger)."""
    query = select(*FACT_COLUMNS).where(Deployment.requested_at >= period.start, Deployment.requested_at < period.end)
    if environment:
        query = query.where(Deployment.environment == environment)
    if app:
        query = query.where(Deployment.app == app)
    return [_fact(row) for row in session.execute(query)]


def _fact(row) -> Fact:
    # Made aware once here, not at every use (SQLite hands back naive UTC datetimes).
    return Fact(row[0], row[1], row[2], row[3], row[4], utc(row[5]), utc(row[6]))


def following(session: Session, in_period: Sequence[Fact], lookahead: int = 20) -> List[Fact]:
    """For each app and environment, the deployments right after its last one in the period:
    was that one rolled back, and when did an outage that the period ends in end? An outage
    longer than `lookahead` deployments counts as not restored."""
    last: Dict[Tuple[str, str], int] = {}
    for fact in in_period:
        last[(fact.app, fact.environment)] = max(fact.id, last.get((fact.app, fact.environment), 0))
    found: List[Fact] = []
    for (app, environment), last_id in last.items():
        after = (select(*FACT_COLUMNS)
                 .where(Deployment.app == app, Deployment.environment == environment, Deployment.id > last_id)
                 .order_by(Deployment.id).limit(lookahead))
        found.extend(_fact(row) for row in session.execute(after))
    return found


def metrics_by_target(session: Session, period: Period, environment: Optional[str] = None,
                      app: Optional[str] = None) -> Dict[Tuple[str, Optional[str]], Metrics]:
    """{(environment, app): Metrics} and {(environment, None): Metrics} for each environment."""
    in_period = facts(session, period, environment, app)
    after = following(session, in_period)
    groups: Dict[Tuple[str, str], List[Fact]] = defaultdict(list)
    for fact in in_period:
        groups[(fact.environment, fact.app)].append(fact)
    later: Dict[Tuple[str, str], List[Fact]] = defaultdict(list)
    for fact in after:
        later[(fact.environment, fact.app)].append(fact)
    table: Dict[Tuple[str, Optional[str]], Metrics] = {}
    for key in sorted(groups):
        table[key] = summarize(groups[key], period, later[key])
    # An environment's numbers are its apps' together: outages never span two apps.
    for env in sorted({env for env, _ in groups}):
        table[(env, None)] = merged([m for (e, a), m in table.items() if e == env and a is not None], period)
    return dict(sorted(table.items(), key=lambda kv: (kv[0][0], kv[0][1] is not None, kv[0][1] or "")))


def merged(parts: Sequence[Metrics], period: Period) -> Metrics:
    """The metrics of several apps as one."""
    total = Metrics(days=period.days)
    for part in parts:
        total.finished += part.finished
        total.successes += part.successes
        total.failures += part.failures
        total.rolled_back += part.rolled_back
        total.unrestored += part.unrestored
        total.finished_by_day.update(part.finished_by_day)
        total.failures_by_day.update(part.failures_by_day)
        total.deploy_times.extend(part.deploy_times)
        total.restores.extend(part.restores)
    return total


def duration_text(seconds: Optional[float]) -> str:
    """"4 min 10 s", "2 h 5 min", "3 d 4 h"; "–" for none."""
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def daily_successes(metrics: Metrics, period: Period) -> List[Tuple[date, int]]:
    """Successful deployments per local day of the period, days without any included."""
    counts = metrics.successes_by_day
    return [(day, counts.get(day, 0)) for day in (period.since + timedelta(days=n) for n in range(period.days))]


@dataclass
class Week:
    start: date
    successes: int
    deploy_time_median: Optional[float]
    deploy_time_p90: Optional[float]
    failure_rate: Optional[float]
    restore_median: Optional[float]


def weekly(metrics: Metrics, period: Period) -> List[Week]:
    """The metrics week by week (weeks from the period's first day), for the charts."""
    def week_of(day: date) -> date:
        return period.since + timedelta(days=(day - period.since).days // 7 * 7)

    deploy_times, restores = defaultdict(list), defaultdict(list)
    finished, failures = Counter(), Counter()
    for day, seconds in metrics.deploy_times:
        deploy_times[week_of(day)].append(seconds)
    for day, seconds in metrics.restores:
        restores[week_of(day)].append(seconds)
    for day, count in metrics.finished_by_day.items():
        finished[week_of(day)] += count
    for day, count in metrics.failures_by_day.items():
        failures[week_of(day)] += count
    weeks = []
    for offset in range(0, period.days, 7):
        start = period.since + timedelta(days=offset)
        weeks.append(Week(start, len(deploy_times[start]), median(deploy_times[start]), percentile(deploy_times[start], 90),
                          failures[start] / finished[start] if finished[start] else None, median(restores[start])))
    return weeks
