"""Who may see the dashboard, and what every answer carries: the session check before each
request, the headers after it, the error pages, and the open routes (health, the stylesheet,
the one-time sign-in link)."""
from __future__ import annotations

import asyncio
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
    app.post("/signout")(signout)


async def who_is_asking(request):
    request.ctx.user = None
    if request.path in OPEN_PATHS:
        return None
    if request.method not in ("GET", "HEAD") and not (request.method == "POST" and request.path == "/signout"):
        return response.text("The dashboard only reads.\n", status=405, headers={"Allow": "GET, HEAD"})
    dashboard = dashboard_of(request)
    gate, cookie = dashboard.gate, request.cookies.get(COOKIE)
    # A thread: whether the session was signed out is a database read.
    request.ctx.user = await asyncio.to_thread(gate.who, request.ip, request.headers, cookie)
    request.ctx.by_cookie = request.ctx.user is not None and gate.proxy.user(request.ip, request.headers) is None
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
    user = gate.sign_in(token) if token else None
    if user is None:
        log.warning("refused a sign-in from %s: the link is unknown, expired or spent", request.ip)
        return dashboard.render(request, "unauthorized.html", status=401, spent=bool(token))
    log.info("%s signed in from %s", user, request.ip)
    resp = response.redirect("/", headers=HEADERS)
    resp.cookies[COOKIE] = gate.signer.make(user)
    resp.cookies[COOKIE].update({"httponly": True, "samesite": "Lax", "path": "/",
                                 "max-age": gate.signer.lifetime})
    return resp


async def signout(request):
    """Ends this browser's session for good. A form on every page posts here; SameSite=Lax
    keeps another site's form from sending the cookie, and a post the browser says came from
    elsewhere (Sec-Fetch-Site, Origin) is refused. With Referrer-Policy no-referrer a browser
    sends "Origin: null" for the dashboard's own form, so null is not taken as elsewhere."""
    dashboard = dashboard_of(request)
    site, origin = request.headers.get("sec-fetch-site"), request.headers.get("origin")
    if (site and site not in ("same-origin", "none")) or (
            origin and origin != "null" and origin.rstrip("/") != f"{request.scheme}://{request.host}"):
        return response.text("Sign out from the dashboard's own page.\n", status=403, headers=HEADERS)
    cookie = request.cookies.get(COOKIE)
    if await asyncio.to_thread(dashboard.gate.sign_out, cookie):
        log.info("%s signed out from %s", request.ctx.user, request.ip)
    request.ctx.user = None
    resp = dashboard.render(request, "unauthorized.html", status=200, signed_out=True)
    resp.cookies[COOKIE] = ""
    resp.cookies[COOKIE].update({"httponly": True, "samesite": "Lax", "path": "/", "max-age": 0})
    return resp
