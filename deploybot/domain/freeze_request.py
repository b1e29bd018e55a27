"""The period a freeze asked for in chat names, read from the words, in the bot's time zone:

    freeze production from Friday 18:00 until Monday 08:00: release weekend
    freeze billing on prod between friday 12:00 and saturday 23:00 because of black friday
    freeze staging from 13:00 until 15:00 today, demo          (today's times)
    freeze prod from 2026-12-23 18:00 to 2027-01-04 08:00: end of year
    freeze live from tomorrow 20:00 till Monday 6am

A day is today, tomorrow, a weekday ("friday", "next friday": the next one to come) or a date
("2026-12-23", "Dec 24", "24 Dec"); a time is 18:00, 6pm or 6:30 am. A start without a day is
the next time the clock shows it; an end without a day is the first time after the start.
A freeze *now*, without "from" or "between", is a lock (deploybot.domain.lock_details).
Rule-based like the lock's words, and for the same reason: a wrong period must not be a guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Optional, Tuple

from deploybot.domain.lock_details import BOT_ADDRESS, NO_REASON, clock_time, find_reason

MAX_FREEZE = timedelta(days=62)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = (r"(?:(?P<rel>today|tonight|tomorrow)|(?:next\s+|this\s+)?(?P<weekday>mon|tue|wed|thu|fri|sat|sun)[a-z]*"
       r"|(?P<iso>\d{4}-\d{2}-\d{2})"
       r"|(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<mday>\d{1,2})(?:st|nd|rd|th)?"
       r"|(?P<mday2>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month2>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
       r"|the\s+(?P<mday3>\d{1,2})(?:st|nd|rd|th))")
CLOCK = r"(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?"
PART_OF_DAY = r"(?:\s+(?:morning|afternoon|evening|night))?"
# A moment: a day and/or a time, in either order ("friday 18:00", "18:00 today", "6pm").
DAY_FIRST = rf"{DAY}{PART_OF_DAY}(?:\s*,?\s*(?:at\s+)?{CLOCK})?"
CLOCK_FIRST = rf"(?:at\s+)?{CLOCK}(?:\s+(?:on\s+)?{DAY})?"
LINKS = r"(?:from|starting(?:\s+(?:on|at|from))?|between)"
UNTIL = r"(?:until|till|til|to|and|through|-|–|ending(?:\s+(?:on|at))?)"


def named(pattern: str, suffix: str) -> str:
    return re.sub(r"\?P<(\w+)>", lambda m: f"?P<{m.group(1)}_{suffix}>", pattern)


def moment(suffix: str) -> str:
    """A moment's pattern, its groups named <name>_<suffix>a (day first) or ..b (time first)."""
    return f"(?:{named(DAY_FIRST, suffix + 'a')}|{named(CLOCK_FIRST, suffix + 'b')})"


PERIOD = re.compile(rf"\b{LINKS}\s+(?P<start>{moment('s')})\s*,?\s*{UNTIL}\s+(?P<end>{moment('e')})(?!\w)",
                    re.IGNORECASE)
LEADING_REASON = re.compile(r"^(?:reason|because(?: of)?|due to)\s*:?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class FreezePeriod:
    starts_at: datetime    # aware, in the zone of `now`
    ends_at: datetime
    reason: str


class BadPeriod(ValueError):
    """A period that cannot be a freeze (over, backwards, too long); the message says so."""


def wants_period(text: str) -> bool:
    """Whether the words name a period with a start ("from Friday 18:00 until Monday 08:00")."""
    return PERIOD.search(text or "") is not None


def part(match: re.Match, name: str, suffix: str) -> Optional[str]:
    return match.group(f"{name}_{suffix}a") or match.group(f"{name}_{suffix}b")


def day_of(match: re.Match, suffix: str, today: date, earliest: date) -> Optional[date]:
    """The day a moment names, the first on or after `earliest` for a weekday or a day of a month."""
    rel = (part(match, "rel", suffix) or "").lower()
    if rel in ("today", "tonight"):
        return today
    if rel == "tomorrow":
        return today + timedelta(days=1)
    weekday = part(match, "weekday", suffix)
    if weekday:
        wanted = WEEKDAYS.index(weekday.lower()[:3])
        return earliest + timedelta(days=(wanted - earliest.weekday()) % 7)
    if part(match, "iso", suffix):
        return date.fromisoformat(part(match, "iso", suffix))
    month = part(match, "month", suffix) or part(match, "month2", suffix)
    mday = part(match, "mday", suffix) or part(match, "mday2", suffix) or part(match, "mday3", suffix)
    if mday:
        for months_ahead in range(0, 14):
            year, index = divmod(earliest.month - 1 + months_ahead, 12)
            number = MONTHS.index(month.lower()[:3]) + 1 if month else index + 1
            if month and number != index + 1:
                continue
            try:
                candidate = date(earliest.year + year, number, int(mday))
            except ValueError:
                continue
            if candidate >= earliest:
                return candidate
    return None


def clock_of(match: re.Match, suffix: str) -> Optional[time]:
    class Parts:  # clock_time reads hour, minute, ampm
        def group(self, name):
            return part(match, name, suffix)
    return clock_time(Parts()) if part(match, "hour", suffix) is not None else None


def moment_of(match: re.Match, suffix: str, now: datetime, after: Optional[datetime]) -> datetime:
    zone, reference = now.tzinfo, after or now
    at = clock_of(match, suffix)
    has_day = any(part(match, name, suffix) for name in ("rel", "weekday", "iso", "mday", "mday2", "mday3"))
    if part(match, "hour", suffix) is not None and at is None:
        raise BadPeriod("I could not read that time; say it like 18:00 or 6pm.")
    if at is not None and not has_day and not (part(match, "minute", suffix) or part(match, "ampm", suffix)):
        raise BadPeriod("Say the times with minutes or am/pm, like 18:00 or 6pm, so that I don't guess.")
    local = reference.astimezone(zone)
    day = day_of(match, suffix, now.astimezone(zone).date(), local.date()) if has_day else None
    if day is None and has_day:
        raise BadPeriod("I could not read that day; say it like Friday, tomorrow, 2026-12-23 or Dec 24.")
    at = at or time(0, 0)
    if day is None:
        candidate = datetime.combine(local.date(), at, zone)
        return candidate if candidate > reference else datetime.combine(local.date() + timedelta(days=1), at, zone)
    candidate = datetime.combine(day, at, zone)
    weekday = part(match, "weekday", suffix)
    if weekday and candidate <= reference:
        candidate = datetime.combine(day + timedelta(days=7), at, zone)
    return candidate


def freeze_period(text: str, now: datetime) -> Optional[FreezePeriod]:
    """The period and reason a freeze request names, or None when it names no period;
    BadPeriod when it names one that cannot be. now: aware, in the bot's time zone."""
    address = BOT_ADDRESS.match(text or "")
    text = (text or "")[address.end() if address else 0:]
    match = PERIOD.search(text)
    if match is None:
        return None
    start = moment_of(match, "s", now, None)
    # A start earlier today ("from 08:00 today" said at 09:00) is now.
    start = max(start, now)
    end = moment_of(match, "e", now, start)
    if end <= start:
        raise BadPeriod("The freeze must end after it starts; say for example “from Friday 18:00 until Monday 08:00”.")
    if end - start > MAX_FREEZE:
        raise BadPeriod(f"A freeze set in chat lasts at most {MAX_FREEZE.days} days; longer ones belong in freezes.yml.")
    reason = find_reason(text[match.end():])
    return FreezePeriod(start, end, LEADING_REASON.sub("", reason) or NO_REASON)


def span_of(text: str) -> Optional[Tuple[int, int]]:
    match = PERIOD.search(text or "")
    return match.span() if match else None
