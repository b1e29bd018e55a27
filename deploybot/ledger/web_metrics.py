"""The dashboard's metrics page and its four charts (SVG images), from the facts kept in
memory (Dashboard.facts) and cached for a page and its images (Dashboard.cache)."""
from __future__ import annotations

import asyncio
import urllib.parse

from sanic import Sanic, response

from deploybot.ledger import charts, dora
from deploybot.ledger.metrics import Metrics
from deploybot.ledger.web_dashboard import HEADERS, dashboard_of
from deploybot.ledger.web_params import text


def register(app: Sanic) -> None:
    app.get("/metrics")(metrics_page)
    app.get("/metrics/chart/<file:str>")(chart)


async def metrics_of(request):
    dashboard = dashboard_of(request)
    chosen = dashboard.chosen_period(request)
    environment, app_id = text(request.args, "environment"), text(request.args, "app")
    key = (chosen, environment, app_id)
    table = await asyncio.to_thread(dashboard.cache.get, key,
                                    lambda: dashboard.facts.metrics_by_target(chosen, environment, app_id))
    return chosen, environment, app_id, table


async def metrics_page(request):
    dashboard = dashboard_of(request)
    chosen, environment, app_id, table = await metrics_of(request)
    query = urllib.parse.urlencode({k: v for k, v in (("since", chosen.since.isoformat()),
                                                     ("until", chosen.until.isoformat()),
                                                     ("tz", dashboard.tz(request)),
                                                     ("environment", environment), ("app", app_id)) if v})
    shown = environment or dashboard.chart_environment
    four_keys = await dora_of(dashboard, chosen, shown, app_id)
    return dashboard.render(request, "metrics.html", table=table, period=chosen, args=request.args,
                            charts=charts.CHARTS, chart_query=query, chart_environment=shown, tz=dashboard.tz(request),
                            dora=four_keys, dora_module=dora)


async def dora_of(dashboard, chosen, environment, app_id):
    """DORA's keys of one environment, app by app, against the period before (cached as the table)."""
    apps = [app_id] if app_id else dashboard.apps

    compute = lambda: dora.compare_in_memory(dashboard.facts, environment, chosen, apps)  # noqa: E731
    return await asyncio.to_thread(dashboard.cache.get, ("dora", chosen, environment, app_id), compute)


async def chart(request, file: str):
    dashboard = dashboard_of(request)
    name, _, suffix = file.partition(".")
    if name not in charts.CHARTS or suffix != "svg":
        return dashboard.render(request, "error.html", status=404, message="There is no such chart.")
    chosen, environment, app_id, table = await metrics_of(request)
    environment = environment or dashboard.chart_environment
    numbers = table.get((environment, app_id))
    numbers = numbers or Metrics(days=chosen.days)
    draw = lambda: charts.chart(name, numbers, chosen)  # noqa: E731  the axis is the period
    # Drawn once per period, filters and chart while its metrics are cached.
    svg = await asyncio.to_thread(dashboard.cache.get, ("chart", name, chosen, environment, app_id), draw)
    return response.raw(svg, content_type="image/svg+xml", headers=HEADERS)
