"""Who may see the dashboard, and what every answer carries: the session check before each
request, the headers after it, the error pages, and the open routes (health, the stylesheet,
the one-time sign-in link)."""
from __future__ import annotations

import logging

from sanic import Sanic, response
from sanic.exceptions import NotFound

from deploybot.ledger.auth import COOKIE
from deploybot.ledger.periods import PeriodError
from deploybot.ledger.web_dashboard import HEADERS, HERE, OPEN_PATHS, dashboard_of

# The dashboard's one logger, whichever of its modules writes.
log = logging.getLogger("deploybot.ledger.web")


def register(app: Sanic) -> None:
    app.on_request(who_is_asking)
    app.on_response(no_caching)
    app.exception(PeriodError, ValueError)(bad_input)
    app.exception(NotFound)(not_found)
    app.get("/health")(health)
    app.get("/static/ledger.css")(stylesheet)
    app.get("/signin")(signin)


async def who_is_asking(request):
    request.ctx.user = None
    if request.path in OPEN_PATHS:
        return None
    if request.method not in ("GET", "HEAD"):
        return response.text("The dashboard only reads.\n", status=405, headers={"Allow": "GET, HEAD"})
    dashboard = dashboard_of(request)
    request.ctx.user = dashboard.gate.who(request.ip, request.headers, request.cookies.get(COOKIE))
    if request.ctx.user is None:
        return dashboard.render(request, "unauthorized.html", status=401)
    return None


async def no_caching(request, resp):
    for header, value in HEADERS.items():
        resp.headers.setdefault(header, value)


async def bad_input(request, error):
    return dashboard_of(request).render(request, "error.html", status=400, message=str(error))


async def not_found(request, error):
    if getattr(request.ctx, "user", None) is None and request.path not in OPEN_PATHS:
        return dashboard_of(request).render(request, "unauthorized.html", status=401)
    return dashboard_of(request).render(request, "error.html", status=404, message="There is no such page.")


async def health(request):
    return response.text("ok")


async def stylesheet(request):
    return await response.file(HERE / "templates" / "ledger.css", mime_type="text/css")


async def signin(request):
    dashboard = dashboard_of(request)
    gate = dashboard.gate
    token = request.args.get("token", "")
    if not token or not gate.tokens.spend(token):
        log.warning("refused a sign-in from %s: the token is unknown or spent", request.ip)
        return dashboard.render(request, "unauthorized.html", status=401, spent=bool(token))
    resp = response.redirect("/", headers=HEADERS)
    resp.cookies[COOKIE] = gate.signer.make(dashboard.environ.get("DEPLOYBOT_WEB_SIGNIN_USER", "local"))
    resp.cookies[COOKIE].update({"httponly": True, "samesite": "Lax", "path": "/",
                                 "max-age": gate.signer.lifetime})
    return resp
