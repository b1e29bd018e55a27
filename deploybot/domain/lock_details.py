"""What a lock request says besides the target: why, in the person's own words, and until when.

    lock staging for the load test          reason "the load test"
    lock prod: incident 4711                 reason "incident 4711"
    lock staging for 2 hours                 expires in 2 hours
    freeze shop until 6pm because of QA      expires today (or tomorrow) at 18:00, reason "QA"
    lock staging until tomorrow              expires tomorrow at 09:00 (TOMORROW_AT)

Rule-based on purpose: the words are few and fixed, and a wrong expiry must not come from a
guess. The reason is looked for after the last app or environment the message names, so the
"for" in "freeze deploys for the web shop" is no reason. Times are in the given time zone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterable, Optional, Tuple

NO_REASON = "no reason given"
MAX_REASON = 300
TOMORROW_AT = time(9, 0)   # "until tomorrow": when people are back, not midnight
MAX_EXPIRY = timedelta(days=31)
BOT_ADDRESS = re.compile(r"^\s*@?(?:marvin|bender)\b[\s,:]*", re.IGNORECASE)
TRAILING_BOT = re.compile(r"[\s,]*(?:@?(?:marvin|bender)|please|pls|thanks?)\s*[.!]*\s*$", re.IGNORECASE)

NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10,
                "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty-five": 45, "half an": 0.5}
UNITS = {"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
         "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
NUMBER = r"\d+(?:\.\d+)?|half an|an?|one|two|three|four|five|six|ten|twelve|fifteen|twenty|thirty|forty-five"
# "for 2 hours", "for an hour", "for the next hour", "for the next 30 min"
DURATION = re.compile(rf"\bfor\s+(?:the\s+next\s+(?P<next>{NUMBER})?|(?P<n>{NUMBER}))\s*"
                      r"(?P<unit>minutes?|mins?|m|hours?|hrs?|h|days?)\b", re.IGNORECASE)
CLOCK = r"(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?"
UNTIL_TOMORROW = re.compile(r"\buntil\s+tomorrow\b(?:\s+(?:at\s+)?" + CLOCK + r")?", re.IGNORECASE)
UNTIL_CLOCK = re.compile(r"\buntil\s+(?:today\s+)?(?:at\s+)?" + CLOCK + r"(?![\w.])", re.IGNORECASE)
UNTIL_WORD = re.compile(r"\buntil\s+(?P<word>noon|midday|midnight|tonight|end of (?:the )?day|eod)\b", re.IGNORECASE)
# What starts a reason: "because (of)", "due to", "reason:", "for", or a colon, dash, comma ...
REASON = re.compile(r"(?:\b(?:because(?:\s+of)?|due\s+to|reason:?|for)\s+|\s*[:;,—–?!]\s*|\s+-+\s+)(?P<reason>\S.*)",
                    re.IGNORECASE | re.DOTALL)
NOT_A_REASON = {"now", "a while", "the moment", "good", "me", "us"}


@dataclass(frozen=True)
class LockDetails:
    reason: str
    expires_at: Optional[datetime]   # aware, or None: until someone unlocks


class BadExpiry(ValueError):
    """An expiry that is in the past or too far away; the message says so."""


def clock_time(match: re.Match) -> Optional[time]:
    if match.group("hour") is None:
        return None
    hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
    ampm = (match.group("ampm") or "").replace(".", "").lower()
    if ampm and not 1 <= hour <= 12 or hour > 23 or minute > 59:
        return None
    if ampm == "pm" and hour != 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return time(hour, minute)


def next_at(now: datetime, at: time) -> datetime:
    """The next time the clock shows `at` (today if still ahead, else tomorrow)."""
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + timedelta(days=1)


def find_expiry(text: str, now: datetime) -> Tuple[Optional[datetime], Optional[Tuple[int, int]]]:
    """(when, span of the words that said it) or (None, None)."""
    match = DURATION.search(text)
    if match:
        word = (match.group("n") or match.group("next") or "one").lower()
        amount = float(word) if word[0].isdigit() else NUMBER_WORDS[word]
        return now + timedelta(seconds=amount * UNITS[match.group("unit").lower()]), match.span()
    match = UNTIL_TOMORROW.search(text)
    if match:
        at = clock_time(match) or TOMORROW_AT
        day = (now + timedelta(days=1)).date()
        return datetime.combine(day, at, tzinfo=now.tzinfo), match.span()
    match = UNTIL_WORD.search(text)
    if match:
        word = match.group("word").lower()
        at = {"noon": time(12), "midday": time(12), "midnight": time(0), "tonight": time(20)}.get(word, time(18))
        return next_at(now, at), match.span()
    match = UNTIL_CLOCK.search(text)
    if match and (match.group("ampm") or match.group("minute")):  # "until 6" alone could be anything
        at = clock_time(match)
        if at is not None:
            return next_at(now, at), match.span()
    return None, None


def find_reason(text: str) -> str:
    match = REASON.search(text)
    if not match:
        return NO_REASON
    reason = TRAILING_BOT.sub("", match.group("reason")).strip(" .!,;:")
    if not reason or reason.lower() in NOT_A_REASON:
        return NO_REASON
    return reason[:MAX_REASON]


def stated_reason(text: str, entity_ends: Iterable[int]) -> Optional[str]:
    """The reason a request gives after what it names ("cancel the cms deployment because the
    config is wrong"), or None. No expiry is read: only locks have one."""
    address = BOT_ADDRESS.match(text or "")
    offset = address.end() if address else 0
    after = max([end - offset for end in entity_ends if end - offset > 0], default=0)
    reason = find_reason((text or "")[offset:][after:])
    return None if reason == NO_REASON else reason


def lock_details(text: str, entity_ends: Iterable[int], now: datetime) -> LockDetails:
    """The reason and expiry a lock request gives. entity_ends: where each app or environment
    the NLU found in the text ends; now: aware, in the time zone the person means."""
    address = BOT_ADDRESS.match(text or "")
    offset = address.end() if address else 0
    text = (text or "")[offset:]
    expires_at, span = find_expiry(text, now)
    if expires_at is not None and not now < expires_at <= now + MAX_EXPIRY:
        raise BadExpiry(f"A lock can expire between now and {MAX_EXPIRY.days} days from now; "
                        "say for example “lock staging for 2 hours” or “until 6pm”, or unlock it yourself later.")
    if span:
        text = text[:span[0]] + " " * (span[1] - span[0]) + text[span[1]:]  # keeps the offsets
    after = max([end - offset for end in entity_ends if end - offset > 0], default=0)
    return LockDetails(find_reason(text[after:]), expires_at)
