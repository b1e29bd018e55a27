"""When a scheduled deploy should start, read from the message (issue 24, item 3).

    deploy cms 1.0.3 to production at 18:00     today at 18:00, or tomorrow when 18:00 has passed
    deploy cms tonight at 22:00                 today at 22:00 ("tonight" alone: 20:00)
    deploy cms tomorrow 7am                     tomorrow at 07:00 ("tomorrow" alone: 09:00)
    deploy cms after the freeze                 when the freezes that close the gate now open

Rule-based, as lock_details.py is (whose clock reading it reuses): a wrong start must not come
from a guess. Times are wall-clock times in the bot's time zone (`now` is aware, in that
zone), so 18:00 is 18:00 on both sides of a daylight saving change. Pure: `now` is given.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterable, Optional, Tuple

from deploybot.domain.lock_details import CLOCK, TOMORROW_AT, clock_time, next_at

MAX_AHEAD = timedelta(days=14)   # further away than this is refused: plans change
TONIGHT_AT = time(20, 0)

AFTER_FREEZE = re.compile(r"\bafter\s+the\s+(?:freeze|freezes|code\s+freeze|release\s+freeze)\b", re.IGNORECASE)
# "tomorrow", "tomorrow 7am", "tomorrow at 07:00", "tomorrow morning at 7"
TOMORROW = re.compile(r"\btomorrow(?:\s+(?:morning|evening|night))?(?:\s+(?:at\s+)?" + CLOCK + r")?(?![\w.:])",
                      re.IGNORECASE)
TONIGHT = re.compile(r"\b(?:tonight|this\s+evening)(?:\s+(?:at\s+)?" + CLOCK + r")?(?![\w.:])", re.IGNORECASE)
# "at 18:00", "at 6pm", "today at 18:30" (a bare "at 6" could be anything: needs minutes or am/pm)
AT_CLOCK = re.compile(r"\b(?P<today>today\s+)?at\s+" + CLOCK + r"(?![\w.:])", re.IGNORECASE)


class BadStart(ValueError):
    """A start that cannot be scheduled (in the past, too far away, no freeze to wait for):
    the message says why."""


@dataclass(frozen=True)
class Start:
    """What the message asked for: a moment (aware, in the bot's zone), or "after the freeze"."""
    at: Optional[datetime]
    after_freeze: bool = False
    span: Tuple[int, int] = (0, 0)     # where the words that said it are in the text


def _evening(at: Optional[time]) -> Optional[time]:
    """"tonight at 10" means 22:00."""
    if at is not None and at.hour < 12:
        return time(at.hour + 12, at.minute)
    return at


def find_start(text: str, now: datetime) -> Optional[Start]:
    """The start a deploy request names, or None (an ordinary deploy, now)."""
    text = text or ""
    match = AFTER_FREEZE.search(text)
    if match:
        return Start(None, True, match.span())
    match = TOMORROW.search(text)
    if match:
        at = clock_time(match) if match.group("hour") else TOMORROW_AT
        if at is None:
            return None
        day = (now + timedelta(days=1)).date()
        return Start(datetime.combine(day, at, tzinfo=now.tzinfo), False, match.span())
    match = TONIGHT.search(text)
    if match:
        at = _evening(clock_time(match)) if match.group("hour") else TONIGHT_AT
        if at is None:
            return None
        return Start(datetime.combine(now.date(), at, tzinfo=now.tzinfo), False, match.span())
    match = AT_CLOCK.search(text)
    if match and (match.group("ampm") or match.group("minute")):
        at = clock_time(match)
        if at is not None:  # "today at 07:00" at 10:00 has passed (refused); "at 07:00" is tomorrow's
            today = datetime.combine(now.date(), at, tzinfo=now.tzinfo)
            return Start(today if match.group("today") else next_at(now, at), False, match.span())
    return None


def after_the_freeze(freezes: Iterable, now: datetime) -> datetime:
    """When the freeze Blocks (deploybot.pipeline.gate.Block, rule "freeze") that close the gate
    now all open: the latest of their opens_at. BadStart when there is no freeze, or one that
    says no end."""
    found = [block for block in freezes if getattr(block, "rule", None) == "freeze"]
    if not found:
        raise BadStart("There is no freeze now, so there is nothing to wait for: "
                       "say a time instead (“at 18:00”, “tomorrow 7am”), or deploy now.")
    if any(block.opens_at is None for block in found):
        raise BadStart("The freeze has no end I know of, so I can't schedule after it: say a time instead.")
    return max(block.opens_at for block in found).astimezone(now.tzinfo)


def check_start(at: datetime, now: datetime) -> datetime:
    """`at` when it is ahead and within MAX_AHEAD; BadStart otherwise."""
    if at <= now:
        raise BadStart(f"{at:%a %Y-%m-%d %H:%M} has passed already: say a time ahead, or deploy now.")
    if at > now + MAX_AHEAD:
        raise BadStart(f"I schedule deploys up to {MAX_AHEAD.days} days ahead, and {at:%a %Y-%m-%d %H:%M} is further: "
                       "ask again closer to the day.")
    return at


def on_day(moment: datetime, zone) -> str:
    """"Tue 2026-12-08 at 18:00 CET": a scheduled deploy's start, in the bot's time zone."""
    local = moment.astimezone(zone)
    return f"{local:%a %Y-%m-%d} at {local:%H:%M} {local.tzname() or 'UTC'}"


def scheduled(what: str, start: datetime, zone) -> str:
    """What the requester is told once the request is stored."""
    return (f"Scheduled: {what} on {on_day(start, zone)}. At that time I'll ask you here for one last yes "
            "and check everything again; “cancel my scheduled deploy” cancels it.")
