"""When a scheduled deploy starts, read from the message at fixed instants, in Europe/Berlin
(daylight saving time ends on Sun 2026-10-25 and starts on Sun 2027-03-28)."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from deploybot.domain.schedule_times import BadStart, MAX_AHEAD, after_the_freeze, check_start, find_start
from deploybot.pipeline.gate import Block

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 8, 10, 15, tzinfo=BERLIN)   # a Tuesday morning


def local(*parts):
    return datetime(*parts, tzinfo=BERLIN)


@pytest.mark.parametrize("text, expected", [
    ("deploy cms 1.0.3 to production at 18:00", local(2026, 12, 8, 18, 0)),
    ("deploy cms 1.0.3 at 6pm", local(2026, 12, 8, 18, 0)),
    ("deploy cms 1.0.3 today at 18:30", local(2026, 12, 8, 18, 30)),
    ("deploy cms 1.0.3 at 07:00", local(2026, 12, 9, 7, 0)),            # passed today: tomorrow
    ("deploy cms 1.0.3 today at 07:00", local(2026, 12, 8, 7, 0)),      # passed: refused by check_start
    ("deploy cms 1.0.3 tonight at 22:00", local(2026, 12, 8, 22, 0)),
    ("deploy cms 1.0.3 tonight at 10", local(2026, 12, 8, 22, 0)),
    ("deploy cms 1.0.3 tonight", local(2026, 12, 8, 20, 0)),
    ("deploy cms 1.0.3 tomorrow 7am", local(2026, 12, 9, 7, 0)),
    ("deploy cms 1.0.3 tomorrow at 07:30", local(2026, 12, 9, 7, 30)),
    ("deploy cms 1.0.3 tomorrow", local(2026, 12, 9, 9, 0)),
])
def test_times_in_the_bots_zone(text, expected):
    start = find_start(text, NOW)
    assert start is not None and not start.after_freeze
    assert start.at == expected and start.at.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["deploy cms 1.0.3 to production", "deploy cms 18.0.0", "deploy cms 1.0.3 at 6",
                                  "deploy cms 1.0.3 tomorrow at 25:00", "deploy cms version 1.0.18"])
def test_no_time_is_a_deploy_now(text):
    start = find_start(text, NOW)
    assert start is None or start.at is None


def test_the_time_words_are_located():
    text = "deploy cms 1.0.3 to production at 18:00 please"
    start = find_start(text, NOW)
    assert text[start.span[0]:start.span[1]] == "at 18:00"


def test_across_the_end_of_daylight_saving_time():
    # Sat 2026-10-24 20:00 CEST (UTC+2); the clocks go back in the night
    now = local(2026, 10, 24, 20, 0)
    start = find_start("deploy cms 1.0.3 tomorrow at 18:00", now).at
    assert start == local(2026, 10, 25, 18, 0) and start.utcoffset() == timedelta(hours=1)   # CET
    assert start.astimezone(timezone.utc) == datetime(2026, 10, 25, 17, 0, tzinfo=timezone.utc)
    # 22 hours by the clock on the wall, 23 real hours: the night has an hour more
    assert start - now == timedelta(hours=22)
    assert start.astimezone(timezone.utc) - now.astimezone(timezone.utc) == timedelta(hours=23)


def test_across_the_start_of_daylight_saving_time():
    now = local(2027, 3, 27, 23, 0)   # CET, the night the clocks go forward
    start = find_start("deploy cms 1.0.3 at 07:00", now).at
    assert start.astimezone(timezone.utc) == datetime(2027, 3, 28, 5, 0, tzinfo=timezone.utc)   # 07:00 CEST


def test_after_the_freeze_is_when_every_freeze_opens():
    start = find_start("deploy cms 1.0.3 after the freeze", NOW)
    assert start.after_freeze and start.at is None
    ends = [datetime(2026, 12, 14, 7, 0, tzinfo=timezone.utc), datetime(2026, 12, 15, 7, 0, tzinfo=timezone.utc)]
    found = [Block("freeze", "release weekend", ends[0], True), Block("lock", "db", None),
             Block("freeze", "audit", ends[1], True)]
    assert after_the_freeze(found, NOW) == ends[1]
    assert after_the_freeze(found, NOW).tzinfo == BERLIN


def test_after_the_freeze_without_a_freeze_says_there_is_none():
    with pytest.raises(BadStart, match="no freeze"):
        after_the_freeze([Block("lock", "db migration", None)], NOW)
    with pytest.raises(BadStart, match="no end"):
        after_the_freeze([Block("freeze", "forever", None, True)], NOW)


def test_past_and_far_starts_are_refused():
    with pytest.raises(BadStart, match="passed"):
        check_start(NOW - timedelta(minutes=1), NOW)
    with pytest.raises(BadStart, match="14 days"):
        check_start(NOW + MAX_AHEAD + timedelta(minutes=1), NOW)
    assert check_start(NOW + MAX_AHEAD, NOW) == NOW + MAX_AHEAD
