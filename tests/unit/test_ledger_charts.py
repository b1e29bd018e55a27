"""The charts fit the chosen period (deploybot.ledger.charts, no database): the time axis is
the period whatever data there is, bars are one bucket wide, durations are in a unit that
reads, empty charts say so, and matplotlib warns about nothing (warnings are errors here)."""
import warnings
from datetime import date, datetime, timedelta, timezone

import pytest
from matplotlib.dates import date2num, num2date

from deploybot.ledger import charts
from deploybot.ledger.metrics import Fact, summarize
from deploybot.ledger.periods import period

pytestmark = pytest.mark.filterwarnings("error")
TOKYO = "Asia/Tokyo"


def ledger(*deployments):
    """Facts from (local requested moment, state, minutes to finish), in Tokyo time."""
    zone = period("2026-01-01", "2026-01-01", TOKYO).tz
    facts = []
    for number, (requested, state, minutes) in enumerate(deployments, start=1):
        requested = requested.replace(tzinfo=zone).astimezone(timezone.utc)
        facts.append(Fact(number, "cms", "production", "deploy", state, requested, requested + timedelta(minutes=minutes)))
    return facts


def draw(name, facts, chosen):
    """The figure as the page gets it, and its SVG, rendered with warnings as errors."""
    metrics = summarize(facts, chosen)
    figure = charts.FIGURES[name](metrics, chosen)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = charts.chart(name, metrics, chosen).decode()
    assert "<script" not in svg
    return figure.axes[0], svg


def spans_period(axes, chosen):
    assert axes.get_xlim() == (date2num(chosen.since), date2num(chosen.until + timedelta(days=1)))


def tick_days(axes):
    return [num2date(x).date() for x in axes.get_xticks()]


WEEK = period("2026-11-30", "2026-12-06", TOKYO)
# A week of deployments: two a day, 90 s and 150 s; every third one fails, restored by the next.
A_WEEK = ledger(*[(datetime(2026, 11, 30, 9) + timedelta(days=d, hours=h),
                   "failed" if (2 * d + h // 6) % 3 == 2 else "succeeded", 1.5 if h == 0 else 2.5)
                  for d in range(7) for h in (0, 6)])


@pytest.mark.parametrize("name", list(charts.CHARTS))
def test_an_empty_period_is_spanned_and_says_no_data(name):
    axes, svg = draw(name, [], WEEK)
    spans_period(axes, WEEK)
    assert charts.NO_DATA in svg
    assert axes.get_title(loc="left").endswith(", by day") and axes.get_ylabel()


@pytest.mark.parametrize("name", ["frequency", "deploy-time"])
def test_one_deployment_is_drawn_on_the_whole_period_a_day_wide(name):
    one = ledger((datetime(2026, 12, 2, 8), "succeeded", 3))    # Tokyo's 2 December, UTC's 1 December
    axes, svg = draw(name, one, WEEK)
    spans_period(axes, WEEK)
    assert charts.NO_DATA not in svg
    if name == "frequency":
        (bar,) = [p for p in axes.patches if p.get_height() > 0]
        day = date2num(date(2026, 12, 2))
        assert day <= bar.get_x() and bar.get_x() + bar.get_width() <= day + 1 and bar.get_width() >= 0.8
    else:
        assert axes.get_ylabel() == "minutes"
        (median, p90) = axes.get_lines()
        assert list(median.get_ydata()) == [3.0]


def test_a_week_has_a_tick_and_a_bar_per_day():
    for name in charts.CHARTS:
        axes, svg = draw(name, A_WEEK, WEEK)
        spans_period(axes, WEEK)
        assert tick_days(axes) == [WEEK.since + timedelta(days=n) for n in range(7)]
        assert "30 Nov" in svg and "06 Dec" in svg and ", by day" in svg    # the labels as the browser gets them
    axes, _ = draw("failures", A_WEEK, WEEK)
    assert axes.get_ylabel() == "% failed"
    assert all(0 < bar.get_width() <= 1 for bar in axes.patches) and len(axes.patches) == 7
    axes, _ = draw("frequency", A_WEEK, WEEK)
    assert axes.get_ylabel() == "deployments per day"


def test_durations_are_drawn_in_a_unit_that_reads():
    axes, _ = draw("deploy-time", A_WEEK, WEEK)           # 90 s to 150 s: minutes, not "0.04" of a day
    assert axes.get_ylabel() == "minutes"
    assert all(1.5 <= y <= 2.5 for line in axes.get_lines() for y in line.get_ydata())
    quick = ledger((datetime(2026, 12, 1, 9), "succeeded", 0.5))
    assert draw("deploy-time", quick, WEEK)[0].get_ylabel() == "seconds"
    slow = ledger((datetime(2026, 12, 1, 9), "succeeded", 60 * 30))
    assert draw("deploy-time", slow, WEEK)[0].get_ylabel() == "hours"
    assert charts.duration_unit([3 * 86400]) == ("days", 86400)


def test_a_year_is_drawn_a_week_per_bar_with_month_ticks():
    year = period("2026-01-01", "2026-12-31", TOKYO)
    facts = ledger(*[(datetime(2026, 1, 1, 10) + timedelta(days=d), "succeeded", 4) for d in range(0, 365, 3)])
    for name in charts.CHARTS:
        axes, _ = draw(name, facts, year)
        spans_period(axes, year)
        assert len(axes.get_xticks()) <= charts.MOST_TICKS + 1
    axes, _ = draw("frequency", facts, year)
    assert axes.get_ylabel() == "deployments per week"
    assert len(axes.patches) == 53 and all(bar.get_width() <= 7 for bar in axes.patches)
    assert axes.patches[-1].get_x() + axes.patches[-1].get_width() <= date2num(date(2027, 1, 1))


def test_a_quarter_has_ticks_a_week_apart():
    quarter = period("2026-10-01", "2026-12-31", TOKYO)
    facts = ledger((datetime(2026, 11, 3, 10), "failed", 4), (datetime(2026, 11, 3, 11), "succeeded", 4))
    for name in charts.CHARTS:
        axes, _ = draw(name, facts, quarter)
        spans_period(axes, quarter)
        days = tick_days(axes)
        assert len(days) <= charts.MOST_TICKS and all((b - a).days % 7 == 0 for a, b in zip(days, days[1:]))
    axes = draw("restore", facts, quarter)[0]
    assert axes.get_ylabel() == "minutes" and axes.get_title(loc="left") == "Back to a success after a failure (median), by week"


def test_a_single_day_is_one_bucket_wide():
    day = period("2026-12-02", "2026-12-02", TOKYO)
    facts = ledger((datetime(2026, 12, 2, 8), "succeeded", 3), (datetime(2026, 12, 2, 20), "failed", 3))
    for name in charts.CHARTS:
        axes, svg = draw(name, facts, day)
        spans_period(axes, day)
        assert tick_days(axes) == [date(2026, 12, 2)]
    axes, _ = draw("failures", facts, day)
    (bar,) = axes.patches
    assert bar.get_height() == 50 and 0.8 <= bar.get_width() <= 1
