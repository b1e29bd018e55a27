"""Every value a dashboard request brings, read and checked in one place: the period (its
dates and time zone), the page number, a deployment's id and the filters' texts.

Why: the routes passed what they were given straight to the database and to datetime, and
a date near the end of the calendar, a time zone that moves 0001-01-01 before the first day,
or an id beyond 64 bits answered 500 (issue 25). A value that cannot be read raises
BadInput (a ValueError: web_access answers it with a 400 page that says what was wrong);
an id that cannot exist is simply not found (404).
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Mapping, Optional
from zoneinfo import available_timezones

from deploybot.ledger.periods import Period, parse_date, period

# The dates a period may name, and its longest span: wide enough for any real ledger, far
# enough from the calendar's ends that a time zone never moves a bound off it.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
MAX_DAYS = 3660                      # ten years
MAX_TEXT = 200                       # a filter (app, person, action...) is a short name
MAX_PAGE = 10_000_000
MAX_ID = 2 ** 63 - 1                 # the largest id a database column holds


class BadInput(ValueError):
    """A query value the dashboard cannot read; the message says which and why."""


@lru_cache(maxsize=1)
def time_zones() -> frozenset:
    return frozenset(available_timezones()) | {"UTC"}


def time_zone(args: Mapping, default: str) -> str:
    """?tz=, else the dashboard's default: a name from the IANA time zone database."""
    name = args.get("tz") or default
    if name not in time_zones():
        raise BadInput(f"unknown time zone {name[:MAX_TEXT]!r} (a name like Europe/Berlin)")
    return name


def chosen_period(args: Mapping, default_tz: str) -> Period:
    """The period of ?since= and ?until= (days, both included) in the time zone."""
    for name in ("since", "until"):
        value = args.get(name)
        if value and len(value) > 20:
            raise BadInput(f"{name}: expected a date like 2026-01-31")
        day = parse_date(value, name)
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise BadInput(f"{name}: dates from {FIRST_DAY} to {LAST_DAY}, got {day}")
    chosen = period(args.get("since"), args.get("until"), time_zone(args, default_tz))
    if not FIRST_DAY <= chosen.since:   # since defaults to 30 days before until
        raise BadInput(f"since: dates from {FIRST_DAY} to {LAST_DAY}, got {chosen.since}")
    if chosen.days > MAX_DAYS:
        raise BadInput(f"a period is at most {MAX_DAYS} days; {chosen.since} to {chosen.until} is {chosen.days}")
    return chosen


def page(args: Mapping) -> int:
    """?page=, 1 when absent; a page past the end shows the last one (queries.newest_first)."""
    value = args.get("page") or "1"
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_PAGE)):
        raise BadInput(f"page: expected a number from 1, got {value[:20]!r}")
    return min(max(1, int(value)), MAX_PAGE)


def text(args: Mapping, name: str) -> Optional[str]:
    """A filter's value (an app, a person, a state...), or None for any."""
    value = args.get(name)
    if not value:
        return None
    if len(value) > MAX_TEXT or not value.isprintable():
        raise BadInput(f"{name}: expected a short name, got {value[:40]!r}")
    return value


def deployment_id(value: int) -> Optional[int]:
    """The id of a path, or None when no deployment can have it."""
    return value if 1 <= value <= MAX_ID else None
