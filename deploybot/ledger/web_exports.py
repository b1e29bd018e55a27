"""The dashboard's exports: /export/<deployments|audit>.<csv|json> for a period, streamed
in pieces so that a year of records never sits in memory at once."""
from __future__ import annotations

import asyncio

from sanic import Sanic

from deploybot.ledger import exports, queries
from deploybot.ledger.web_dashboard import HEADERS, dashboard_of


def register(app: Sanic) -> None:
    app.get("/export/<file:str>")(export)


async def export(request, file: str):
    dashboard = dashboard_of(request)
    what, _, fmt = file.partition(".")
    if what not in exports.FIELDS or fmt not in exports.FORMATS:
        return dashboard.render(request, "error.html", status=404, message="Exports are deployments or audit, csv or json.")
    chosen = dashboard.chosen_period(request)
    where, records = records_of(what, request.args, chosen)
    filename = f"deploybot-{what}-{chosen.since}-{chosen.until}.{fmt}"
    resp = await request.respond(content_type=exports.media_type(fmt), headers={
        **HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})
    session_context = dashboard.database.transaction()
    session = await asyncio.to_thread(session_context.__enter__)
    try:
        chunks = exports.export(records(session, where), what, fmt)
        while True:
            piece = await asyncio.to_thread(next_piece, chunks)
            if not piece:
                break
            await resp.send(piece)
    finally:
        await asyncio.to_thread(session_context.__exit__, None, None, None)
    await resp.eof()


def records_of(what: str, args, chosen):
    """The filter the query values make, and the query that reads those records."""
    if what == "deployments":
        where = queries.DeploymentFilter(app=args.get("app"), environment=args.get("environment"),
                                         person=args.get("person"), state=args.get("state"), period=chosen)
        return where, queries.deployments
    where = queries.AuditFilter(actor=args.get("actor"), action=args.get("action"),
                                outcome=args.get("outcome"), app=args.get("app"), period=chosen)
    return where, queries.audit_entries


def next_piece(chunks, size: int = 64 * 1024) -> str:
    """About size characters of an export (a batch of rows, read in this worker thread)."""
    parts, length = [], 0
    for chunk in chunks:
        parts.append(chunk)
        length += len(chunk)
        if length >= size:
            break
    return "".join(parts)
