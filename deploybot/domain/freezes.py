"""Freeze windows (issue 24): periods in which an environment, or some apps in it, take no
deployments. This module is the pure part: which freeze covers an app and environment at a
moment, when it ends, and which comes next. Reading freezes.yml is deploybot.domain.freeze_file;
freezes set in chat are rows (deploybot.storage.models.ChatFreeze) made into Freezes here.

A freeze is either recurring (days of the week at a local time, or a cron expression, with a
duration or an end) or one-off (from, until). Recurring windows are laid out in the freeze's
own time zone: "Fridays 18:00 for 62h" starts at 18:00 local every Friday, on both sides of a
daylight-saving change, and its duration is wall-clock time there (it ends Monday 08:00 local
even across the change, which is what people who write "62h" mean by it).

Every moment given or returned is aware; `now` is a parameter, never the clock.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Iterator, Optional, Tuple
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DURATION = timedelta(days=31)   # a recurring window longer than this is a mistake
HORIZON = timedelta(days=400)       # how far ahead "the next freeze" is looked for
MAX_STEPS = 5000                    # a cron that fires every minute must not loop forever

# One occurrence of a freeze: (start, end), aware.
Period = Tuple[datetime, datetime]


def wall_add(start: datetime, duration: timedelta, zone: ZoneInfo) -> datetime:
    """start + duration on the wall clock of `zone`: Friday 18:00 + 62h is Monday 08:00 there,
    whether or not the clocks change over the weekend."""
    local = start.astimezone(zone).replace(tzinfo=None) + duration
    return local.replace(tzinfo=zone)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class Weekly:
    """Days of the week at a local time, for a duration or until a later local time."""
    days: Tuple[int, ...]                 # 0 = Monday
    at: time
    duration: timedelta                   # wall-clock, in the freeze's zone

    def starts(self, after: datetime, zone: ZoneInfo) -> Iterator[datetime]:
        day = after.astimezone(zone).date()
        for offset in range(HORIZON.days + 1):
            current = day + timedelta(days=offset)
            if current.weekday() in self.days:
                yield datetime.combine(current, self.at, zone)

    def said(self) -> str:
        names = ", ".join(WEEKDAYS[d].capitalize() for d in sorted(self.days))
        return f"{names} {self.at:%H:%M} for {hours(self.duration)}"


@dataclass(frozen=True)
class Cron:
    """A cron expression (minute hour day month weekday) in the freeze's zone, with a duration."""
    expression: str
    duration: timedelta

    def cron_of(self, zone: ZoneInfo):
        # APScheduler's cron: it lays the expression out in the zone, daylight saving included.
        from apscheduler.triggers.cron import CronTrigger
        return CronTrigger.from_crontab(self.expression, timezone=zone)

    def starts(self, after: datetime, zone: ZoneInfo) -> Iterator[datetime]:
        cron, moment = self.cron_of(zone), after
        for _ in range(MAX_STEPS):
            start = cron.get_next_fire_time(None, moment)
            if start is None or start > after + HORIZON:
                return
            yield start
            moment = start + timedelta(minutes=1)

    def said(self) -> str:
        return f"cron “{self.expression}” for {hours(self.duration)}"


def hours(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}" if minutes % 60 else f"{minutes // 60}h"


@dataclass(frozen=True)
class Freeze:
    environment: str
    reason: str
    zone: ZoneInfo
    apps: Tuple[str, ...] = ()            # empty: every app in the environment
    recurring: Optional[object] = None    # Weekly or Cron
    period: Optional[Period] = None       # a one-off freeze: (from, until)
    source: str = "freezes.yml"           # "freezes.yml #2", or "chat" for one set in chat
    chat_id: Optional[int] = None         # a chat freeze's row id: only those can be lifted in chat
    set_by: Optional[str] = None

    def applies_to(self, app: Optional[str], environment: str) -> bool:
        """Whether this freeze is over `app` on `environment`; app None asks about the whole
        environment (any freeze on it counts)."""
        return environment == self.environment and (not self.apps or app is None or app in self.apps)

    def periods(self, after: datetime) -> Iterator[Period]:
        """Its occurrences that end after `after`, in order of start."""
        if self.period is not None:
            start, end = self.period
            if end > after:
                yield start, end
            return
        duration = self.recurring.duration
        # Start early enough to find the occurrence that began before `after` and still runs.
        lookback = after - duration - timedelta(days=1)
        for start in self.recurring.starts(lookback, self.zone):
            end = wall_add(start, duration, self.zone)
            if utc(end) > utc(after):
                yield start, end

    def what(self) -> str:
        """"production" or "billing, shop on production"."""
        return f"{', '.join(self.apps)} on {self.environment}" if self.apps else self.environment

    def said(self) -> str:
        how = self.recurring.said() if self.recurring is not None else "one-off"
        return f"{self.what()} ({how}, {self.source})"


@dataclass(frozen=True)
class Occurrence:
    freeze: Freeze
    start: datetime
    end: datetime


def covering(freezes: Iterable[Freeze], app: Optional[str], environment: str, now: datetime) -> Optional[Occurrence]:
    """The freeze over `app` on `environment` at `now` that ends last (several may overlap),
    with its end carried over any freeze that starts before it ends; None when nothing covers."""
    found = []
    for freeze in freezes:
        if not freeze.applies_to(app, environment):
            continue
        for start, end in freeze.periods(now):
            if utc(start) > utc(now):
                break
            found.append(Occurrence(freeze, start, end))
            break
    if not found:
        return None
    current = max(found, key=lambda o: utc(o.end))
    return Occurrence(current.freeze, current.start, ends(freezes, app, environment, current.end))


def ends(freezes: Iterable[Freeze], app: Optional[str], environment: str, end: datetime) -> datetime:
    """When deployments open again: `end`, or later when another freeze already runs then."""
    freezes = list(freezes)
    for _ in range(50):  # back-to-back windows, each taking over from the last
        later = [o.end for f in freezes if f.applies_to(app, environment)
                 for o in [first_from(f, end)] if o is not None and utc(o.start) <= utc(end) < utc(o.end)]
        if not later or max(map(utc, later)) <= utc(end):
            return end
        end = max(later, key=utc)
    return end


def first_from(freeze: Freeze, moment: datetime) -> Optional[Occurrence]:
    for start, end in freeze.periods(moment):
        return Occurrence(freeze, start, end)
    return None


def upcoming(freezes: Iterable[Freeze], app: Optional[str], environment: Optional[str], now: datetime,
             limit: int = 5) -> Tuple[Occurrence, ...]:
    """The next freezes to start after `now` (one per freeze, soonest first); environment
    None means every environment."""
    found = []
    for freeze in freezes:
        if environment is not None and not freeze.applies_to(app, environment):
            continue
        for start, end in freeze.periods(now):
            if utc(start) > utc(now):
                found.append(Occurrence(freeze, start, end))
                break
    return tuple(sorted(found, key=lambda o: utc(o.start))[:limit])


def current(freezes: Iterable[Freeze], environment: Optional[str], now: datetime) -> Tuple[Occurrence, ...]:
    """Every freeze running at `now` (one line each), on `environment` or on every environment."""
    found = []
    for freeze in freezes:
        if environment is not None and freeze.environment != environment:
            continue
        for start, end in freeze.periods(now):
            if utc(start) <= utc(now):
                found.append(Occurrence(freeze, start, end))
            break
    return tuple(sorted(found, key=lambda o: utc(o.end)))


def parse_duration(text: str) -> timedelta:
    """"62h", "90m", "2d", "1d12h", "1h30m"; ValueError otherwise."""
    match = re.fullmatch(r"\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*", str(text).lower())
    if not match or not any(match.groups()):
        raise ValueError(f"a duration like 62h, 90m, 2d or 1d12h, got {text!r}")
    days, hours_, minutes = (int(g or 0) for g in match.groups())
    duration = timedelta(days=days, hours=hours_, minutes=minutes)
    if not timedelta(0) < duration <= MAX_DURATION:
        raise ValueError(f"a duration between 1 minute and {MAX_DURATION.days} days, got {text!r}")
    return duration


def until_next(start_day: date, at: time, end_at: time, end_day: Optional[int]) -> timedelta:
    """The wall-clock duration from `at` on a day to the next `end_at` (on weekday end_day, or
    the first one after the start): "Friday 18:00 until Monday 08:00" is 62h."""
    start = datetime.combine(start_day, at)
    end = datetime.combine(start_day, end_at)
    while end <= start or (end_day is not None and end.weekday() != end_day):
        end += timedelta(days=1)
    return end - start
