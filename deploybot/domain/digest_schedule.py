"""When the weekly digest goes out: the profile's `digest:` setting, read when profiles load
(standard library only, so that loading profiles stays light).

    digest: {weekday: monday, time: "09:00"}    # the default; the profile's time_zone
    digest: false                                # switched off

DEPLOYBOT_DIGEST=off switches every bot's digest off (the test stack does); DEPLOYBOT_DIGEST_WEEKDAY
and DEPLOYBOT_DIGEST_TIME override the day and time (a test makes it fire in a minute).

The digest covers the last whole week, Monday to Sunday in the time zone, before the
moment it is due. It is sent when due and not later than CATCH_UP after: an action server
that was down at 09:00 still sends it at 10:00, but one started for the first time on a
Thursday does not post last week's numbers out of the blue.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping, Optional
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CATCH_UP = timedelta(hours=12)
TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class DigestSchedule:
    weekday: int        # 0 = Monday
    at: time            # local time of day
    tz: ZoneInfo

    def due_moment(self, week_start: date) -> datetime:
        """When the digest of the week after week_start's week is due (aware, local)."""
        return datetime.combine(week_start + timedelta(days=7 + self.weekday), self.at, self.tz)

    def due_week(self, moment: datetime, catch_up: timedelta = CATCH_UP) -> Optional[date]:
        """The Monday of the week whose digest is due at `moment` (aware), or None: not yet
        due this week, or due too long ago to be sent now."""
        local = moment.astimezone(self.tz)
        this_monday = local.date() - timedelta(days=local.weekday())
        for reported in (this_monday - timedelta(days=7), this_monday - timedelta(days=14)):
            due = self.due_moment(reported)
            # Compare instants: a local time that DST skips or repeats is still one instant.
            if due.astimezone(timezone.utc) <= moment.astimezone(timezone.utc) < (due + catch_up).astimezone(timezone.utc):
                return reported
        return None


def parse_schedule(raw, tz_name: str, where: str, environ: Mapping[str, str]) -> Optional[DigestSchedule]:
    """The schedule from a profile's `digest:` value (None, true, false or a mapping);
    None when switched off. ValueError with the place when malformed."""
    if raw is False or str(environ.get("DEPLOYBOT_DIGEST", "")).lower() in ("off", "false", "0"):
        return None
    if raw is None or raw is True:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: digest is false or a mapping like {{weekday: monday, time: \"09:00\"}}, got {raw!r}")
    if raw.get("enabled", True) is False:
        return None
    weekday = str(environ.get("DEPLOYBOT_DIGEST_WEEKDAY") or raw.get("weekday", "monday")).lower()
    if weekday not in WEEKDAYS:
        raise ValueError(f"{where}: digest.weekday is a day like monday, got {weekday!r}")
    at = str(environ.get("DEPLOYBOT_DIGEST_TIME") or raw.get("time", "09:00"))
    match = TIME.match(at)
    if not match:
        raise ValueError(f"{where}: digest.time is a time like \"09:00\", got {at!r}")
    tz = raw.get("time_zone", tz_name)
    try:
        zone = ZoneInfo(str(tz))
    except Exception:
        raise ValueError(f"{where}: digest.time_zone must be a zone like Europe/Berlin, got {tz!r}") from None
    return DigestSchedule(WEEKDAYS.index(weekday), time(int(match.group(1)), int(match.group(2))), zone)
