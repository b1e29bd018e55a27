"""DORA's four keys on the dashboard's metrics page (the real server, python -m
deploybot.ledger.web, on SQLite): the digest's fixed ledger, whose figures were worked out by
hand (tests/unit/test_ledger_digest.py), app by app against the week before, each key with
its definition and the levels' source."""
import html

import pytest
from sqlalchemy import insert

from deploybot.storage.database import Database, migrate
from deploybot.storage.models import Deployment
from tests.integration.test_ledger_web import start_dashboard, stop
from tests.unit.test_ledger_digest import LEDGER

WEEK = "/metrics?since=2026-11-23&until=2026-11-29&tz=Europe/Berlin&environment=production"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ledger-dora")
    url = f"sqlite:///{directory / 'deploybot.db'}"
    migrate(url)
    with Database(url).transaction() as session:
        session.execute(insert(Deployment), LEDGER)
    running = start_dashboard(url, directory, DEPLOYBOT_WEB_TIMEZONE="UTC")
    yield running
    stop(running)


@pytest.fixture(scope="module")
def session(dashboard):
    return dashboard.signed_in()   # the link works once


def test_the_metrics_page_shows_doras_keys_app_by_app_against_the_week_before(dashboard, session):
    answer = dashboard.get(WEEK, session)
    assert answer.status_code == 200
    page = html.unescape(answer.text)
    dora = page[page.index("DORA's four keys: production"):page.index("Our figures")]
    assert "Accelerate State of DevOps Report 2024" in dora
    for definition in ("oldest commit not yet in the environment", "rolled back by the next deployment",
                       "failed builds are not counted"):
        assert definition in dora
    rows = {row.split("</th>")[0].rsplit(">", 1)[-1]: row for row in dora.split("<tr")[2:]}
    assert set(rows) == {"cms", "crm", "shop", "all apps"}
    assert "4 h 16 min (1 known)" in rows["cms"] and "<strong>elite</strong>" in rows["cms"]
    assert "unknown (1 without a commit time)" in rows["crm"] and "1 <small>(0)</small>" in rows["crm"]
    assert "100% (1 of 1)" in rows["shop"] and "23 h 58 min" in rows["shop"]
    total = rows["all apps"]
    assert "0.57 a day, 4.0 a week (4) <strong>high</strong>" in total
    assert "(0.14 a day, 1.0 a week (1); +3.0 a week)" in total
    assert "3 h 13 min (2 known; unknown for 1 of 3) <strong>elite</strong>" in total
    assert "33% (1 of 3)" in total and "+33 points" in total
    # Ours stay, named for what they are.
    assert "Deploy time (request to deployed), median" in page and "Failed builds or rolled back" in page


def test_an_environment_without_deployments_says_so_without_levels(dashboard, session):
    page = html.unescape(dashboard.get("/metrics?since=2020-01-01&until=2020-01-07&environment=staging", session).text)
    dora = page[page.index("DORA's four keys: staging"):page.index("Our figures")]
    assert "0.00 a day, 0.0 a week (0)" in dora and "<strong>" not in dora
