"""Lock reasons and expiries from the person's words (deploybot.domain.lock_details)."""
from datetime import datetime, timedelta, timezone

import pytest

from deploybot.domain.lock_details import NO_REASON, BadExpiry, LockDetails, lock_details

NOW = datetime(2026, 11, 30, 14, 20, tzinfo=timezone.utc)


def ends(text, *names):
    return [text.index(name) + len(name) for name in names]


@pytest.mark.parametrize("text, names, reason", [
    ("lock staging for the load test", ["staging"], "the load test"),
    ("lock prod: incident 4711", ["prod"], "incident 4711"),
    ("lock staging because we are running load tests", ["staging"], "we are running load tests"),
    ("freeze production due to the incident", ["production"], "the incident"),
    ("lock shop on staging - QA is testing", ["shop", "staging"], "QA is testing"),
    ("@bender: lock down intranet on prod, black friday is coming", ["intranet", "prod"], "black friday is coming"),
    ("lock staging — release rehearsal", ["staging"], "release rehearsal"),
    ("freeze deploys for content management system", ["content management system"], NO_REASON),
    ("lock staging", ["staging"], NO_REASON),
    ("bender, lock production", ["production"], NO_REASON),
    ("lock staging for now", ["staging"], NO_REASON),
    ("lock everything for the migration", [], "the migration"),
    ("lock staging for the load test, marvin", ["staging"], "the load test"),
])
def test_the_reason_is_what_follows_for_because_due_to_a_dash_or_a_colon(text, names, reason):
    assert lock_details(text, ends(text, *names), NOW) == LockDetails(reason, None)


@pytest.mark.parametrize("text, expires_at", [
    ("lock staging for 2 hours", NOW + timedelta(hours=2)),
    ("lock staging for 30 min", NOW + timedelta(minutes=30)),
    ("lock staging for an hour", NOW + timedelta(hours=1)),
    ("block deploys to stg for the next hour", NOW + timedelta(hours=1)),
    ("lock staging until 6pm", datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)),
    ("lock staging until 9:30", datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)),  # past today: tomorrow
    ("lock staging until tomorrow", datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)),
    ("lock staging until tomorrow 7am", datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)),
    ("lock staging until noon", datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)),
    ("lock staging until I say so", None),
    ("lock staging until 6", None),  # no am/pm, no minutes: not taken as a time
])
def test_the_expiry(text, expires_at):
    target = "stg" if "stg" in text else "staging"
    assert lock_details(text, ends(text, target), NOW).expires_at == expires_at


def test_expiry_and_reason_together():
    text = "lock staging for 2 hours for the load test"
    details = lock_details(text, ends(text, "staging"), NOW)
    assert details.expires_at == NOW + timedelta(hours=2) and details.reason == "the load test"
    text = "lock prod until 6pm: incident 4711"
    details = lock_details(text, ends(text, "prod"), NOW)
    assert details.expires_at == datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc) and details.reason == "incident 4711"


def test_an_expiry_in_another_time_zone_is_that_zones_clock():
    from zoneinfo import ZoneInfo
    vienna_now = NOW.astimezone(ZoneInfo("Europe/Vienna"))  # 15:20 there
    details = lock_details("lock staging until 6pm", ends("lock staging until 6pm", "staging"), vienna_now)
    assert details.expires_at == datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)


def test_an_expiry_too_far_away_is_refused():
    with pytest.raises(BadExpiry):
        lock_details("lock staging for 90 days", ends("lock staging for 90 days", "staging"), NOW)


@pytest.mark.parametrize("text, names, reason", [
    ("cancel the cms deployment because the config is wrong", ["cms"], "the config is wrong"),
    ("roll back shop: checkout is broken", ["shop"], "checkout is broken"),
    ("roll back shop to 6.1.0 due to the outage", ["shop", "6.1.0"], "the outage"),
    ("cancel the cms deployment", ["cms"], None),
    ("roll back shop", ["shop"], None),
])
def test_cancel_and_rollback_reasons(text, names, reason):
    from deploybot.domain.lock_details import stated_reason
    assert stated_reason(text, ends(text, *names)) == reason


def test_the_readme_lock_example():
    text = "lock crm on staging for 2 hours: schema change"
    assert lock_details(text, ends(text, "crm", "staging"), NOW) == LockDetails("schema change", NOW + timedelta(hours=2))
