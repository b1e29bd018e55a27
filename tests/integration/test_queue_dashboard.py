"""The deploy queue on the dashboard (issue 24, item 2), a real server on a small SQLite
database: the Now page shows who waits (and whose turn it is), and a deployment's page says
when a queue turn started it."""
import requests

from deploybot.domain.deploy_queue import QueueStore
from deploybot.domain.deploy_request import DeployRequest
from deploybot.domain.deployments import DeploymentStore, NewDeployment, now
from deploybot.storage.database import Database, migrate
from deploybot.storage.models import QueueEntry
from tests.integration.test_ledger_web import _session_cookie, start_dashboard, stop
from tests.unit.test_deploy_queue import WHERE, loop
from tests.unit.test_deployments import CATALOG


def test_the_now_page_shows_the_queue_and_a_deployments_page_its_turn(tmp_path):
    url = f"sqlite:///{tmp_path / 'deploybot.db'}"
    migrate(url)
    db = Database(url)
    store = QueueStore(db)
    for person in ("theresa", "walter"):
        store.join("marvin", person, "cms", "1.0.2", "staging", {**WHERE, "conversation_id": person})
    loop(db, []).round()  # theresa's turn
    record = DeploymentStore(db, CATALOG).begin(
        NewDeployment("marvin", DeployRequest("cms", "1.0.2", "staging"), "deploy", "theresa", "theresa", "rest", now()))
    dashboard = start_dashboard(url, tmp_path, DEPLOYBOT_WEB_TIMEZONE="UTC")
    try:
        session = requests.Session()
        session.cookies.set("deploybot_ledger_session", _session_cookie())
        page = dashboard.get("/", session).text
        assert "<h2>Waiting in the queue</h2>" in page
        assert "cms on staging: theresa for 1.0.2, queued " in page and "; their turn, until " in page
        assert "cms on staging: walter for 1.0.2, queued " in page
        assert "From the queue" not in dashboard.get(f"/deployments/{record.id}", session).text
        loop(db, []).round()  # the loop notes the deployment the turn's yes started
        page = dashboard.get(f"/deployments/{record.id}", session).text
        assert "<dt>From the queue</dt><dd>theresa queued " in page and "; their turn came " in page
        with db.transaction() as session_:
            assert session_.query(QueueEntry).filter_by(requested_by="theresa").one().deployment_id == record.id
        assert "theresa for 1.0.2" not in dashboard.get("/", session).text
    finally:
        stop(dashboard)
