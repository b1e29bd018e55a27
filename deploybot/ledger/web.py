"""The read-only web dashboard of the ledger: server-rendered HTML, no JavaScript.

    python -m deploybot.ledger.web --port 5090      (deploybot.stack starts it)

Pages: / (what runs where now), /history, /deployments/<id>, /audit, /metrics (with its
charts as SVG images), /export/<deployments|audit>.<csv|json>. Every one answers 401
without a session (deploybot.ledger.auth); /signin?token=... opens one, /health and
/static/ are open. Only GET exists: nothing here can change anything.

Environment: DEPLOYBOT_DATABASE_URL; DEPLOYBOT_WEB_SIGNIN_TOKEN (a one-time sign-in token,
from deploybot.stack); DEPLOYBOT_WEB_SECRET (signs session cookies; generated when unset);
DEPLOYBOT_WEB_TRUSTED_PROXIES and DEPLOYBOT_WEB_USER_HEADER (the SSO proxy);
DEPLOYBOT_WEB_TIMEZONE (the default time zone of the pages, UTC when unset).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Optional

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.exceptions import NotFound

from deploybot.catalog import Catalog, load_catalog
from deploybot.ledger import charts, exports, queries
from deploybot.ledger.address import DEFAULT_PORT, HOST, PORT_ENV, SECRET_ENV, SIGNIN_TOKEN_ENV, web_port
from deploybot.ledger.auth import COOKIE, Gate, OneTimeTokens, SessionSigner, SpentTokens, trusted_proxy
from deploybot.ledger.fact_store import FactStore
from deploybot.ledger.metrics import Metrics, daily_successes, duration_text, weekly
from deploybot.ledger.periods import PeriodError, period
from deploybot.storage.database import Database, database_url

HERE = Path(__file__).parent
OPEN_PATHS = ("/health", "/signin", "/static/ledger.css")
# Pages are for people, not caches; the sign-in link must not leak through a Referer.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}
CHART_CACHE_SECONDS = 30
log = logging.getLogger("deploybot.ledger.web")


def templates() -> Environment:
    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["duration"] = duration_text
    environment.filters["percent"] = lambda value: "–" if value is None else f"{value:.0%}"
    return environment


def gate_from(environ: Mapping[str, str], database: Database) -> Gate:
    secret = environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
    tokens = OneTimeTokens([environ.get(SIGNIN_TOKEN_ENV, "")], SpentTokens(database))
    return Gate(SessionSigner(secret.encode()), tokens,
                trusted_proxy(environ.get("DEPLOYBOT_WEB_TRUSTED_PROXIES", ""), environ.get("DEPLOYBOT_WEB_USER_HEADER")))


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


def build_app(database: Database, catalog: Catalog, gate: Gate, environ: Mapping[str, str] = os.environ,
              name: str = "deploybot_ledger") -> Sanic:
    app = Sanic(name)
    app.config.ACCESS_LOG = False
    pages = templates()
    default_tz = environ.get("DEPLOYBOT_WEB_TIMEZONE", "UTC")
    apps, environments = sorted(catalog.apps), list(catalog.environments)
    cache = Cache()
    # Every deployment's facts in memory, read once and then kept up to date (fact_store.py):
    # a year of metrics in milliseconds instead of seconds.
    facts = FactStore(database)

    @app.before_server_start
    async def read_the_facts(app, _loop):
        # Before listening (about a second for 100,000 deployments): read while pages are
        # served, it would slow them down for as long.
        await asyncio.to_thread(facts.refresh)
    # Charts show one environment: the one chosen, else production (what management reads).
    chart_environment = "production" if "production" in environments else (environments or [None])[0]

    def read(function: Callable, *args):
        """Runs a read in a worker thread with its own session: the event loop stays free."""
        def run():
            with database.transaction() as session:
                return function(session, *args)
        return asyncio.to_thread(run)

    def render(request, template: str, status: int = 200, **values) -> response.HTTPResponse:
        html = pages.get_template(template).render(user=request.ctx.user, path=request.path, apps=apps,
                                                   environments=environments, catalog=catalog, **values)
        return response.html(html, status=status, headers=HEADERS)

    def chosen_period(request):
        args = request.args
        return period(args.get("since"), args.get("until"), args.get("tz") or default_tz)

    def link(request, **changes) -> str:
        """This page's URL with some query values changed (pagination, sorting)."""
        values = {k: v for k, v in request.args.items() if k not in changes}
        values = {k: v[0] for k, v in values.items() if v and v[0]}
        values.update({k: v for k, v in changes.items() if v not in (None, "")})
        return request.path + ("?" + urllib.parse.urlencode(values) if values else "")

    def page_number(request) -> int:
        value = request.args.get("page", "1")
        return int(value) if value.isdigit() else 1

    @app.on_request
    async def who_is_asking(request):
        request.ctx.user = None
        if request.path in OPEN_PATHS:
            return None
        if request.method not in ("GET", "HEAD"):
            return response.text("The dashboard only reads.\n", status=405, headers={"Allow": "GET, HEAD"})
        request.ctx.user = gate.who(request.ip, request.headers, request.cookies.get(COOKIE))
        if request.ctx.user is None:
            return render(request, "unauthorized.html", status=401)
        return None

    @app.on_response
    async def no_caching(request, resp):
        for header, value in HEADERS.items():
            resp.headers.setdefault(header, value)

    @app.exception(PeriodError, ValueError)
    async def bad_input(request, error):
        return render(request, "error.html", status=400, message=str(error))

    @app.exception(NotFound)
    async def not_found(request, error):
        if getattr(request.ctx, "user", None) is None and request.path not in OPEN_PATHS:
            return render(request, "unauthorized.html", status=401)
        return render(request, "error.html", status=404, message="There is no such page.")

    @app.get("/health")
    async def health(request):
        return response.text("ok")

    @app.get("/static/ledger.css")
    async def stylesheet(request):
        return await response.file(HERE / "templates" / "ledger.css", mime_type="text/css")

    @app.get("/signin")
    async def signin(request):
        token = request.args.get("token", "")
        if not token or not gate.tokens.spend(token):
            log.warning("refused a sign-in from %s: the token is unknown or spent", request.ip)
            return render(request, "unauthorized.html", status=401, spent=bool(token))
        resp = response.redirect("/", headers=HEADERS)
        resp.cookies[COOKIE] = gate.signer.make(environ.get("DEPLOYBOT_WEB_SIGNIN_USER", "local"))
        resp.cookies[COOKIE].update({"httponly": True, "samesite": "Lax", "path": "/",
                                     "max-age": gate.signer.lifetime})
        return resp

    @app.get("/")
    async def now_page(request):
        tz = request.args.get("tz") or default_tz
        zone = period(tz=tz).tz
        at = datetime.now(timezone.utc)
        cells = await read(queries.now_matrix, apps, environments, at)
        return render(request, "now.html", cells=cells, at=at, local=lambda m: _local(m, zone), tz=tz)

    @app.get("/history")
    async def history_page(request):
        args = request.args
        chosen = chosen_period(request) if args.get("since") or args.get("until") else None
        where = queries.DeploymentFilter(app=args.get("app"), environment=args.get("environment"),
                                         person=args.get("person"), state=args.get("state"), period=chosen)
        page = await read(queries.history, where, page_number(request))
        people = await read(queries.people)
        tz = args.get("tz") or default_tz
        zone = period(tz=tz).tz
        return render(request, "history.html", page=page, people=people, states=queries.STATES, args=args,
                      local=lambda m: _local(m, zone), link=lambda **c: link(request, **c), tz=tz)

    @app.get("/deployments/<deployment_id:int>")
    async def deployment_page(request, deployment_id: int):
        found = await read(queries.timeline, deployment_id)
        if found is None:
            return render(request, "error.html", status=404, message=f"There is no deployment #{deployment_id}.")
        tz = request.args.get("tz") or default_tz
        zone = period(tz=tz).tz
        return render(request, "deployment.html", t=found, d=found.deployment, local=lambda m: _local(m, zone), tz=tz)

    @app.get("/audit")
    async def audit_page(request):
        args = request.args
        chosen = chosen_period(request) if args.get("since") or args.get("until") else None
        where = queries.AuditFilter(actor=args.get("actor"), action=args.get("action"), outcome=args.get("outcome"),
                                    app=args.get("app"), period=chosen)
        page = await read(queries.audit_log, where, page_number(request))
        actions = await read(queries.audit_actions)
        tz = args.get("tz") or default_tz
        zone = period(tz=tz).tz
        return render(request, "audit.html", page=page, actions=actions, args=args,
                      local=lambda m: _local(m, zone), link=lambda **c: link(request, **c), tz=tz)

    async def metrics_of(request):
        chosen = chosen_period(request)
        environment, app_id = request.args.get("environment") or None, request.args.get("app") or None
        key = (chosen, environment, app_id)
        table = await asyncio.to_thread(cache.get, key, lambda: facts.metrics_by_target(chosen, environment, app_id))
        return chosen, environment, app_id, table

    @app.get("/metrics")
    async def metrics_page(request):
        chosen, environment, app_id, table = await metrics_of(request)
        query = urllib.parse.urlencode({k: v for k, v in (("since", chosen.since.isoformat()),
                                                         ("until", chosen.until.isoformat()),
                                                         ("tz", request.args.get("tz") or default_tz),
                                                         ("environment", environment), ("app", app_id)) if v})
        shown = environment or chart_environment
        return render(request, "metrics.html", table=table, period=chosen, args=request.args, charts=charts.CHARTS,
                      chart_query=query, chart_environment=shown, tz=request.args.get("tz") or default_tz)

    @app.get("/metrics/chart/<file:str>")
    async def chart(request, file: str):
        name, _, suffix = file.partition(".")
        if name not in charts.CHARTS or suffix != "svg":
            return render(request, "error.html", status=404, message="There is no such chart.")
        chosen, environment, app_id, table = await metrics_of(request)
        environment = environment or chart_environment
        numbers = table.get((environment, app_id))
        numbers = numbers or Metrics(days=chosen.days)
        if name == "frequency":
            draw = lambda: charts.frequency(daily_successes(numbers, chosen))  # noqa: E731
        else:
            draw = lambda: getattr(charts, name)(weekly(numbers, chosen))  # noqa: E731
        # Drawn once per period, filters and chart while its metrics are cached.
        svg = await asyncio.to_thread(cache.get, ("chart", name, chosen, environment, app_id), draw)
        return response.raw(svg, content_type="image/svg+xml", headers=HEADERS)

    @app.get("/export/<file:str>")
    async def export(request, file: str):
        what, _, fmt = file.partition(".")
        if what not in exports.FIELDS or fmt not in exports.FORMATS:
            return render(request, "error.html", status=404, message="Exports are deployments or audit, csv or json.")
        chosen = chosen_period(request)
        args = request.args
        if what == "deployments":
            where = queries.DeploymentFilter(app=args.get("app"), environment=args.get("environment"),
                                             person=args.get("person"), state=args.get("state"), period=chosen)
            records = queries.deployments
        else:
            where = queries.AuditFilter(actor=args.get("actor"), action=args.get("action"),
                                        outcome=args.get("outcome"), app=args.get("app"), period=chosen)
            records = queries.audit_entries
        filename = f"deploybot-{what}-{chosen.since}-{chosen.until}.{fmt}"
        resp = await request.respond(content_type=exports.media_type(fmt), headers={
            **HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})
        session_context = database.transaction()
        session = await asyncio.to_thread(session_context.__enter__)
        try:
            chunks = exports.export(records(session, where), what, fmt)
            while True:
                piece = await asyncio.to_thread(_next_piece, chunks)
                if not piece:
                    break
                await resp.send(piece)
        finally:
            await asyncio.to_thread(session_context.__exit__, None, None, None)
        await resp.eof()

    return app


def _next_piece(chunks, size: int = 64 * 1024) -> str:
    """About size characters of an export (a batch of rows, read in this worker thread)."""
    parts, length = [], 0
    for chunk in chunks:
        parts.append(chunk)
        length += len(chunk)
        if length >= size:
            break
    return "".join(parts)


def _local(moment: Optional[datetime], zone) -> str:
    if moment is None:
        return "–"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="The ledger's read-only web dashboard.")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=None, help=f"default: {PORT_ENV} or {DEFAULT_PORT}")
    parser.add_argument("--catalog", default="apps.yml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    database = Database(database_url())
    app = build_app(database, load_catalog(args.catalog), gate_from(os.environ, database))
    port = args.port or web_port()
    if not os.environ.get(SIGNIN_TOKEN_ENV):
        log.info("no %s: sign in through the SSO proxy only", SIGNIN_TOKEN_ENV)
    app.run(host=args.host, port=port, workers=1, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
