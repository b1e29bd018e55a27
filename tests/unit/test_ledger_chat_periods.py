"""The period a chat question means (deploybot/ledger/chat_periods.py)."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from deploybot.ledger.chat_periods import understand
from deploybot.ledger.periods import PeriodError

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 11, 26)  # a Thursday


def days(text, today=TODAY, tz=BERLIN):
    found = understand(text, tz, today)
    return found.period.since, found.period.until, found.label


@pytest.mark.parametrize("text, since, until, label", [
    ("how many deploys this week?", date(2026, 11, 23), TODAY, "this week"),
    ("How did the week so far go", date(2026, 11, 23), TODAY, "this week"),
    ("stats for cms on production last week", date(2026, 11, 16), date(2026, 11, 22), "last week"),
    ("stats for cms on production this month", date(2026, 11, 1), TODAY, "this month"),
    ("how often did we deploy last month", date(2026, 10, 1), date(2026, 10, 31), "last month"),
    ("deploys today", TODAY, TODAY, "today"),
    ("failures YESTERDAY?", date(2026, 11, 25), date(2026, 11, 25), "yesterday"),
    ("over the last 14 days", date(2026, 11, 13), TODAY, "the last 14 days"),
    ("the past 1 day", TODAY, TODAY, "the last 1 day"),
    ("previous two weeks", date(2026, 11, 13), TODAY, "the last 2 weeks"),
    ("since 2026-10-01", date(2026, 10, 1), TODAY, "since Thu 01 Oct 2026"),
    ("since 1 march", date(2026, 3, 1), TODAY, "since Sun 01 Mar 2026"),
    ("since March 3rd, 2025 on staging", date(2025, 3, 3), TODAY, "since Mon 03 Mar 2025"),
    ("since december 24", date(2025, 12, 24), TODAY, "since Wed 24 Dec 2025"),  # the last one that was
    ("count of deploys to stg since monday", date(2026, 11, 23), TODAY, "since Mon 23 Nov 2026"),
    ("since thursday", TODAY, TODAY, "since Thu 26 Nov 2026"),
    ("deploys in the last 24 hours", date(2026, 11, 25), TODAY, "the last 24 hours (the whole days: 2)"),
    ("past 6 hours", TODAY, TODAY, "the last 6 hours (the whole days: 1)"),
    ("this quarter", date(2026, 10, 1), TODAY, "this quarter"),
    ("stats for last quarter", date(2026, 7, 1), date(2026, 9, 30), "last quarter"),
    ("how many deploys this year", date(2026, 1, 1), TODAY, "this year"),
    ("failure rate last year", date(2025, 1, 1), date(2025, 12, 31), "last year"),
    ("what's our failure rate", date(2026, 10, 28), TODAY, "the last 30 days"),
    ("how quick are deployments from request to done?", date(2026, 10, 28), TODAY, "the last 30 days"),
])
def test_phrases(text, since, until, label):
    assert days(text) == (since, until, label)


def test_last_month_in_january_is_december_of_the_year_before():
    assert days("last month", today=date(2027, 1, 3))[:2] == (date(2026, 12, 1), date(2026, 12, 31))


def test_last_quarter_in_january_is_the_fourth_of_the_year_before():
    assert days("last quarter", today=date(2027, 1, 3))[:2] == (date(2026, 10, 1), date(2026, 12, 31))


def test_this_week_on_a_monday_is_that_day_and_last_week_ends_the_day_before():
    monday = date(2026, 11, 30)
    assert days("this week", today=monday)[:2] == (monday, monday)
    assert days("last week", today=monday)[:2] == (date(2026, 11, 23), date(2026, 11, 29))


def test_days_are_local_days_of_the_time_zone():
    # Berlin's "today" 2026-03-29 (the day clocks go forward) is 23 hours long.
    period = understand("today", BERLIN, date(2026, 3, 29)).period
    assert period.start == datetime(2026, 3, 28, 23, 0, tzinfo=timezone.utc)
    assert period.end == datetime(2026, 3, 29, 22, 0, tzinfo=timezone.utc)
    assert understand("today", ZoneInfo("UTC"), date(2026, 3, 29)).period.start == datetime(2026, 3, 29, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, says", [
    ("since 2027-01-05", "in the future"),
    ("since 2026-02-30", "not a date"),
    ("since 31 april", "not a date"),
    ("last 0 days", "1 to"),
    ("last 0 hours", "1 to"),
    ("last 99999 days", "1 to"),
    ("since 1990-01-01", "shorter period"),
])
def test_impossible_periods_are_refused_with_a_reason(text, says):
    with pytest.raises(PeriodError, match=says):
        understand(text, BERLIN, TODAY)


@pytest.mark.parametrize("text", ["since '; DROP TABLE deployments; --", "since <script>", "from " + "9" * 500])
def test_hostile_text_after_since_is_no_period(text):
    # Not a date: the default period, never an error that echoes the text, never an exception.
    assert days(text)[2] == "the last 30 days"
