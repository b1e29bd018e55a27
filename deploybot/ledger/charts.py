"""The metrics as SVG charts, drawn on the server with matplotlib: the pages need no
JavaScript. Figures are made without pyplot, so that two requests never share its state.

Every chart's time axis is the chosen period, from its first local day to the end of its
last, whatever data there is; its numbers are grouped in buckets of a day (periods up to a
month) or of a week from the period's first day (longer ones), and each bar is one bucket
wide. Durations are drawn in the unit that suits the largest value (s, min, h, d), and the
axis label names it. Each chart has its numbers in a table on the page as well; the image
is the overview.
"""
from __future__ import annotations

import io
import math
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # no display here; SVG is written by the figure itself
from matplotlib.dates import DateFormatter, MonthLocator, date2num  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, MaxNLocator  # noqa: E402

from deploybot.ledger.metrics import Metrics, median, percentile  # noqa: E402
from deploybot.ledger.periods import Period  # noqa: E402

CHARTS = {
    "frequency": "Successful deployments",
    "deploy-time": "Deploy time (request to deployed): median and p90",
    "failures": "Failed builds or rolled back (our figure, not DORA's change failure rate)",
    "restore": "Back to a success after a failure (median)",
}
NO_DATA = "no data in this period"
SIZE = (7.5, 2.6)
BLUE, ORANGE, RED, GREEN = "#1f5fa8", "#c2560c", "#b3261e", "#2e7d32"
matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "deploybot-ledger", "font.size": 9})

# Periods up to this many days are drawn a day per bucket, longer ones a week per bucket:
# a month of daily bars still reads, a year of them (365) does not and drew in 250 ms.
MOST_DAYS = 31
MOST_TICKS = 8
# (unit, seconds in it), smallest first: a duration is drawn in the largest unit that its
# largest value fills at least twice, so "0.04 min" reads "2.4 s" and "1,500 min" "25 h".
UNITS = (("seconds", 1), ("minutes", 60), ("hours", 3600), ("days", 86400))


class Buckets:
    """The period cut in days or weeks (the last week cut at the period's end)."""

    def __init__(self, period: Period):
        self.period = period
        self.days = 1 if period.days <= MOST_DAYS else 7
        self.name = "day" if self.days == 1 else "week"
        self.end = period.until + timedelta(days=1)
        self.starts = [period.since + timedelta(days=n) for n in range(0, period.days, self.days)]

    def of(self, day: date) -> date:
        return self.period.since + timedelta(days=(day - self.period.since).days // self.days * self.days)

    def width(self, start: date) -> int:
        return min(self.days, (self.end - start).days)

    def middle(self, start: date) -> float:
        return date2num(start) + self.width(start) / 2

    def bars(self, axes, starts: Sequence[date], heights: Sequence[float], colour: str) -> None:
        """A bar per bucket, filling 85% of it, centred in it."""
        widths = [0.85 * self.width(s) for s in starts]
        axes.bar([self.middle(s) for s in starts], heights, width=widths, color=colour)


def _figure(title: str, buckets: Buckets) -> Tuple[Figure, object]:
    figure = Figure(figsize=SIZE, dpi=100)
    axes = figure.add_subplot()
    axes.set_title(f"{title}, by {buckets.name}", loc="left", fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.set_xlim(date2num(buckets.period.since), date2num(buckets.end))
    _date_ticks(axes, buckets)
    return figure, axes


def _date_ticks(axes, buckets: Buckets) -> None:
    """Ticks a person reads: days for up to a month, weeks for a quarter, months beyond."""
    period = buckets.period
    if period.days > 190:
        months = period.days // 30 + 1
        axes.xaxis.set_major_locator(MonthLocator(interval=math.ceil(months / MOST_TICKS)))
        axes.xaxis.set_major_formatter(DateFormatter("%b %Y"))
        return
    starts = buckets.starts[::math.ceil(len(buckets.starts) / MOST_TICKS)]
    axes.xaxis.set_major_locator(FixedLocator([date2num(d) for d in starts]))
    axes.xaxis.set_major_formatter(DateFormatter("%d %b" if period.since.year == period.until.year else "%d %b %Y"))


def _no_data(axes) -> None:
    axes.set_ylim(0, 1)
    axes.set_yticks([])  # no numbers to read: no scale to suggest there are
    axes.text(0.5, 0.5, NO_DATA, transform=axes.transAxes, ha="center", va="center", color="#666666")


def _svg(figure: Figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})  # no date: the same data, the same bytes
    return buffer.getvalue()


def duration_unit(seconds: Sequence[float]) -> Tuple[str, int]:
    """The unit to draw these durations in: the largest one their largest value fills twice."""
    largest = max(seconds, default=0)
    chosen = UNITS[0]
    for unit in UNITS:
        if largest >= 2 * unit[1]:
            chosen = unit
    return chosen


def frequency_figure(metrics: Metrics, period: Period) -> Figure:
    buckets = Buckets(period)
    figure, axes = _figure(CHARTS["frequency"], buckets)
    counts = Counter(buckets.of(day) for day, _ in metrics.deploy_times)
    axes.set_ylabel(f"deployments per {buckets.name}")
    if not counts:
        _no_data(axes)
        return figure
    buckets.bars(axes, buckets.starts, [counts.get(s, 0) for s in buckets.starts], BLUE)
    axes.set_ylim(0, max(counts.values()) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    return figure


def _durations(title: str, values: List[Tuple[date, float]], period: Period,
               lines: Dict[str, Tuple[Callable[[List[float]], Optional[float]], str]]) -> Figure:
    buckets = Buckets(period)
    figure, axes = _figure(title, buckets)
    by_bucket: Dict[date, List[float]] = defaultdict(list)
    for day, seconds in values:
        by_bucket[buckets.of(day)].append(seconds)
    if not by_bucket:
        axes.set_ylabel(UNITS[1][0])
        _no_data(axes)
        return figure
    summaries = {label: {s: summary(v) for s, v in by_bucket.items()} for label, (summary, _) in lines.items()}
    unit, size = duration_unit([x for by_start in summaries.values() for x in by_start.values() if x is not None])
    axes.set_ylabel(unit)
    for label, (_, colour) in lines.items():
        starts = sorted(summaries[label])
        axes.plot([buckets.middle(s) for s in starts], [summaries[label][s] / size for s in starts],
                  marker="o", markersize=3, color=colour, label=label)
    largest = max(x for by_start in summaries.values() for x in by_start.values() if x is not None)
    axes.set_ylim(0, largest / size * 1.15)
    if len(lines) > 1:  # above the plot, where it hides no point
        axes.legend(frameon=False, loc="lower right", bbox_to_anchor=(1, 1), ncol=len(lines))
    return figure


def deploy_time_figure(metrics: Metrics, period: Period) -> Figure:
    return _durations(CHARTS["deploy-time"], metrics.deploy_times, period,
                      {"median": (median, BLUE), "p90": (lambda v: percentile(v, 90), ORANGE)})


def restore_figure(metrics: Metrics, period: Period) -> Figure:
    return _durations(CHARTS["restore"], metrics.restores, period, {"median": (median, GREEN)})


def failures_figure(metrics: Metrics, period: Period) -> Figure:
    buckets = Buckets(period)
    figure, axes = _figure(CHARTS["failures"], buckets)
    finished, failed = Counter(), Counter()
    for day, count in metrics.finished_by_day.items():
        finished[buckets.of(day)] += count
    for day, count in metrics.failures_by_day.items():
        failed[buckets.of(day)] += count
    axes.set_ylabel("% failed")
    starts = [s for s in buckets.starts if finished[s]]
    if not starts:
        _no_data(axes)
        return figure
    rates = [100 * failed[s] / finished[s] for s in starts]
    buckets.bars(axes, starts, rates, RED)
    axes.set_ylim(0, min(100, max(rates + [10]) * 1.15))
    return figure


FIGURES: Dict[str, Callable[[Metrics, Period], Figure]] = {
    "frequency": frequency_figure, "deploy-time": deploy_time_figure, "failures": failures_figure, "restore": restore_figure,
}


def chart(name: str, metrics: Metrics, period: Period) -> bytes:
    """The chart called name (a key of CHARTS) of these metrics, on the period's time axis, as SVG."""
    return _svg(FIGURES[name](metrics, period))
