"""Issue 25, items 1 and 2, against the dashboard as a real server on SQLite (the default):
exports that are complete or say they are not, and no 5xx for any query value or path.

20,000 deployments (a year, devtools.ledger_sample), as in the issue's report: the export
went wrong on SQLite after the metrics page and its charts had been drawn."""
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import date

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploybot.ledger import exports
from deploybot.storage.database import Database, migrate
from devtools.ledger_sample import END, fill
from tests.integration.test_ledger_web import _session_cookie, start_dashboard, stop
from tests.support import ROOT

DEPLOYMENTS = 20_000
YEAR = "since=2025-12-01&until=" + END.date().isoformat()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ledger-inputs")
    url = f"sqlite:///{directory / 'deploybot.db'}"
    migrate(url)
    fill(Database(url), DEPLOYMENTS, audit_count=2000)
    running = start_dashboard(url, directory, DEPLOYBOT_WEB_TIMEZONE="UTC")
    running.sqlite_url = url
    yield running
    stop(running)


@pytest.fixture(scope="module")
def signed_in(dashboard):
    session = requests.Session()
    session.cookies.set("deploybot_ledger_session", _session_cookie())
    return session


def cli_export(url: str, fmt: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEPLOYBOT_DATABASE_URL": url}
    since, until = (part.split("=")[1] for part in YEAR.split("&"))
    done = subprocess.run([sys.executable, "-m", "deploybot.ledger", "export", "--since", since, "--until", until,
                           "--format", fmt], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True)
    return done.stdout


def test_the_web_exports_every_row_after_the_charts_were_drawn(dashboard, signed_in):
    # What the issue saw: the metrics page and its charts first, then the exports.
    assert dashboard.get(f"/metrics?{YEAR}", signed_in).status_code == 200
    for name in ("frequency", "deploy-time", "failures", "restore"):
        assert dashboard.get(f"/metrics/chart/{name}.svg?{YEAR}", signed_in).status_code == 200
    # ... and while the exports run, someone else reads pages (as a browser draws the charts),
    # so the dashboard's worker threads take turns.
    exporting = threading.Event()

    def browse():
        while not exporting.is_set():
            for path in ("/history?page=3", f"/metrics/chart/deploy-time.svg?{YEAR}", "/audit"):
                dashboard.get(path, signed_in)

    browser = threading.Thread(target=browse)
    browser.start()
    try:
        started = time.monotonic()
        web_csv = dashboard.get(f"/export/deployments.csv?{YEAR}", signed_in)
        web_json = dashboard.get(f"/export/deployments.json?{YEAR}", signed_in)
        web_seconds = time.monotonic() - started
    finally:
        exporting.set()
        browser.join()
    assert web_csv.status_code == web_json.status_code == 200
    from_cli = exports.read_csv(cli_export(dashboard.sqlite_url, "csv"))
    from_web = exports.read_csv(web_csv.text)        # raises without the final marker line
    as_json = web_json.json()
    print(f"\n{len(from_web)} rows through the web as CSV and JSON in {web_seconds:.1f} s; {len(from_cli)} by the CLI")
    assert len(from_cli) == DEPLOYMENTS
    assert from_web == from_cli
    assert [{k: "" if v is None else str(v) for k, v in r.items()} for r in as_json] == from_cli
    assert json.loads(cli_export(dashboard.sqlite_url, "json")) == as_json


def test_a_csv_without_its_final_line_is_refused():
    whole = "".join(exports.export(iter([]), "deployments", "csv"))
    assert whole.endswith("# end of export: 0 rows\r\n") and exports.read_csv(whole) == []
    with pytest.raises(exports.IncompleteExport):
        exports.read_csv(whole.split("# end")[0])


KNOWN_500S = ["/deployments/99999999999999999999999", "/history?until=9999-12-31", "/metrics?until=9999-12-31",
              "/metrics/chart/deploy-time.svg?until=9999-12-31", "/export/deployments.json?until=9999-12-31",
              "/history?since=0001-01-01&tz=Asia/Tokyo", "/export/deployments.csv?since=0001-01-01&tz=Asia/Tokyo"]


@pytest.mark.parametrize("path", KNOWN_500S)
def test_the_inputs_that_gave_500s_get_a_clear_answer(dashboard, signed_in, path):
    answer = dashboard.get(path, signed_in)
    assert answer.status_code in (400, 404), (path, answer.status_code, answer.text[:300])
    assert "<html" in answer.text.lower()


ROUTES = ["/", "/history", "/audit", "/metrics", "/metrics/chart/frequency.svg", "/metrics/chart/deploy-time.svg",
          "/export/deployments.csv", "/export/audit.json"]
junk = st.one_of(st.text(max_size=30), st.text(min_size=3000, max_size=5000), st.integers().map(str))
# The calendar's ends and the dashboard's, most often: where the 500s were.
dates = st.one_of(st.sampled_from([date.min, date.max, date(1999, 12, 31), date(2000, 1, 1), date(2099, 12, 31),
                                   date(2100, 1, 1)]), st.dates()).map(lambda d: d.isoformat())
zones = st.sampled_from(["UTC", "Asia/Tokyo", "Pacific/Kiritimati", "Etc/GMT+12", "Europe/Berlin", "../../etc/passwd",
                         "a" * 300, "Europe/../UTC", "localtime", ""])
names = st.one_of(st.sampled_from(["cms", "production", "staging", "theresa", "failed", "grant", "done"]), junk)
queries_ = st.fixed_dictionaries({}, optional={
    "since": st.one_of(dates, junk), "until": st.one_of(dates, junk), "tz": st.one_of(zones, junk),
    "page": st.one_of(st.integers().map(str), junk), **{name: names for name in (
        "app", "environment", "person", "state", "actor", "action", "outcome")}})
segments = st.one_of(st.integers().map(str), st.integers(min_value=2 ** 63 - 2, max_value=10 ** 30).map(str),
                     st.sampled_from(["deployments.csv", "audit.json", "deploy-time.svg", "frequency.svg"]),
                     st.text(min_size=1, max_size=40), st.text(min_size=300, max_size=600))


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(ROUTES), query=queries_)
def test_no_query_value_gives_a_server_error(dashboard, signed_in, route, query):
    answer = dashboard.get(route + "?" + urllib.parse.urlencode(query), signed_in)
    assert answer.status_code < 500, (route, query, answer.text[:300])


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(prefix=st.sampled_from(["/deployments/", "/export/", "/metrics/chart/"]), segment=segments, query=queries_)
def test_no_path_segment_gives_a_server_error(dashboard, signed_in, prefix, segment, query):
    path = prefix + urllib.parse.quote(segment, safe="")
    answer = dashboard.get(path + "?" + urllib.parse.urlencode(query), signed_in)
    assert answer.status_code < 500, (path, query, answer.text[:300])


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_that_cannot_finish_cannot_pass_for_a_whole_one(dashboard, signed_in, fmt):
    """The status is sent before the rows; when the database stops answering half-way (here
    another process locks the SQLite file for longer than the dashboard waits), the answer
    must end without its last line (CSV) or its closing bracket (JSON)."""
    answer = signed_in.get(f"{dashboard.url}/export/deployments.{fmt}?{YEAR}", stream=True, timeout=60)
    assert answer.status_code == 200
    chunks = answer.iter_content(64 * 1024)
    received = [next(chunks)]        # the dashboard has read a few batches, not all of them
    locker = sqlite3.connect(dashboard.sqlite_url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in chunks:
                received.append(chunk)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    text = b"".join(received).decode("utf-8", errors="replace")
    if fmt == "csv":
        with pytest.raises(exports.IncompleteExport):
            exports.read_csv(text)
    else:
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
    assert "stopped before its end" in dashboard.log.read_text()
