"""The four metrics on fixed ledgers (deploybot.ledger.metrics.summarize: no database)."""
from datetime import datetime, timedelta, timezone

import pytest

from deploybot.ledger.metrics import Fact, Metrics, merged, percentile, summarize, weekly
from deploybot.ledger.periods import PeriodError, period

UTC = timezone.utc
MARCH = period("2026-03-01", "2026-03-31", "UTC")


def at(day: int, hour: int = 12, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Ledger:
    """Deployments one after the other, ids in order, as the database numbers them."""

    def __init__(self):
        self.facts = []

    def add(self, requested: datetime, state: str = "succeeded", minutes: float = 5, app: str = "cms",
            environment: str = "production", kind: str = "deploy") -> Fact:
        finished = requested + timedelta(minutes=minutes) if state not in ("running",) else None
        fact = Fact(len(self.facts) + 1, app, environment, kind, state, requested, finished)
        self.facts.append(fact)
        return fact


def test_frequency_counts_successes_requested_in_the_period_per_day():
    ledger = Ledger()
    ledger.add(at(28, month=2))                      # before the period
    for day in (1, 1, 2, 15, 31):
        ledger.add(at(day))
    ledger.add(at(3), state="failed")
    ledger.add(at(4), state="running")
    metrics = summarize(ledger.facts, MARCH)
    assert metrics.successes == 5
    assert metrics.per_day == pytest.approx(5 / 31)
    assert metrics.successes_by_day[at(1).date()] == 2
    assert metrics.finished == 6                     # the running one is not finished


def test_period_boundaries_are_half_open_and_in_the_chosen_time_zone():
    ledger = Ledger()
    ledger.add(datetime(2026, 3, 1, 0, 0, tzinfo=UTC))                # first instant: in
    ledger.add(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))         # last second: in
    ledger.add(datetime(2026, 4, 1, 0, 0, tzinfo=UTC))                # the next period's
    assert summarize(ledger.facts, MARCH).successes == 2
    # In Berlin (UTC+1 in March, UTC+2 from 29 March) March starts at 23:00 UTC on 28 February
    # and ends at 22:00 UTC on 31 March.
    berlin = period("2026-03-01", "2026-03-31", "Europe/Berlin")
    assert berlin.start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert berlin.end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    ledger = Ledger()
    ledger.add(datetime(2026, 2, 28, 23, 30, tzinfo=UTC))             # 1 March, 00:30 in Berlin
    ledger.add(datetime(2026, 3, 31, 22, 30, tzinfo=UTC))             # 1 April, 00:30 in Berlin
    metrics = summarize(ledger.facts, berlin)
    assert metrics.successes == 1
    assert list(metrics.successes_by_day) == [datetime(2026, 3, 1).date()]


def test_request_to_deployed_median_and_nearest_rank_p90():
    ledger = Ledger()
    for minutes in (10, 1, 9, 2, 8, 3, 7, 4, 6, 5):
        ledger.add(at(10), minutes=minutes)
    ledger.add(at(11), state="failed", minutes=100)   # failures have no lead time
    metrics = summarize(ledger.facts, MARCH)
    assert metrics.deploy_time_median == 5.5 * 60
    assert metrics.deploy_time_p90 == 9 * 60
    assert percentile([1.0], 90) == 1.0 and percentile([], 90) is None


def test_change_failure_rate_counts_failed_timed_out_and_rolled_back_of_every_finished_one():
    ledger = Ledger()
    ledger.add(at(2))                                  # fine
    ledger.add(at(3), state="failed")
    ledger.add(at(4), state="timed_out")
    ledger.add(at(5), state="aborted")                 # finished, not a change failure
    ledger.add(at(6), state="failed_to_start")         # finished, not a change failure
    ledger.add(at(7))                                  # rolled back by the next one
    ledger.add(at(8), kind="rollback")
    ledger.add(at(9), app="shop")                      # another app's next deployment is not a rollback of cms
    ledger.add(at(9, 13), app="shop", kind="deploy")
    metrics = summarize(ledger.facts, MARCH)
    assert metrics.finished == 9
    assert metrics.failures == 3
    assert metrics.rolled_back == 1
    assert metrics.failure_rate == pytest.approx(3 / 9)


def test_a_success_rolled_back_after_the_period_ends_still_counts_as_a_failure():
    ledger = Ledger()
    ledger.add(at(31))
    later = ledger.add(at(1, month=4), kind="rollback")
    metrics = summarize(ledger.facts[:1], MARCH, following=[later])
    assert (metrics.failures, metrics.rolled_back, metrics.finished) == (1, 1, 1)


def test_time_to_restore_runs_from_the_first_failure_to_the_next_success_of_that_app_and_environment():
    ledger = Ledger()
    first = ledger.add(at(10, 9), state="failed", minutes=5)        # outage starts at 09:05
    ledger.add(at(10, 9, 30), state="timed_out", minutes=30)        # same outage
    ledger.add(at(10, 10), app="shop")                              # shop's success restores nothing of cms
    ledger.add(at(10, 10), environment="staging")                   # nor does staging's
    restored = ledger.add(at(10, 11), minutes=10)                   # 11:10
    ledger.add(at(20), state="failed")                              # never restored
    metrics = summarize(ledger.facts, MARCH)
    assert [seconds for _, seconds in metrics.restores] == [(restored.finished_at - first.finished_at).total_seconds()]
    assert metrics.restore_median == 2 * 3600 + 5 * 60
    assert metrics.unrestored == 1


def test_a_failure_at_the_end_of_the_period_is_restored_by_a_success_after_it():
    ledger = Ledger()
    failure = ledger.add(at(31, 23), state="failed", minutes=10)
    success = ledger.add(at(1, 1, month=4), minutes=10)
    metrics = summarize([failure], MARCH, following=[success])
    assert metrics.restore_median == (success.finished_at - failure.finished_at).total_seconds()
    assert metrics.unrestored == 0
    # and a failure after the period is not this period's
    assert summarize([success], MARCH, following=[ledger.add(at(2, month=4), state="failed")]).unrestored == 0


def test_a_rolled_back_success_fails_when_it_ended_and_its_rollback_restores():
    ledger = Ledger()
    bad = ledger.add(at(5, 10), minutes=5)
    rollback = ledger.add(at(5, 11), kind="rollback", minutes=3)
    metrics = summarize(ledger.facts, MARCH)
    assert metrics.restore_median == (rollback.finished_at - bad.finished_at).total_seconds()


def test_environment_totals_are_the_sum_of_their_apps_and_weeks_add_up():
    ledger = Ledger()
    ledger.add(at(2), state="failed")
    ledger.add(at(2, 14))
    ledger.add(at(9), app="shop")
    cms = summarize([f for f in ledger.facts if f.app == "cms"], MARCH)
    shop = summarize([f for f in ledger.facts if f.app == "shop"], MARCH)
    total = merged([cms, shop], MARCH)
    direct = summarize(ledger.facts, MARCH)
    assert (total.successes, total.failures, total.finished, sorted(total.deploy_times)) == \
           (direct.successes, direct.failures, direct.finished, sorted(direct.deploy_times))
    weeks = weekly(direct, MARCH)
    assert len(weeks) == 5 and weeks[0].start == MARCH.since
    assert sum(w.successes for w in weeks) == direct.successes
    assert weeks[0].failure_rate == 0.5 and weeks[1].failure_rate == 0.0 and weeks[2].failure_rate is None


def test_an_empty_period_has_no_numbers_rather_than_zeros():
    metrics = summarize([], MARCH)
    assert isinstance(metrics, Metrics)
    assert (metrics.per_day, metrics.failure_rate, metrics.deploy_time_median, metrics.restore_median) == (0.0, None, None, None)


def test_periods_refuse_what_they_cannot_read():
    with pytest.raises(PeriodError):
        period("2026-13-01")
    with pytest.raises(PeriodError):
        period("2026-03-02", "2026-03-01")
    with pytest.raises(PeriodError):
        period(tz="Mars/Olympus_Mons")
    assert period(today=at(31).date()).days == 30
