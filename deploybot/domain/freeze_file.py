"""freezes.yml (or the file DEPLOYBOT_FREEZES names): the freeze windows an operator writes,
read into deploybot.domain.freezes.Freeze. Every mistake is a FreezeFileError naming the file
and the entry ("freezes.yml, freeze #2 (production): ..."), raised at start-up."""
from __future__ import annotations

import os
import re
from datetime import datetime, time
from pathlib import Path
from typing import Iterable, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deploybot.domain.config_files import read_mapping
from deploybot.domain.freezes import WEEKDAYS, Cron, Freeze, Weekly, parse_duration, until_next

FREEZES_ENV = "DEPLOYBOT_FREEZES"
DEFAULT_FREEZES_PATH = "freezes.yml"
CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DAY_AND_CLOCK = re.compile(r"^(?:(?P<day>[a-z]+)\s+)?(?P<clock>\d{1,2}:\d{2})$")
KEYS = {"environment", "apps", "reason", "time_zone", "days", "at", "for", "until", "cron", "from"}


class FreezeFileError(ValueError):
    """freezes.yml is not what it should be; the message names the file and the entry."""


def freezes_path() -> Path:
    return Path(os.environ.get(FREEZES_ENV) or DEFAULT_FREEZES_PATH)


def load_freezes(path: Optional[Path], default_zone: str, environments: Iterable[str], apps: Iterable[str]) -> Tuple[Freeze, ...]:
    """The file's freezes; no file at the default path is no freezes (a path named in
    DEPLOYBOT_FREEZES must exist)."""
    path = path or freezes_path()
    if not path.exists() and not os.environ.get(FREEZES_ENV):
        return ()
    raw = read_mapping(path, FreezeFileError, "freezes file")
    entries = raw.get("freezes") or []
    if not isinstance(entries, list):
        raise FreezeFileError(f"{path}: `freezes` must be a list of freezes")
    environments, apps = set(environments), set(apps)
    return tuple(freeze_of(entry, f"{path}, freeze #{number}", f"{path.name} #{number}", default_zone, environments, apps)
                 for number, entry in enumerate(entries, start=1))


def freeze_file_problem(time_zones: Iterable[str], catalog) -> Optional[str]:
    """freezes.yml's first wrong entry, named, or None: why the stack must not start (issue 24)."""
    try:
        for zone in dict.fromkeys(time_zones):
            load_freezes(None, zone, catalog.environments, catalog.apps)
    except FreezeFileError as wrong:
        return str(wrong)
    return None


def freeze_of(entry, where: str, source: str, default_zone: str, environments: set, apps: set) -> Freeze:
    if not isinstance(entry, dict):
        raise FreezeFileError(f"{where}: each freeze is a mapping with environment, reason and when")
    environment = entry.get("environment")
    if environment:
        where = f"{where} ({environment})"
    try:
        return _freeze(entry, source, default_zone, environments, apps)
    except ValueError as problem:
        raise FreezeFileError(f"{where}: {problem}") from None


def _freeze(entry: dict, source: str, default_zone: str, environments: set, apps: set) -> Freeze:
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    environment = entry.get("environment")
    if environment not in environments:
        raise ValueError(f"environment must be one of {', '.join(sorted(environments))}, got {environment!r}")
    named = entry.get("apps") or []
    if isinstance(named, str) or not isinstance(named, list) or any(app not in apps for app in named):
        raise ValueError(f"apps must be a list of app ids from apps.yml ({', '.join(sorted(apps))}), got {named!r}")
    reason = str(entry.get("reason") or "").strip()
    if not reason:
        raise ValueError("every freeze needs a reason (it is said to whoever is refused)")
    zone = zone_of(entry.get("time_zone") or default_zone)
    kinds = [kind for kind in ("days", "cron", "from") if kind in entry]
    if len(kinds) != 1:
        raise ValueError("say when with exactly one of: days (with at, and for or until), cron (with for), "
                         "or from (with until)")
    common = dict(environment=environment, reason=reason[:300], zone=zone, apps=tuple(named), source=source)
    if kinds == ["from"]:
        start, end = moment(entry.get("from"), zone, "from"), moment(entry.get("until"), zone, "until")
        if end <= start:
            raise ValueError("until must be after from")
        return Freeze(period=(start, end), **common)
    if kinds == ["cron"]:
        cron = Cron(str(entry["cron"]).strip(), parse_duration(required(entry, "for")))
        try:
            cron.cron_of(zone)
        except ValueError as problem:
            raise ValueError(f"cron must be five fields (minute hour day month weekday), got {entry['cron']!r}: {problem}") from None
        return Freeze(recurring=cron, **common)
    return Freeze(recurring=weekly(entry), **common)


def weekly(entry: dict) -> Weekly:
    days = entry["days"]
    days = [days] if isinstance(days, str) else days
    if not isinstance(days, list) or not days or any(str(day).lower()[:3] not in [w[:3] for w in WEEKDAYS] for day in days):
        raise ValueError(f"days must be a list of weekdays like [friday] or [mon, tue], got {entry['days']!r}")
    numbers = tuple(sorted({[w[:3] for w in WEEKDAYS].index(str(day).lower()[:3]) for day in days}))
    at = clock(required(entry, "at"), "at")
    if ("for" in entry) == ("until" in entry):
        raise ValueError("a recurring freeze has either `for` (a duration like 62h) or `until` (\"08:00\" or \"monday 08:00\")")
    if "for" in entry:
        return Weekly(numbers, at, parse_duration(entry["for"]))
    match = DAY_AND_CLOCK.match(str(entry["until"]).strip().lower())
    if not match:
        raise ValueError(f"until must be a time like \"08:00\" or a day and time like \"monday 08:00\", got {entry['until']!r}")
    end_day = None
    if match.group("day"):
        if match.group("day")[:3] not in [w[:3] for w in WEEKDAYS] or len(numbers) != 1:
            raise ValueError(f"until with a weekday needs exactly one start day, got days {entry['days']!r} until {entry['until']!r}")
        end_day = [w[:3] for w in WEEKDAYS].index(match.group("day")[:3])
    start_day = datetime(2024, 1, 1 + numbers[0]).date()  # a Monday + n: any week will do for the wall-clock length
    return Weekly(numbers, at, until_next(start_day, at, clock(match.group("clock"), "until"), end_day))


def required(entry: dict, key: str):
    if entry.get(key) in (None, ""):
        raise ValueError(f"{key} is missing")
    return entry[key]


def clock(value, key: str) -> time:
    match = CLOCK.match(str(value).strip())
    if not match:
        raise ValueError(f"{key} must be a time like \"18:00\" (24-hour, quoted), got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def moment(value, zone: ZoneInfo, key: str) -> datetime:
    """"2026-12-23 18:00" in the freeze's zone (YAML may have read it as a datetime already)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    try:
        parsed = datetime.strptime(str(value).strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise ValueError(f"{key} must be a date and time like \"2026-12-23 18:00\", got {value!r}") from None
    return parsed.replace(tzinfo=zone)


def zone_of(name) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time_zone must be a zone like Europe/Berlin or UTC, got {name!r}") from None
