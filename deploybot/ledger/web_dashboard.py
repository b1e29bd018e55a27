"""What every route of the ledger's dashboard shares: the database, the catalog, the gate,
the templates, the headers every answer carries, and the metrics kept in memory.

build_app (deploybot.ledger.web) makes one Dashboard and keeps it in app.ctx.dashboard;
the routes (web_access, web_pages, web_metrics, web_exports) find it there.
"""
from __future__ import annotations

import asyncio
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Optional

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import response

from deploybot.domain.catalog import Catalog
from deploybot.ledger.auth import Gate
from deploybot.ledger.fact_store import FactStore
from deploybot.ledger.metrics import duration_text
from deploybot.ledger import web_params
from deploybot.ledger.periods import Period
from deploybot.storage.database import Database

HERE = Path(__file__).parent
OPEN_PATHS = ("/health", "/signin", "/static/ledger.css")  # /signout needs a session: it ends it
# Pages are for people, not caches; the sign-in link must not leak through a Referer.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}
CHART_CACHE_SECONDS = 30


def templates() -> Environment:
    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["duration"] = duration_text
    environment.filters["percent"] = lambda value: "–" if value is None else f"{value:.0%}"
    return environment


class Cache:
    """The metrics behind a page's four charts, computed once for the page and its images."""

    def __init__(self, seconds: float = CHART_CACHE_SECONDS):
        self.seconds, self._entries = seconds, {}

    def get(self, key, compute: Callable):
        found = self._entries.get(key)
        if found and time.monotonic() - found[0] < self.seconds:
            return found[1]
        value = compute()
        self._entries = {k: v for k, v in self._entries.items() if time.monotonic() - v[0] < self.seconds}
        self._entries[key] = (time.monotonic(), value)
        return value


class Dashboard:
    def __init__(self, database: Database, catalog: Catalog, gate: Gate, environ: Mapping[str, str]):
        self.database, self.catalog, self.gate, self.environ = database, catalog, gate, environ
        self.pages = templates()
        self.default_tz = environ.get("DEPLOYBOT_WEB_TIMEZONE", "UTC")
        self.apps, self.environments = sorted(catalog.apps), list(catalog.environments)
        self.cache = Cache()
        # Every deployment's facts in memory, read once and then kept up to date (fact_store.py):
        # a year of metrics in milliseconds instead of seconds.
        self.facts = FactStore(database)
        # Charts show one environment: the one chosen, else production (what management reads).
        self.chart_environment = "production" if "production" in self.environments else (self.environments or [None])[0]

    def read(self, function: Callable, *args):
        """Runs a read in a worker thread with its own session: the event loop stays free."""
        def run():
            with self.database.transaction() as session:
                return function(session, *args)
        return asyncio.to_thread(run)

    def render(self, request, template: str, status: int = 200, **values) -> response.HTTPResponse:
        html = self.pages.get_template(template).render(user=request.ctx.user, path=request.path, apps=self.apps,
                                                        signed_in_by_cookie=getattr(request.ctx, "by_cookie", False),
                                                        environments=self.environments, catalog=self.catalog, **values)
        return response.html(html, status=status, headers=HEADERS)

    def chosen_period(self, request) -> Period:
        return web_params.chosen_period(request.args, self.default_tz)

    def tz(self, request) -> str:
        """The time zone the page shows its moments in: ?tz=, else the dashboard's default."""
        return web_params.time_zone(request.args, self.default_tz)


def dashboard_of(request) -> Dashboard:
    return request.app.ctx.dashboard


def link(request, **changes) -> str:
    """This page's URL with some query values changed (pagination, sorting)."""
    values = {k: v for k, v in request.args.items() if k not in changes}
    values = {k: v[0] for k, v in values.items() if v and v[0]}
    values.update({k: v for k, v in changes.items() if v not in (None, "")})
    return request.path + ("?" + urllib.parse.urlencode(values) if values else "")


def page_number(request) -> int:
    return web_params.page(request.args)


def local(moment: Optional[datetime], zone) -> str:
    if moment is None:
        return "–"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
