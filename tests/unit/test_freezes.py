"""Freeze windows (deploybot/domain/freezes.py, freeze_file.py): which freeze covers an app
and environment at a fixed instant, when it ends and which comes next, across the daylight
saving changes in Europe/Berlin (2026-03-29 and 2026-10-25), and freezes.yml's errors."""
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from deploybot.domain.freeze_file import FreezeFileError, load_freezes
from deploybot.domain.freezes import Cron, Freeze, Weekly, covering, current, upcoming, wall_add
from datetime import time

BERLIN = ZoneInfo("Europe/Berlin")
ENVIRONMENTS, APPS = ("staging", "production"), ("cms", "billing", "shop")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def weekend(zone=BERLIN, **more) -> Freeze:
    """Fridays 18:00 for 62h: until Monday 08:00 on the wall clock."""
    return Freeze("production", "release weekend", zone, recurring=Weekly((4,), time(18), timedelta(hours=62)), **more)


@pytest.mark.parametrize("friday_start_utc, monday_end_utc", [
    (utc(2026, 3, 27, 17), utc(2026, 3, 30, 6)),     # CET (+1) on Friday, CEST (+2) on Monday: 61 real hours
    (utc(2026, 10, 23, 16), utc(2026, 10, 26, 7)),   # CEST on Friday, CET on Monday: 63 real hours
    (utc(2026, 6, 12, 16), utc(2026, 6, 15, 6)),     # summer, no change: 62 hours
])
def test_a_weekly_window_starts_and_ends_at_local_time_across_daylight_saving(friday_start_utc, monday_end_utc):
    freezes = [weekend()]
    assert covering(freezes, "cms", "production", friday_start_utc - timedelta(seconds=1)) is None
    found = covering(freezes, "cms", "production", friday_start_utc)
    assert (found.start.astimezone(BERLIN).hour, found.end, found.end.astimezone(BERLIN).hour) == (18, monday_end_utc, 8)
    assert covering(freezes, "cms", "production", monday_end_utc - timedelta(seconds=1)).end == monday_end_utc
    assert covering(freezes, "cms", "production", monday_end_utc) is None
    # From Thursday, it is the next one to come, said with its local start.
    [nxt] = upcoming(freezes, "cms", "production", friday_start_utc - timedelta(days=1))
    assert (nxt.start, nxt.end) == (friday_start_utc, monday_end_utc)


def test_the_window_in_the_change_night_itself_is_covered():
    # 02:30 on 2026-03-29 does not exist in Berlin; the freeze covers the whole night anyway.
    freezes = [weekend()]
    assert covering(freezes, None, "production", utc(2026, 3, 29, 0, 30)) is not None
    assert covering(freezes, None, "production", utc(2026, 10, 25, 0, 30)) is not None  # 02:30 happens twice


def test_a_cron_window_follows_local_time_across_daylight_saving():
    nightly = Freeze("production", "nightly batch", BERLIN, recurring=Cron("0 22 * * *", timedelta(hours=8)))
    for day, offset in ((utc(2026, 3, 28), 1), (utc(2026, 3, 30), 2), (utc(2026, 10, 24), 2), (utc(2026, 10, 26), 1)):
        start = day + timedelta(hours=22 - offset)
        assert covering([nightly], "shop", "production", start - timedelta(minutes=1)) is None
        found = covering([nightly], "shop", "production", start)
        assert found.start == start and found.end.astimezone(BERLIN).hour == 6


def test_one_off_periods_apps_and_environments():
    period = (datetime(2026, 12, 23, 18, tzinfo=BERLIN), datetime(2027, 1, 4, 8, tzinfo=BERLIN))
    billing = Freeze("production", "month-end", BERLIN, apps=("billing",), period=period)
    inside = utc(2026, 12, 30, 12)
    assert covering([billing], "billing", "production", inside).end == period[1]
    assert covering([billing], "cms", "production", inside) is None
    assert covering([billing], "billing", "staging", inside) is None
    assert covering([billing], None, "production", inside) is not None  # the environment has a freeze on it
    assert covering([billing], "billing", "production", utc(2027, 1, 4, 7)) is None
    assert [o.freeze for o in current([billing], None, inside)] == [billing]
    assert upcoming([billing], "billing", "production", inside) == ()


def test_back_to_back_freezes_end_when_the_last_one_does():
    first = Freeze("production", "a", BERLIN, period=(utc(2026, 12, 1, 8), utc(2026, 12, 1, 12)))
    second = Freeze("production", "b", BERLIN, period=(utc(2026, 12, 1, 12), utc(2026, 12, 1, 18)))
    assert covering([first, second], "cms", "production", utc(2026, 12, 1, 9)).end == utc(2026, 12, 1, 18)


def test_wall_clock_addition():
    assert wall_add(datetime(2026, 3, 27, 18, tzinfo=BERLIN), timedelta(hours=62), BERLIN) == utc(2026, 3, 30, 6)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "freezes.yml"
    path.write_text(text)
    return path


def test_the_file_reads_every_kind_of_freeze_with_the_default_zone(tmp_path):
    path = write(tmp_path, """
freezes:
  - environment: production
    days: [friday]
    at: "18:00"
    until: "monday 08:00"
    reason: release weekend
  - environment: production
    apps: [billing]
    cron: "0 22 * * *"
    for: 8h
    reason: nightly batch
    time_zone: UTC
  - environment: staging
    from: "2026-12-23 18:00"
    until: "2027-01-04 08:00"
    reason: end of year
""")
    weekly, nightly, once = load_freezes(path, "Europe/Berlin", ENVIRONMENTS, APPS)
    assert weekly.recurring == Weekly((4,), time(18), timedelta(hours=62)) and weekly.zone == BERLIN
    assert (nightly.apps, nightly.zone, nightly.recurring.duration) == (("billing",), ZoneInfo("UTC"), timedelta(hours=8))
    assert once.period == (datetime(2026, 12, 23, 18, tzinfo=BERLIN), datetime(2027, 1, 4, 8, tzinfo=BERLIN))
    assert weekly.source == "freezes.yml #1"
    assert covering([weekly], "cms", "production", utc(2026, 10, 26, 6, 59)).end == utc(2026, 10, 26, 7)


@pytest.mark.parametrize("entry, says", [
    ("environment: prod\n    days: [friday]\n    at: '18:00'\n    for: 62h\n    reason: x", "freeze #1 (prod): environment must be one of"),
    ("environment: production\n    days: [friday]\n    at: '18:00'\n    for: 62h", "freeze #1 (production): every freeze needs a reason"),
    ("environment: production\n    days: [fryday]\n    at: '18:00'\n    for: 62h\n    reason: x", "days must be a list of weekdays"),
    ("environment: production\n    days: [friday]\n    at: '25:00'\n    for: 62h\n    reason: x", "at must be a time like"),
    ("environment: production\n    days: [friday]\n    at: '18:00'\n    for: 62 hours\n    reason: x", "a duration like 62h"),
    ("environment: production\n    cron: '0 99 * * *'\n    for: 8h\n    reason: x", "cron must be five fields"),
    ("environment: production\n    from: '2026-12-24'\n    until: '2026-12-27 08:00'\n    reason: x", "from must be a date and time"),
    ("environment: production\n    from: '2026-12-24 08:00'\n    until: '2026-12-23 08:00'\n    reason: x", "until must be after from"),
    ("environment: production\n    apps: [nope]\n    from: '2026-12-24 08:00'\n    until: '2026-12-25 08:00'\n    reason: x", "apps must be a list of app ids"),
    ("environment: production\n    reason: x", "say when with exactly one of"),
    ("environment: production\n    days: [friday]\n    at: '18:00'\n    for: 2h\n    reason: x\n    time_zone: Mars/Base", "time_zone must be a zone"),
    ("environment: production\n    days: [friday]\n    at: '18:00'\n    for: 2h\n    reason: x\n    whenever: 1", "unknown key 'whenever'"),
])
def test_a_wrong_entry_is_named_in_the_error(tmp_path, entry, says):
    path = write(tmp_path, f"freezes:\n  - {entry}\n")
    with pytest.raises(FreezeFileError) as error:
        load_freezes(path, "Europe/Berlin", ENVIRONMENTS, APPS)
    assert str(error.value).startswith(f"{path}, freeze #1") and says in str(error.value), str(error.value)


def test_no_file_at_the_default_place_is_no_freezes(tmp_path, monkeypatch):
    monkeypatch.delenv("DEPLOYBOT_FREEZES", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_freezes(None, "UTC", ENVIRONMENTS, APPS) == ()
    monkeypatch.setenv("DEPLOYBOT_FREEZES", str(tmp_path / "missing.yml"))
    with pytest.raises(FreezeFileError, match="no such freezes file"):
        load_freezes(None, "UTC", ENVIRONMENTS, APPS)


def test_a_wrong_file_stops_the_stack_at_start_naming_the_entry(tmp_path, monkeypatch):
    from deploybot.cli.stack import startup_problem
    from deploybot.domain.profiles import load_profiles

    path = write(tmp_path, "freezes:\n  - environment: production\n    days: [friday]\n    at: '18:00'\n    for: 62h\n")
    monkeypatch.setenv("DEPLOYBOT_FREEZES", str(path))
    assert startup_problem(load_profiles()) == f"{path}, freeze #1 (production): every freeze needs a reason (it is said to whoever is refused)"
