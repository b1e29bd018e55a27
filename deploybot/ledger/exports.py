"""Exports for compliance archives: deployments and the audit log of a period, as CSV or
JSON, written as they are read so that a year of history never sits in memory at once.

Times are ISO 8601 in UTC ("2026-03-01T09:30:00+00:00") whatever the viewer's time zone:
an archive must not depend on where it was made.

An export that stops half-way must not pass for a whole one (the web answer's status is
sent before the rows): a CSV ends with the line END_MARKER ("# end of export: N rows"),
written only after the last row; a JSON export is one array whose "]" comes last, so a
cut one does not parse. read_csv checks the marker.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Iterable, Iterator, List

from deploybot.domain.deployments import utc

FORMATS = ("csv", "json")
DEPLOYMENT_FIELDS = ["id", "assistant", "app", "environment", "version", "kind", "state", "requested_by",
                     "cancelled_by", "requested_at", "confirmed_at", "queued_at", "started_at", "finished_at",
                     "jenkins_job", "build_number", "build_url", "jenkins_result", "error", "conversation_id",
                     "output_channel"]
AUDIT_FIELDS = ["id", "at", "assistant", "actor", "action", "outcome", "target_user", "app", "environment", "detail"]
FIELDS = {"deployments": DEPLOYMENT_FIELDS, "audit": AUDIT_FIELDS}
END_MARKER = "# end of export: {rows} rows"


class IncompleteExport(ValueError):
    """A CSV export without its final line: it stopped before its end."""


def row(record, fields: List[str]) -> dict:
    values = {}
    for name in fields:
        value = getattr(record, name)
        values[name] = utc(value).isoformat() if isinstance(value, datetime) else value
    return values


def as_csv(records: Iterable, fields: List[str]) -> Iterator[str]:
    """The header, then one chunk per record, then the end marker (only if all were read)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    yield _take(buffer)
    count = 0
    for record in records:
        writer.writerow(row(record, fields))
        count += 1
        yield _take(buffer)
    yield END_MARKER.format(rows=count) + "\r\n"


def read_csv(text: str) -> List[dict]:
    """The rows of a whole CSV export; IncompleteExport if its final line is missing or
    does not count its rows."""
    body, _, last = text.rstrip("\r\n").rpartition("\n")
    last = last.rstrip("\r")
    rows = list(csv.DictReader(io.StringIO(body + "\n", newline="")))
    if last != END_MARKER.format(rows=len(rows)):
        raise IncompleteExport(f"the export is incomplete: its last line is {last[:80]!r}")
    return rows


def as_json(records: Iterable, fields: List[str]) -> Iterator[str]:
    """A JSON array of objects, one record per chunk."""
    yield "["
    for index, record in enumerate(records):
        yield ("," if index else "") + "\n" + json.dumps(row(record, fields), ensure_ascii=False)
    yield "\n]\n"


def export(records: Iterable, what: str, fmt: str) -> Iterator[str]:
    if fmt not in FORMATS:
        raise ValueError(f"format is one of {', '.join(FORMATS)}, got {fmt!r}")
    return (as_csv if fmt == "csv" else as_json)(records, FIELDS[what])


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def media_type(fmt: str) -> str:
    return "text/csv; charset=utf-8" if fmt == "csv" else "application/json"

