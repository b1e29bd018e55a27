"""Exports for compliance archives: deployments and the audit log of a period, as CSV or
JSON, written as they are read so that a year of history never sits in memory at once.

Times are ISO 8601 in UTC ("2026-03-01T09:30:00+00:00") whatever the viewer's time zone:
an archive must not depend on where it was made.
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


def row(record, fields: List[str]) -> dict:
    values = {}
    for name in fields:
        value = getattr(record, name)
        values[name] = utc(value).isoformat() if isinstance(value, datetime) else value
    return values


def as_csv(records: Iterable, fields: List[str]) -> Iterator[str]:
    """The header, then one chunk per record."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    yield _take(buffer)
    for record in records:
        writer.writerow(row(record, fields))
        yield _take(buffer)


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

