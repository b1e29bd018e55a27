"""The dashboard's exports: /export/<deployments|audit>.<csv|json> for a period, streamed
in pieces so that a year of records never sits in memory at once.

The export's session is opened, read and closed in one thread of its own (one per export):
a session, and on SQLite its connection, belongs to the thread that opened it. Read from
the shared worker threads, a year's CSV came out with 1,837 of 20,000 rows and status 200
(issue 25). If the reading fails after the status was sent, the connection is closed
without the export's end (exports.py: the CSV's final line, the JSON's closing "]").
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from sanic import Sanic

from deploybot.ledger import exports, queries
from deploybot.ledger.web_dashboard import HEADERS, dashboard_of
from deploybot.ledger.web_params import text

log = logging.getLogger("deploybot.ledger.web")


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
    loop = asyncio.get_running_loop()
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export")
    session_context, resp = dashboard.database.transaction(), None
    try:
        session = await loop.run_in_executor(reader, session_context.__enter__)
    except Exception:
        reader.shutdown(wait=False)
        raise
    try:
        chunks = exports.export(records(session, where), what, fmt)
        # The first piece before the status: a query that fails at once is an error page.
        piece = await loop.run_in_executor(reader, next_piece, chunks)
        resp = await request.respond(content_type=exports.media_type(fmt), headers={
            **HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})
        while piece:
            await resp.send(piece)
            piece = await loop.run_in_executor(reader, next_piece, chunks)
    except Exception:
        log.exception("the export %s stopped before its end", request.path)
        if resp is not None:   # the status was sent: cut the body short, without its end
            request.transport.close()
            return None
        raise
    finally:
        await loop.run_in_executor(reader, session_context.__exit__, None, None, None)
        reader.shutdown(wait=False)
    await resp.eof()


def records_of(what: str, args, chosen):
    """The filter the query values make, and the query that reads those records."""
    if what == "deployments":
        where = queries.DeploymentFilter(app=text(args, "app"), environment=text(args, "environment"),
                                         person=text(args, "person"), state=text(args, "state"), period=chosen)
        return where, queries.deployments
    where = queries.AuditFilter(actor=text(args, "actor"), action=text(args, "action"),
                                outcome=text(args, "outcome"), app=text(args, "app"), period=chosen)
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
