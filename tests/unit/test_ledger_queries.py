"""The ledger's queries, exports and sign-in rules on real databases (SQLite and PostgreSQL)."""
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from deploybot.ledger import exports, queries
from deploybot.ledger.__main__ import main as ledger_cli
from deploybot.ledger.auth import OneTimeTokens, SessionSigner, trusted_proxy
from deploybot.ledger.metrics import metrics_by_target
from deploybot.ledger.periods import period
from deploybot.storage.models import AuditEntry, Deployment, Lock

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def deployment(number: int, app="cms", environment="production", state="succeeded", person="theresa",
               requested=None, kind="deploy", version=None) -> Deployment:
    requested = requested or T0 + timedelta(hours=number)
    active = state in ("confirmed", "queued", "running")
    return Deployment(
        assistant="bender", app=app, environment=environment, version=version or f"1.0.{number}", kind=kind,
        requested_by=person, state=state, active_key=f"{app}/{environment}" if active else None,
        jenkins_job=f"deploy-{app}", build_number=number, build_url=f"https://jenkins.example.com/job/deploy-{app}/{number}/",
        estimated_duration_ms=600_000, console_tail="ERROR: boom" if state == "failed" else None,
        conversation_id=person, output_channel="slack", reply_to='{"channel": "C1", "thread_ts": "1.2"}',
        requested_at=requested, confirmed_at=requested + timedelta(seconds=10),
        started_at=requested + timedelta(seconds=20), finished_at=None if active else requested + timedelta(minutes=5))


def number(d: Deployment) -> int:
    """The fixture's number of a deployment (PostgreSQL's ids go on across tests)."""
    return int(d.version.rsplit(".", 1)[1])


@pytest.fixture
def ledger(db_on_both):
    with db_on_both.transaction() as session:
        session.add(AuditEntry(at=T0 - timedelta(days=1), assistant="bender", actor="jbrueder", action="grant",
                               outcome="done", target_user="theresa", app="cms"))
        session.add(AuditEntry(at=T0, assistant="bender", actor="mallory", action="grant", outcome="refused",
                               target_user="mallory", app="cms", detail="not an admin"))
        for number in range(1, 121):
            session.add(deployment(number, app=("cms", "shop")[number % 2], person=("theresa", "kofi")[number % 3 == 0],
                                   state="failed" if number % 10 == 0 else "succeeded"))
        session.add(deployment(121, app="cms", state="running"))
        session.add(Lock(scope="production/shop", environment="production", app="shop", reason="load tests",
                         locked_by="jbrueder", locked_at=T0))
        session.add(Lock(scope="staging", environment="staging", app=None, reason="freeze", locked_by="kofi", locked_at=T0))
    return db_on_both


def test_history_filters_and_pages_newest_first(ledger):
    with ledger.transaction() as session:
        first = queries.history(session, queries.DeploymentFilter())
        assert (first.total, first.pages, len(first.rows)) == (121, 3, 50)
        assert [d.version for d in first.rows][:2] == ["1.0.121", "1.0.120"]
        last = queries.history(session, queries.DeploymentFilter(), page=99)   # past the end: the last page
        assert (last.number, len(last.rows), last.has_next, last.has_previous) == (3, 21, False, True)
        failed_cms = queries.history(session, queries.DeploymentFilter(app="cms", state="failed", person="theresa"))
        assert failed_cms.total == len([n for n in range(1, 121) if n % 10 == 0 and n % 3 != 0]) == 8
        assert {(d.app, d.state, d.requested_by) for d in failed_cms.rows} == {("cms", "failed", "theresa")}
        # a period of one local day in Tokyo (UTC+9): 10 March 00:00 to 11 March 00:00 there
        tokyo = period("2026-03-10", "2026-03-10", "Asia/Tokyo")
        day = queries.history(session, queries.DeploymentFilter(period=tokyo))
        expected = [n for n in range(1, 122) if tokyo.start <= T0 + timedelta(hours=n) < tokyo.end]
        assert sorted(number(d) for d in day.rows) == expected == [1, 2, 3, 4, 5]   # 10:00 to 14:00 UTC; 15:00 UTC is midnight in Tokyo
        assert queries.people(session) == ["kofi", "theresa"]


def test_the_now_matrix_shows_the_last_success_the_running_one_and_the_locks(ledger):
    with ledger.transaction() as session:
        cells = queries.now_matrix(session, ["cms", "shop"], ["staging", "production"])
        cms = cells[("cms", "production")]
        assert cms.current.version == "1.0.118"          # 120 failed, 121 runs
        assert cms.active.version == "1.0.121"
        assert cms.progress(cms.active.started_at.replace(tzinfo=UTC) + timedelta(minutes=5)) == 50
        assert [lock.reason for lock in cells[("shop", "production")].locks] == ["load tests"]
        assert cms.locks == []
        assert [lock.reason for lock in cells[("cms", "staging")].locks] == ["freeze"]
        assert cells[("cms", "staging")].current is None


def test_a_deployments_timeline_names_who_allowed_it(ledger):
    with ledger.transaction() as session:
        [failed] = queries.history(session, queries.DeploymentFilter(state="failed", person="theresa", app="cms")).rows[:1]
        found = queries.timeline(session, failed.id)
        assert [step.state for step in found.steps] == ["requested", "confirmed", "running", "failed"]
        assert found.approval.actor == "jbrueder"          # not mallory's refused attempt
        assert found.reply_to == {"channel": "C1", "thread_ts": "1.2"}
        assert queries.timeline(session, failed.id + 10_000) is None


def test_the_audit_log_filters(ledger):
    with ledger.transaction() as session:
        assert queries.audit_log(session, queries.AuditFilter()).total == 2
        refused = queries.audit_log(session, queries.AuditFilter(outcome="refused"))
        assert [e.actor for e in refused.rows] == ["mallory"]
        assert queries.audit_log(session, queries.AuditFilter(period=period("2026-03-10", "2026-03-10"))).total == 1
        assert queries.audit_actions(session) == ["grant"]


def test_exports_round_trip_every_row_of_the_period_in_utc(ledger):
    march_10 = period("2026-03-10", "2026-03-10", "UTC")
    with ledger.transaction() as session:
        where = queries.DeploymentFilter(period=march_10)
        text = "".join(exports.export(queries.deployments(session, where, batch=4), "deployments", "csv"))
        rows = exports.read_csv(text)
        as_json = json.loads("".join(exports.export(queries.deployments(session, where, batch=4), "deployments", "json")))
    expected = [n for n in range(1, 122) if march_10.start <= T0 + timedelta(hours=n) < march_10.end]
    assert [int(r["version"][4:]) for r in rows] == expected == [int(r["version"][4:]) for r in as_json]
    assert rows[0]["requested_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert set(rows[0]) == set(exports.DEPLOYMENT_FIELDS)


def test_the_command_line_exports_a_period(ledger, monkeypatch):
    monkeypatch.setenv("DEPLOYBOT_DATABASE_URL", ledger.url)
    out = io.StringIO()
    assert ledger_cli(["export", "--what", "audit", "--since", "2026-03-01", "--until", "2026-03-31", "--format", "json"], out=out) == 0
    assert [e["actor"] for e in json.loads(out.getvalue())] == ["jbrueder", "mallory"]
    out = io.StringIO()
    ledger_cli(["export", "--since", "2026-03-14", "--format", "csv", "--app", "cms"], out=out)
    assert {r["app"] for r in exports.read_csv(out.getvalue())} == {"cms"}


@pytest.mark.parametrize("arguments", [["--until", "9999-12-31"], ["--since", "0001-01-01", "--tz", "Asia/Tokyo"]])
def test_the_command_line_refuses_a_period_past_the_calendar(ledger, monkeypatch, capsys, arguments):
    monkeypatch.setenv("DEPLOYBOT_DATABASE_URL", ledger.url)
    with pytest.raises(SystemExit) as exit_:
        ledger_cli(["export", *arguments], out=io.StringIO())
    assert exit_.value.code == 2 and "reaches past the calendar" in capsys.readouterr().err


def test_metrics_per_environment_and_app_from_the_database(ledger):
    with ledger.transaction() as session:
        table = metrics_by_target(session, period("2026-03-01", "2026-03-31"))
    assert list(table) == [("production", None), ("production", "cms"), ("production", "shop")]
    total = table[("production", None)]
    assert (total.finished, total.failures, total.successes) == (120, 12, 108)
    assert total.deploy_time_median == 300


def test_sessions_are_signed_expire_and_tokens_work_once():
    signer = SessionSigner(b"secret")
    cookie = signer.make("theresa", now=1000)
    assert signer.user(cookie, now=1001) == "theresa"
    assert signer.user(cookie, now=1000 + signer.lifetime + 1) is None
    assert signer.user(cookie.replace("theresa", "jbrueder"), now=1001) is None
    assert SessionSigner(b"other").user(cookie, now=1001) is None
    tokens = OneTimeTokens(["abc"])
    assert tokens.spend("abc") and not tokens.spend("abc") and not tokens.spend("")


def test_the_sso_header_counts_only_from_the_proxy():
    proxy = trusted_proxy("10.0.0.5, 10.1.0.0/24", None)
    assert proxy.user("10.0.0.5", {"X-Forwarded-User": "theresa"}) == "theresa"
    assert proxy.user("10.1.0.77", {"X-Forwarded-User": "theresa"}) == "theresa"
    assert proxy.user("10.0.0.6", {"X-Forwarded-User": "theresa"}) is None
    assert proxy.user("10.0.0.5", {"X-Forwarded-User": "the resa; rm"}) is None
    assert trusted_proxy("", None).user("127.0.0.1", {"X-Forwarded-User": "theresa"}) is None


def test_the_now_matrix_leaves_out_a_lock_past_its_expiry(ledger):
    with ledger.transaction() as session:
        session.add(Lock(scope="production/crm", environment="production", app="crm", reason="load test",
                         locked_by="kofi", locked_at=T0, expires_at=T0 + timedelta(hours=2)))
    with ledger.transaction() as session:
        before = queries.now_matrix(session, ["crm"], ["production"], at=T0 + timedelta(hours=1))
        after = queries.now_matrix(session, ["crm"], ["production"], at=T0 + timedelta(hours=2))
        assert [lock.reason for lock in before[("crm", "production")].locks] == ["load test"]
        assert after[("crm", "production")].locks == []
