"""The period a freeze asked for in chat names (deploybot/domain/freeze_request.py), read in
the bot's time zone at a fixed moment: Tuesday 2026-12-08 10:00 in Europe/Berlin, and the
Friday before the clocks go back (2026-10-23)."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from deploybot.domain.freeze_request import BadPeriod, freeze_period, wants_period

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize("text, start, end, reason", [
    ("freeze production from Friday 18:00 until Monday 08:00: release weekend", at(2026, 12, 11, 18), at(2026, 12, 14, 8), "release weekend"),
    ("@bender freeze prod from Saturday 09:00 to Sunday 20:00, reason: datacenter move", at(2026, 12, 12, 9), at(2026, 12, 13, 20), "datacenter move"),
    ("freeze shop on live between friday 12:00 and saturday 23:00 because of black friday", at(2026, 12, 11, 12), at(2026, 12, 12, 23), "black friday"),
    ("freeze prod from 2026-12-23 18:00 until 2027-01-04 08:00: end of year", at(2026, 12, 23, 18), at(2027, 1, 4, 8), "end of year"),
    ("freeze search on production from 10pm until 2am: reindex", at(2026, 12, 8, 22), at(2026, 12, 9, 2), "reindex"),
    ("freeze staging from 13:00 until 15:00 today, demo", at(2026, 12, 8, 13), at(2026, 12, 8, 15), "demo"),
    ("freeze staging from 00:00 today until tomorrow 23:00: tests", TUESDAY, at(2026, 12, 9, 23), "tests"),  # a start passed is now
    ("freeze prod from tuesday 08:00 until tuesday 09:00: x", at(2026, 12, 15, 8), at(2026, 12, 15, 9), "x"),  # today's is over: next week
    ("freeze billing on prod from the 30th 18:00 until the 2nd 09:00, month-end", at(2026, 12, 30, 18), at(2027, 1, 2, 9), "month-end"),
    ("create a freeze on production starting Friday 18:00, ending Monday 08:00: release", at(2026, 12, 11, 18), at(2026, 12, 14, 8), "release"),
])
def test_periods_in_the_bots_time_zone(text, start, end, reason):
    period = freeze_period(text, TUESDAY)
    assert (period.starts_at, period.ends_at, period.reason) == (start, end, reason)


def test_the_weekend_the_clocks_go_back_keeps_local_times():
    period = freeze_period("freeze production from Friday 18:00 until Monday 08:00: release weekend", at(2026, 10, 22, 12))
    assert (period.starts_at.utcoffset().total_seconds(), period.ends_at.utcoffset().total_seconds()) == (7200, 3600)
    assert (period.starts_at.hour, period.ends_at.hour, period.ends_at.day) == (18, 8, 26)


@pytest.mark.parametrize("text", ["freeze production", "lock prod until 6pm", "freeze staging for the demo",
                                  "deploy cms from 1.2.3 to 1.2.4"])
def test_no_period_is_no_freeze_period(text):
    assert freeze_period(text, TUESDAY) is None and not wants_period(text)


@pytest.mark.parametrize("text, says", [
    ("freeze prod from 2 to 4", "with minutes or am/pm"),
    ("freeze prod from 2026-12-20 10:00 until 2026-12-19 10:00", "must end after it starts"),
    ("freeze prod from 2026-12-20 10:00 until 2027-06-01 10:00", "at most 62 days"),
])
def test_bad_periods_are_said(text, says):
    with pytest.raises(BadPeriod, match=says):
        freeze_period(text, TUESDAY)
