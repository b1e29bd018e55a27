"""The dashboard as a real server (python -m deploybot.ledger.web) on SQLite and on PostgreSQL,
each with a generated year of 100,000 deployments (devtools.ledger_sample): who may look,
pagination, filters, period boundaries in time zones, exports, and how long each page takes
(measured and printed; the bound asserted is generous, the figure is what to read)."""
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from deploybot.ledger import exports
from deploybot.storage.database import Database, migrate
from deploybot.storage.models import Deployment
from devtools.ledger_sample import END, fill
from tests.services import Postgres
from tests.support import start_ledger_web

DEPLOYMENTS = 100_000
TOKEN = "one-time-test-token"
PAGES = ["/", "/history", "/history?page=1000", "/history?app=cms&environment=production&state=failed",
         "/history?person=theresa&since=2026-06-01&until=2026-06-30&tz=Europe/Berlin", "/deployments/{some_id}",
         "/audit", "/audit?action=grant&outcome=done&page=2", "/metrics", "/metrics?environment=staging&app=shop",
         "/metrics/chart/frequency.svg", "/metrics/chart/deploy-time.svg", "/metrics/chart/failures.svg",
         "/metrics/chart/restore.svg"]
# Pages named in the issue, with the period the dashboard shows by default: the last 30 days
# of the generated year ("today" is its last day).
TODAY = END.date().isoformat()
PAGE_BOUND_SECONDS = 3.0   # generous: the machine is shared; the printed median is the figure


class Dashboard:
    def __init__(self, url: str, database: Database, process: subprocess.Popen, log: Path):
        self.url, self.database, self.process, self.log = url, database, process, log

    def get(self, path: str, session=None, **kwargs) -> requests.Response:
        return (session or requests).get(self.url + path, timeout=60, allow_redirects=False, **kwargs)

    def signed_in(self) -> requests.Session:
        session = requests.Session()
        answer = self.get(f"/signin?token={TOKEN}", session)
        assert answer.status_code == 302, answer.text
        return session

    def count(self, *where) -> int:
        with self.database.transaction() as session:
            return session.scalar(select(func.count(Deployment.id)).where(*where))

    def some_id(self) -> int:
        with self.database.transaction() as session:
            return session.scalar(select(func.max(Deployment.id)).where(Deployment.state == "failed"))


def start_dashboard(url: str, directory: Path, **environment) -> Dashboard:
    log = directory / "web.log"
    process, base = start_ledger_web(url, log, {"DEPLOYBOT_WEB_SIGNIN_TOKEN": TOKEN,
                                                "DEPLOYBOT_WEB_SECRET": "test-secret", **environment})
    return Dashboard(base, Database(url), process, log)


def stop(dashboard: Dashboard) -> None:
    dashboard.process.terminate()
    dashboard.process.wait(timeout=20)
    dashboard.database.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def dashboard(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"ledger-{request.param}")
    postgres = None
    if request.param == "sqlite":
        url = f"sqlite:///{directory / 'deploybot.db'}"
    else:
        postgres = Postgres().start()
        url = postgres.url("deploybot")
    migrate(url)
    started = time.monotonic()
    fill(Database(url), DEPLOYMENTS, audit_count=5000)
    print(f"\n{request.param}: {DEPLOYMENTS} deployments generated in {time.monotonic() - started:.1f} s")
    running = start_dashboard(url, directory, DEPLOYBOT_WEB_TIMEZONE="UTC")
    yield running
    stop(running)
    if postgres:
        postgres.stop()


def test_every_page_answers_401_without_a_session(dashboard):
    forged = {"deploybot_ledger_session": "local|99999999999|forged"}
    for path in PAGES + ["/export/deployments.csv", "/export/audit.json", "/deployments/999999999", "/no/such/page"]:
        path = path.format(some_id=1)
        assert dashboard.get(path).status_code == 401, path
        assert dashboard.get(path, cookies=forged).status_code == 401, path
        # no proxy is trusted here: the SSO header from anyone is just a header
        assert dashboard.get(path, headers={"X-Forwarded-User": "jbrueder"}).status_code == 401, path
    assert "Sign in" in dashboard.get("/").text


def test_the_sign_in_link_works_once_and_sets_a_strict_cookie(dashboard):
    session = requests.Session()
    answer = dashboard.get(f"/signin?token={TOKEN}", session)
    cookie = answer.headers["Set-Cookie"]
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert dashboard.get("/", session).status_code == 200
    assert dashboard.get(f"/signin?token={TOKEN}").status_code == 401       # spent
    assert dashboard.get("/signin?token=guess").status_code == 401
    # read-only: anything but GET is refused, signed in or not
    assert requests.post(dashboard.url + "/history", cookies=session.cookies, timeout=10).status_code == 405


@pytest.fixture(scope="module")
def signed_in(dashboard):
    """Every test after the sign-in test shares the session (the link works once)."""
    session = requests.Session()
    session.cookies.set("deploybot_ledger_session", _session_cookie())
    return session


def _session_cookie() -> str:
    from deploybot.ledger.auth import SessionSigner
    return SessionSigner(b"test-secret").make("local")


def test_history_pages_and_filters_agree_with_the_database(dashboard, signed_in):
    total = dashboard.count()
    first = dashboard.get("/history", signed_in).text
    assert f"Page 1 of {-(-total // 50)} ({total} in all)" in first
    last_page = -(-total // 50)
    last = dashboard.get(f"/history?page={last_page}", signed_in).text
    assert f"Page {last_page} of {last_page}" in last and "Older →" not in last and "← Newer" in last
    failed = dashboard.count(Deployment.app == "cms", Deployment.environment == "production", Deployment.state == "failed")
    page = dashboard.get("/history?app=cms&environment=production&state=failed", signed_in).text
    assert f"({failed} in all)" in page and failed > 100
    assert page.count('class="state failed"') == 50


def test_period_boundaries_follow_the_chosen_time_zone(dashboard, signed_in):
    # 29 March 2026: Berlin moves to summer time, so the local day is 23 hours long:
    # from 28 March 23:00 UTC to 29 March 22:00 UTC.
    start, end = datetime(2026, 3, 28, 23, 0, tzinfo=timezone.utc), datetime(2026, 3, 29, 22, 0, tzinfo=timezone.utc)
    berlin = dashboard.count(Deployment.requested_at >= start, Deployment.requested_at < end)
    utc_day = dashboard.count(Deployment.requested_at >= datetime(2026, 3, 29, tzinfo=timezone.utc),
                              Deployment.requested_at < datetime(2026, 3, 30, tzinfo=timezone.utc))
    assert berlin != utc_day
    page = dashboard.get("/history?since=2026-03-29&until=2026-03-29&tz=Europe/Berlin", signed_in).text
    assert f"({berlin} in all)" in page
    page = dashboard.get("/history?since=2026-03-29&until=2026-03-29&tz=UTC", signed_in).text
    assert f"({utc_day} in all)" in page
    exported = dashboard.get("/export/deployments.csv?since=2026-03-29&until=2026-03-29&tz=Europe/Berlin", signed_in)
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert len(exports.read_csv(exported.text)) == berlin
    as_json = dashboard.get("/export/deployments.json?since=2026-03-29&until=2026-03-29&tz=Europe/Berlin", signed_in).json()
    assert len(as_json) == berlin and all(start.isoformat() <= row["requested_at"] < end.isoformat() for row in as_json)


def test_metrics_and_charts_render(dashboard, signed_in):
    page = dashboard.get(f"/metrics?since=2026-12-01&until={TODAY}", signed_in).text
    assert "all apps" in page and "production" in page and page.count('<img src="/metrics/chart/') == 4
    for name in ("frequency", "deploy-time", "failures", "restore"):
        chart = dashboard.get(f"/metrics/chart/{name}.svg?since=2026-12-01&until={TODAY}", signed_in)
        assert chart.status_code == 200 and chart.headers["Content-Type"] == "image/svg+xml"
        assert chart.content.lstrip().startswith(b"<?xml") and b"<svg" in chart.content
    deployment = dashboard.get(f"/deployments/{dashboard.some_id()}", signed_in).text
    assert "End of the console" in deployment and "health check failed" in deployment
    assert dashboard.get("/metrics?since=2026-13-01", signed_in).status_code == 400


def test_every_page_with_a_hundred_thousand_deployments(dashboard, signed_in, request):
    timings = {}
    for path in PAGES:
        path = path.format(some_id=dashboard.some_id())
        started = time.perf_counter()
        dashboard.get(path, signed_in)                       # cold: metrics not yet cached
        cold = time.perf_counter() - started
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            answer = dashboard.get(path, signed_in)
            samples.append(time.perf_counter() - started)
            assert answer.status_code == 200, (path, answer.text[:500])
        timings[path] = (cold, statistics.median(samples))
    year = f"/metrics?since=2026-01-01&until={TODAY}"
    started = time.perf_counter()
    assert dashboard.get(year, signed_in).status_code == 200
    year_seconds = time.perf_counter() - started
    database = request.node.callspec.params["dashboard"]
    print(f"\npage times with {DEPLOYMENTS} deployments on {database}: first request, then the median of 5 more")
    for path, (cold, warm) in timings.items():
        print(f"  {cold * 1000:7.1f} ms {warm * 1000:7.1f} ms  {path}")
    print(f"  {year_seconds * 1000:7.1f} ms  {year} (a whole year of metrics, not cached, once)")
    slow = {path: seconds for path, seconds in timings.items() if max(seconds) > PAGE_BOUND_SECONDS}
    assert slow == {}


def test_the_sso_proxy_header_counts_only_from_the_proxys_address(tmp_path):
    url = f"sqlite:///{tmp_path / 'deploybot.db'}"
    migrate(url)
    trusted = start_dashboard(url, tmp_path, DEPLOYBOT_WEB_TRUSTED_PROXIES="127.0.0.1",
                              DEPLOYBOT_WEB_USER_HEADER="X-Auth-Request-User")
    try:
        answer = trusted.get("/", headers={"X-Auth-Request-User": "theresa"})
        assert answer.status_code == 200 and "signed in as theresa" in answer.text
        assert trusted.get("/", headers={"X-Forwarded-User": "theresa"}).status_code == 401   # another header
        assert trusted.get("/", headers={"X-Auth-Request-User": "the resa"}).status_code == 401
    finally:
        stop(trusted)
    elsewhere = start_dashboard(url, tmp_path, DEPLOYBOT_WEB_TRUSTED_PROXIES="10.20.30.40",
                                DEPLOYBOT_WEB_USER_HEADER="X-Auth-Request-User")
    try:
        assert elsewhere.get("/", headers={"X-Auth-Request-User": "theresa"}).status_code == 401
    finally:
        stop(elsewhere)


def test_a_deployments_page_shows_its_safeguards(dashboard, signed_in):
    """Issue 14's record on the ledger: who approved, whether a second factor was used, and a
    break glass reason; a deployment without them says nothing about them. Last in the module:
    it adds a deployment."""
    plain_id = dashboard.some_id()
    with dashboard.database.transaction() as session:
        deployment = session.get(Deployment, plain_id)
        values = {column.name: getattr(deployment, column.name) for column in Deployment.__table__.columns
                  if column.name not in ("id", "active_key")}
        guarded = Deployment(**{**values, "approved_by": "U0ANNA,U0BEN", "second_factor": True,
                                "break_glass_reason": "outage INC-123"})
        session.add(guarded)
        session.flush()
        guarded_id = guarded.id
    page = dashboard.get(f"/deployments/{guarded_id}", signed_in).text
    assert "<dt>Approved by</dt><dd>U0ANNA, U0BEN</dd>" in page
    assert "<dt>Second factor</dt><dd>used</dd>" in page
    assert "deployed without approval: outage INC-123" in page
    plain = dashboard.get(f"/deployments/{plain_id}", signed_in).text
    assert "Approved by" not in plain and "Break glass" not in plain


def test_a_deployments_page_names_the_rest_of_its_batch(dashboard, signed_in):
    """Several apps confirmed with one yes (issue 16): each page links the others and names the
    app that never started, with why. Adds deployments, so it runs last like the test above."""
    from deploybot.domain.batch_store import BatchStore

    plain_id = dashboard.some_id()
    BatchStore(dashboard.database).create("B-ledger", "marvin", "theresa", "staging",
                                          [{"app": "cms", "version": "9.9.1"}, {"app": "shop", "version": "9.9.2"},
                                           {"app": "crm", "version": "<b>9.9.3</b>"}], "theresa", "rest", None)
    BatchStore(dashboard.database).not_started("B-ledger", "crm", "staging is locked <script>x</script>")
    ids = []
    with dashboard.database.transaction() as session:
        deployment = session.get(Deployment, plain_id)
        values = {column.name: getattr(deployment, column.name) for column in Deployment.__table__.columns
                  if column.name not in ("id", "active_key")}
        for app, version in (("cms", "9.9.1"), ("shop", "9.9.2")):
            row = Deployment(**{**values, "app": app, "version": version, "batch_id": "B-ledger"})
            session.add(row)
            session.flush()
            ids.append(row.id)
    page = dashboard.get(f"/deployments/{ids[0]}", signed_in).text
    assert "Confirmed with the same yes" in page
    assert f'<a href="/deployments/{ids[1]}">#{ids[1]}</a>: Web Shop 9.9.2 to ' in page
    assert "Customer Relationship Management: not started (staging is locked &lt;script&gt;x&lt;/script&gt;)" in page
    assert "<script>x" not in page
    assert "Confirmed with the same yes" not in dashboard.get(f"/deployments/{plain_id}", signed_in).text
