"""DORA's four keys on fixed ledgers (deploybot.ledger.dora.four_keys: no database), with
answers worked out by hand, and the levels of the 2024 report at their boundaries."""
from datetime import datetime, timedelta, timezone

import pytest

from deploybot.ledger.dora import Row, four_keys, frequency_level, lead_time_level, merged
from deploybot.ledger.periods import period

UTC = timezone.utc
WEEK = period("2026-03-02", "2026-03-08", "UTC")
HOUR, DAY = 3600.0, 86400.0


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


class Ledger:
    """One app's deployments one after the other, ids in order."""

    def __init__(self):
        self.rows = []

    def add(self, requested: datetime, state="succeeded", kind="deploy", environment="production",
            commit: datetime = None, minutes: float = 10) -> Row:
        row = Row(len(self.rows) + 1, environment, kind, state, requested,
                  requested + timedelta(minutes=minutes), commit)
        self.rows.append(row)
        return row


def test_lead_time_runs_from_the_oldest_commit_not_yet_in_production_to_the_deployment():
    ledger = Ledger()
    ledger.add(at(1), commit=at(1, 8))                             # before the period: in production
    ledger.add(at(2, 9), environment="staging", commit=at(2, 6))   # the app's job built it for staging first
    ledger.add(at(3), state="failed", commit=at(3, 1))             # never reached production
    done = ledger.add(at(4), commit=None)                          # its build listed nothing new
    keys = four_keys(ledger.rows, "production", WEEK)
    # The oldest commit since production's previous success: 2 March 06:00, to 4 March 12:10.
    assert keys.lead_times == [(done.finished_at - at(2, 6)).total_seconds()]
    assert keys.lead_times == [2 * DAY + 6 * HOUR + 600]
    assert keys.lead_unknown == 0


def test_a_deployment_no_build_listed_a_commit_for_is_unknown_not_guessed():
    ledger = Ledger()
    ledger.add(at(2))
    ledger.add(at(3), commit=at(3, 10))
    keys = four_keys(ledger.rows, "production", WEEK)
    assert keys.lead_unknown == 1 and keys.lead_times == [2 * HOUR + 600]
    assert four_keys([ledger.rows[0]], "production", WEEK).lead_median is None


def test_change_failure_rate_counts_changes_rolled_back_not_failed_builds():
    ledger = Ledger()
    ledger.add(at(2), commit=at(2, 9))
    bad = ledger.add(at(3), commit=at(3, 9))
    rollback = ledger.add(at(3, 13), kind="rollback", minutes=4)
    ledger.add(at(4), state="failed")                  # a failed build: not a change failure
    ledger.add(at(4, 13), state="timed_out")
    ledger.add(at(5), commit=at(5, 9))
    keys = four_keys(ledger.rows, "production", WEEK)
    assert keys.deployments == 4                       # the rollback is a deployment
    assert keys.changes == 3 and keys.change_failures == 1
    assert keys.failure_rate == pytest.approx(1 / 3)
    assert keys.failed_builds == 2
    # Restored by the rollback: from the bad deployment's end to the rollback's end.
    assert keys.restores == [(rollback.finished_at - bad.finished_at).total_seconds()] == [54 * 60.0]
    assert keys.unrestored == 0


def test_a_rollback_after_the_period_still_makes_its_change_a_failure():
    ledger = Ledger()
    ledger.add(at(8, 20), commit=at(8, 9))
    ledger.add(at(9, 8), kind="rollback", state="failed")   # next week; the rollback failed
    keys = four_keys(ledger.rows, "production", WEEK)
    assert (keys.changes, keys.change_failures, keys.unrestored, keys.restores) == (1, 1, 1, [])
    ledger.add(at(9, 10), kind="rollback")
    assert four_keys(ledger.rows, "production", WEEK).restores == [(at(9, 10) - at(8, 20)).total_seconds()]


def test_other_environments_only_lend_their_commits():
    ledger = Ledger()
    ledger.add(at(3), environment="staging", commit=at(3, 1))
    ledger.add(at(3, 14), environment="staging", kind="rollback")
    keys = four_keys(ledger.rows, "production", WEEK)
    assert (keys.deployments, keys.changes, keys.change_failures, keys.lead_unknown) == (0, 0, 0, 0)
    assert keys.failure_rate is None and keys.lead_median is None


def test_frequency_per_day_and_week_and_the_apps_together():
    one, two = Ledger(), Ledger()
    for day in (2, 3, 4):
        one.add(at(day), commit=at(day, 2))
    two.add(at(6), commit=at(1))
    a, b = four_keys(one.rows, "production", WEEK), four_keys(two.rows, "production", WEEK)
    assert a.per_day == pytest.approx(3 / 7) and a.per_week == pytest.approx(3)
    total = merged([a, b], WEEK.days)
    assert total.deployments == 4 and total.per_week == pytest.approx(4)
    assert sorted(total.lead_times) == sorted(a.lead_times + b.lead_times)
    assert total.lead_median == pytest.approx(10 * HOUR + 600)


@pytest.mark.parametrize("per_day, level", [
    (3.0, "elite"), (1.01, "elite"), (1.0, "high"), (1 / 7, "high"), (0.14, "medium"), (1 / 30, "medium"),
    (0.03, "low"), (1 / 182, "low"), (1 / 200, None), (0.0, None)])
def test_deployment_frequency_levels(per_day, level):
    assert frequency_level(per_day) == level


@pytest.mark.parametrize("days, level", [
    (0.5, "elite"), (1.0, "high"), (7.0, "high"), (7.5, "medium"), (30.0, "medium"), (31.0, "low"),
    (182.0, "low"), (200.0, None), (None, None)])
def test_lead_time_levels(days, level):
    assert lead_time_level(None if days is None else days * DAY) == level


def test_levels_for_generated_data_with_a_known_answer():
    ledger = Ledger()
    # 14 deployments in a week (2 a day, elite), each with its commit 3 days before (high).
    for day in range(2, 9):
        for hour in (9, 15):
            ledger.add(at(day, hour), commit=at(day, hour) - timedelta(days=3))
    keys = four_keys(ledger.rows, "production", WEEK)
    assert (keys.frequency_level, keys.lead_level) == ("elite", "high")
