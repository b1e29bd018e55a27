"""The metrics as SVG charts, drawn on the server with matplotlib: the pages need no
JavaScript. Figures are made without pyplot, so that two requests never share its state.

Each chart has its numbers in a table on the page as well; the image is the overview.
"""
from __future__ import annotations

import io
from datetime import date
from typing import List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # no display here; SVG is written by the figure itself
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from deploybot.ledger.metrics import Week  # noqa: E402

CHARTS = {
    "frequency": "Successful deployments per day",
    "lead": "Request to deployed per week (minutes): median and p90",
    "failures": "Change failure rate per week (%)",
    "restore": "Time to restore per week (minutes, median)",
}
SIZE = (7.5, 2.6)
BLUE, ORANGE, RED, GREEN = "#1f5fa8", "#c2560c", "#b3261e", "#2e7d32"
matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "deploybot-ledger", "font.size": 9})


def _figure(title: str) -> Tuple[Figure, object]:
    figure = Figure(figsize=SIZE, dpi=100)
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    locator = AutoDateLocator(maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return figure, axes


def _svg(figure: Figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})  # no date: the same data, the same bytes
    return buffer.getvalue()


# Up to this many days a bar each; longer periods are one filled step line, which draws in a
# tenth of the time (a year of 365 bars took 250 ms of a page's 300).
MOST_BARS = 92


def frequency(days: Sequence[Tuple[date, int]]) -> bytes:
    figure, axes = _figure(CHARTS["frequency"])
    if len(days) <= MOST_BARS:
        axes.bar([d for d, _ in days], [n for _, n in days], width=0.8, color=BLUE)
    else:
        axes.fill_between([d for d, _ in days], [n for _, n in days], step="mid", color=BLUE, linewidth=0)
    axes.set_ylim(bottom=0)
    return _svg(figure)


def _minutes(value: Optional[float]) -> float:
    return float("nan") if value is None else value / 60


def lead(weeks: List[Week]) -> bytes:
    figure, axes = _figure(CHARTS["lead"])
    starts = [w.start for w in weeks]
    axes.plot(starts, [_minutes(w.lead_median) for w in weeks], marker="o", markersize=3, color=BLUE, label="median")
    axes.plot(starts, [_minutes(w.lead_p90) for w in weeks], marker="o", markersize=3, color=ORANGE, label="p90")
    axes.set_ylim(bottom=0)
    axes.legend(frameon=False, loc="upper right")
    return _svg(figure)


def failures(weeks: List[Week]) -> bytes:
    figure, axes = _figure(CHARTS["failures"])
    rates = [float("nan") if w.failure_rate is None else 100 * w.failure_rate for w in weeks]
    axes.bar([w.start for w in weeks], rates, width=5, color=RED)
    axes.set_ylim(0, max([r for r in rates if r == r] + [10]) * 1.15)
    return _svg(figure)


def restore(weeks: List[Week]) -> bytes:
    figure, axes = _figure(CHARTS["restore"])
    axes.plot([w.start for w in weeks], [_minutes(w.restore_median) for w in weeks], marker="o", markersize=3,
              color=GREEN)
    axes.set_ylim(bottom=0)
    return _svg(figure)
