"""The period a chat question means: today, yesterday, this/last week, month, quarter or
year, the last N hours/days/weeks/months, since a date ("since 1 March", "since monday").

Read by rules from the message text, not by an NLU entity: the phrases are few and
regular, a rule reads "last 14 days" exactly (a learnt entity would need examples of every
number and date), and a phrase that is not understood is said so instead of guessed.

Weeks start on Monday (ISO 8601). "This week" (month, quarter, year) runs up to today;
"last week" (...) is the whole previous one. Periods are whole local days: "the last 24
hours" is today and yesterday. Nothing named: the last 30 days, and the answer says so. Days are local days in the time zone
given (the bot's), so "today" in Berlin starts at Berlin's midnight.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from deploybot.ledger.periods import DEFAULT_DAYS, Period, PeriodError

MAX_DAYS = 3660  # ten years: "last 99999 days" is a mistake, not a question
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
MONTH_WORD = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "fourteen": 14, "thirty": 30}

LAST_N = re.compile(r"\b(?:last|past|previous|recent)\s+(\d+|" + "|".join(NUMBER_WORDS) + r")\s+(hour|day|week|month)s?\b")
SINCE = re.compile(r"\b(?:since|from)\s+(?:the\s+)?(.+?)(?:\s+(?:on|in|for|to)\b|[?!]|\.(?!\d)|,(?!\s*\d{4})|$)")
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + MONTH_WORD + r"(?:\s+(\d{4}))?$")
MONTH_DAY = re.compile(r"^" + MONTH_WORD + r"\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?$")


@dataclass(frozen=True)
class ChatPeriod:
    period: Period
    label: str          # how the answer names it: "this week", "the last 14 days"


def understand(text: str, tz: ZoneInfo, today: date) -> ChatPeriod:
    """The period named in the text; the last DEFAULT_DAYS days when it names none.
    PeriodError when it names one that cannot be (a date in the future, a nonsense date)."""
    words = " ".join(text.lower().split())
    found = _named(words, tz, today)
    if found is not None:
        return found
    return ChatPeriod(Period(today - timedelta(days=DEFAULT_DAYS - 1), today, tz), f"the last {DEFAULT_DAYS} days")


def _named(words: str, tz: ZoneInfo, today: date) -> Optional[ChatPeriod]:
    match = LAST_N.search(words)
    if match:
        count = int(match.group(1)) if match.group(1).isdigit() else NUMBER_WORDS[match.group(1)]
        unit = match.group(2) + ("s" if count != 1 else "")
        if match.group(2) == "hour":
            # Periods are whole local days: the days that hold the last N hours, today included.
            days = count // 24 + 1 if count else 0
            if not 0 < days <= MAX_DAYS:
                raise PeriodError(f"I can count back 1 to {MAX_DAYS} days, not {count} {unit}.")
            return ChatPeriod(Period(today - timedelta(days=days - 1), today, tz),
                              f"the last {count} {unit} (the whole days: {days})")
        days = count * {"day": 1, "week": 7, "month": 30}[match.group(2)]
        if not 0 < days <= MAX_DAYS:
            raise PeriodError(f"I can count back 1 to {MAX_DAYS} days, not {count} {unit}.")
        return ChatPeriod(Period(today - timedelta(days=days - 1), today, tz), f"the last {count} {unit}")
    match = SINCE.search(words)
    if match:
        first = _date(match.group(1).strip(), today)
        if first is not None:
            if first > today:
                raise PeriodError(f"{first:%d %B %Y} is in the future: I can only count deployments that happened.")
            if (today - first).days >= MAX_DAYS:
                raise PeriodError(f"That is more than {MAX_DAYS // 366} years back: ask for a shorter period.")
            return ChatPeriod(Period(first, today, tz), f"since {first:%a %d %b %Y}")
    if re.search(r"\byesterday\b", words):
        day = today - timedelta(days=1)
        return ChatPeriod(Period(day, day, tz), "yesterday")
    if re.search(r"\btoday\b", words):
        return ChatPeriod(Period(today, today, tz), "today")
    monday = today - timedelta(days=today.weekday())
    if re.search(r"\b(?:last|previous|past)\s+week\b", words):
        return ChatPeriod(Period(monday - timedelta(days=7), monday - timedelta(days=1), tz), "last week")
    if re.search(r"\bthis\s+week\b|\bweek\s+so\s+far\b", words):
        return ChatPeriod(Period(monday, today, tz), "this week")
    first_of_month = today.replace(day=1)
    if re.search(r"\b(?:last|previous|past)\s+month\b", words):
        end = first_of_month - timedelta(days=1)
        return ChatPeriod(Period(end.replace(day=1), end, tz), "last month")
    if re.search(r"\bthis\s+month\b|\bmonth\s+so\s+far\b", words):
        return ChatPeriod(Period(first_of_month, today, tz), "this month")
    quarter_start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    if re.search(r"\b(?:last|previous|past)\s+quarter\b", words):
        end = quarter_start - timedelta(days=1)
        return ChatPeriod(Period(date(end.year, (end.month - 1) // 3 * 3 + 1, 1), end, tz), "last quarter")
    if re.search(r"\bthis\s+quarter\b", words):
        return ChatPeriod(Period(quarter_start, today, tz), "this quarter")
    if re.search(r"\b(?:last|previous|past)\s+year\b", words):
        return ChatPeriod(Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), tz), "last year")
    if re.search(r"\bthis\s+year\b|\byear\s+so\s+far\b", words):
        return ChatPeriod(Period(date(today.year, 1, 1), today, tz), "this year")
    return None


def _date(text: str, today: date) -> Optional[date]:
    """A date after "since": 2026-03-01, 1 March (2026), March 1st, monday (the last one, or
    today), yesterday. A year left out means the latest such date not after today."""
    if text in WEEKDAYS:
        return today - timedelta(days=(today.weekday() - WEEKDAYS.index(text)) % 7)
    if text == "yesterday":
        return today - timedelta(days=1)
    if text == "today":
        return today
    match = ISO_DATE.match(text)
    if match:
        return _checked(int(match.group(1)), int(match.group(2)), int(match.group(3)), text)
    match = DAY_MONTH.match(text)
    if match:
        return _with_year(int(match.group(1)), _month(match.group(2)), match.group(3), today, text)
    match = MONTH_DAY.match(text)
    if match:
        return _with_year(int(match.group(2)), _month(match.group(1)), match.group(3), today, text)
    return None


def _month(prefix: str) -> int:
    return next(n for n, name in enumerate(MONTHS, 1) if name.startswith(prefix[:3]))


def _with_year(day: int, month: int, year: Optional[str], today: date, text: str) -> date:
    if year:
        return _checked(int(year), month, day, text)
    candidate = _checked(today.year, month, day, text)
    return candidate if candidate <= today else _checked(today.year - 1, month, day, text)


def _checked(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise PeriodError(f"“{text}” is not a date I can read; try 2026-03-01 or 1 March.") from None
