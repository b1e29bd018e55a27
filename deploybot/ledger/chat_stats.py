"""The answer to a stats question in chat ("how many deploys this week?"): the dashboard's
numbers (deploybot.ledger.metrics, the same computation as the metrics page) for one
environment, optionally one app, over the period the message names, and a link to the
dashboard's metrics page with the same filters."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from deploybot.ledger.chat_periods import ChatPeriod
from deploybot.ledger.metrics import Metrics, duration_text, metrics_by_target
from deploybot.ledger.periods import Period


@dataclass(frozen=True)
class StatsQuestion:
    environment: str          # checked: one this bot serves
    app: Optional[str]        # checked: a catalog id, or None for every app
    asked: ChatPeriod


def metrics_for(session: Session, period: Period, environment: str, app: Optional[str]) -> Metrics:
    """What the metrics page shows in its row for this environment (and app)."""
    table = metrics_by_target(session, period, environment, app)
    return table.get((environment, app)) or Metrics(days=period.days)


def metrics_link(base_url: str, period: Period, environment: str, app: Optional[str]) -> str:
    query = {"since": period.since.isoformat(), "until": period.until.isoformat(), "environment": environment,
             **({"app": app} if app else {}), "tz": period.tz.key}
    return f"{base_url}/metrics?{urlencode(query)}"


def percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.0%}"  # as the metrics page shows it


def answer(question: StatsQuestion, metrics: Metrics, app_name: Optional[str], link: str) -> str:
    period = question.asked.period
    span = (f"{period.since:%a %d %b %Y}" if period.days == 1
            else f"{period.since:%a %d %b} – {period.until:%a %d %b %Y}")
    what = f"{app_name} on {question.environment}" if app_name else question.environment.capitalize()
    head = f"{what}, {question.asked.label} ({span}, {period.tz.key}):"
    if metrics.finished == 0 and metrics.successes == 0:
        return f"{head} no finished deployments.\nDashboard: {link}"
    plural = "" if metrics.successes == 1 else "s"
    lines = [
        f"• {metrics.successes} successful deployment{plural} of {metrics.finished} finished"
        f" ({metrics.per_day:.2f} a day)",
        f"• request to deployed: median {duration_text(metrics.deploy_time_median)}, p90 {duration_text(metrics.deploy_time_p90)}",
        f"• change failure rate: {percent(metrics.failure_rate)} ({metrics.failures} failed, timed out or rolled back;"
        f" {metrics.rolled_back} rolled back)",
        f"• time to restore: median {duration_text(metrics.restore_median)}"
        + (f"; {metrics.unrestored} not restored yet" if metrics.unrestored else ""),
    ]
    return "\n".join([head, *lines, f"Dashboard: {link}"])
