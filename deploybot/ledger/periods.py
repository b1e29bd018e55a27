"""Periods: what people mean by "from 1 March to 31 March" in their own time zone.

A period is a half-open range of UTC instants [start, end): the first local midnight of
`since` up to the local midnight after `until`. Deployments belong to a period by the
moment they were requested, so each deployment is in exactly one of two adjacent periods.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DAYS = 30


class PeriodError(ValueError):
    """A date or time zone that cannot be read; the message says which."""


def zone(name: Optional[str]) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown time zone {name!r}") from None


def parse_date(text: Optional[str], what: str) -> Optional[date]:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{what}: expected a date like 2026-01-31, got {text!r}") from None


@dataclass(frozen=True)
class Period:
    since: date          # first local day, included
    until: date          # last local day, included
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(0), self.tz).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time(0), self.tz).astimezone(timezone.utc)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> "Period":
        """The period of the same length just before: for "compared with the week before"."""
        return Period(self.since - timedelta(days=self.days), self.since - timedelta(days=1), self.tz)

    def local(self, moment: Optional[datetime]) -> Optional[datetime]:
        if moment is None:
            return None
        if moment.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(self.tz)


def period(since: Optional[str] = None, until: Optional[str] = None, tz: Optional[str] = None,
           today: Optional[date] = None) -> Period:
    """The period from the texts of a form or a command line; without since, the last
    DEFAULT_DAYS days up to today (in the time zone)."""
    zone_info = zone(tz)
    today = today or datetime.now(zone_info).date()
    last = parse_date(until, "until") or today
    first = parse_date(since, "since") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise PeriodError(f"since ({first}) is after until ({last})")
    return Period(first, last, zone_info)
