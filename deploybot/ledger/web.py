"""The read-only web dashboard of the ledger: server-rendered HTML, no JavaScript.

    python -m deploybot.ledger.web --port 5090      (deploybot.cli.stack starts it)

Pages: / (what runs where now), /history, /deployments/<id>, /audit, /metrics (with its
charts as SVG images), /export/<deployments|audit>.<csv|json>. Every one answers 401
without a session (deploybot.ledger.auth); /signin?token=... opens one, /health and
/static/ are open. Only GET exists, and POST /signout, which ends the asker's own session:
nothing here can change anything in the ledger.

Environment: DEPLOYBOT_DATABASE_URL; DEPLOYBOT_WEB_SIGNIN_TOKEN (a one-time sign-in token,
from deploybot.cli.stack); DEPLOYBOT_WEB_SECRET (signs session cookies and the bots' personal sign-in links;
generated when unset, and then there are no personal links);
DEPLOYBOT_WEB_TRUSTED_PROXIES and DEPLOYBOT_WEB_USER_HEADER (the SSO proxy);
DEPLOYBOT_WEB_TIMEZONE (the default time zone of the pages, UTC when unset).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
from typing import Mapping

from sanic import Sanic

from deploybot.domain.catalog import Catalog, load_catalog
from deploybot.ledger import web_access, web_exports, web_metrics, web_pages
from deploybot.ledger.address import DEFAULT_PORT, HOST, PORT_ENV, SECRET_ENV, SIGNIN_TOKEN_ENV, web_port
from deploybot.ledger.auth import Gate, OneTimeTokens, PersonalLinks, SessionSigner, SpentTokens, trusted_proxy
from deploybot.ledger.web_dashboard import Dashboard
from deploybot.storage.database import Database, database_url

log = logging.getLogger("deploybot.ledger.web")


def gate_from(environ: Mapping[str, str], database: Database) -> Gate:
    secret = environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
    spent = SpentTokens(database)
    tokens = OneTimeTokens([environ.get(SIGNIN_TOKEN_ENV, "")], spent)
    # Personal links only with a configured secret: the bots that issue them must share it.
    links = PersonalLinks(secret.encode()) if environ.get(SECRET_ENV) else None
    return Gate(SessionSigner(secret.encode()), tokens,
                trusted_proxy(environ.get("DEPLOYBOT_WEB_TRUSTED_PROXIES", ""), environ.get("DEPLOYBOT_WEB_USER_HEADER")),
                links=links, spent=spent, local_user=environ.get("DEPLOYBOT_WEB_SIGNIN_USER") or "local")


def build_app(database: Database, catalog: Catalog, gate: Gate, environ: Mapping[str, str] = os.environ,
              name: str = "deploybot_ledger") -> Sanic:
    """The dashboard's app: one Dashboard (what the routes share) and the routes, by group."""
    app = Sanic(name)
    app.config.ACCESS_LOG = False
    app.ctx.dashboard = Dashboard(database, catalog, gate, environ)
    app.before_server_start(read_the_facts)
    web_access.register(app)  # first: the session check, headers and error pages
    web_pages.register(app)
    web_metrics.register(app)
    web_exports.register(app)
    return app


async def read_the_facts(app, _loop):
    # Before listening (about a second for 100,000 deployments): read while pages are
    # served, it would slow them down for as long.
    await asyncio.to_thread(app.ctx.dashboard.facts.refresh)


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
