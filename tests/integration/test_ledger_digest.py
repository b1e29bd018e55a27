"""The weekly digest through the real stack (issue 17): two action servers per bot on one
database, the schedule set to fire at the first minute at least 30 s after the start (DEPLOYBOT_DIGEST_WEEKDAY and
_TIME), the post arriving once in the Slack fake's management channel and once in the
management log, with the numbers the ledger computes on the same database."""
import json
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from deploybot.domain.digest_schedule import WEEKDAYS
from deploybot.ledger.address import public_url
from deploybot.ledger.digest import compose
from deploybot.domain.profiles import load_profiles
from deploybot.adapters.slack.formatting import typed_text
from deploybot.storage.database import Database
from deploybot.storage.models import Deployment
from tests.conftest import TEST_SETTINGS
from tests.support import running_stack

CHANNEL = "#deployments-management"


def digests(stack) -> list:
    return [c for c in stack.slack.calls("chat.postMessage")
            if c["args"]["channel"] == CHANNEL and c["args"]["text"].startswith("Weekly digest")]


def logged(stack) -> list:
    path = stack.var_dir / "log" / "management.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if json.loads(line)["text"].startswith("Weekly digest")]


def last_week_deployments(now: datetime, tz: ZoneInfo) -> list:
    monday = now.astimezone(tz).date() - timedelta(days=now.astimezone(tz).weekday()) - timedelta(days=7)
    rows = []
    for index, (state, minutes) in enumerate([("succeeded", 5), ("failed", 3), ("succeeded", 9)]):
        requested = datetime.combine(monday + timedelta(days=index), datetime.min.time(), tz).replace(hour=10)
        requested = requested.astimezone(timezone.utc)
        finished = requested + timedelta(minutes=minutes)
        rows.append(dict(assistant="bender", app="crm", environment="production", version=f"7.{index}.0", kind="deploy",
                         requested_by=f"U0DIGEST{index}", state=state, active_key=None, jenkins_job="deploy-crm",
                         conversation_id="digest", output_channel="rest", requested_at=requested, confirmed_at=requested,
                         finished_at=finished, start_reported_at=finished, outcome_reported_at=finished))
    return rows


@pytest.fixture(scope="module")
def digest_stack(tmp_path_factory):
    tz = ZoneInfo(load_profiles()["bender"].time_zone)
    local = datetime.now(tz)
    # The schedule has minutes: the first minute that begins 30 s or more from now leaves the
    # stack (about 20 s to start) time to show it posts nothing before (the unit tests check
    # that with injected time too).
    due = (local + timedelta(seconds=89)).replace(second=0, microsecond=0)
    if due.date() != local.date():
        pytest.skip("too close to local midnight for a digest due today")
    settings = {**TEST_SETTINGS, "DEPLOYBOT_DIGEST": "on", "DEPLOYBOT_DIGEST_WEEKDAY": WEEKDAYS[due.weekday()],
                "DEPLOYBOT_DIGEST_TIME": f"{due:%H:%M}"}
    with running_stack(tmp_path_factory.mktemp("digest"), settings, replicas=2) as running:
        running.due = due
        yield running


def test_the_digest_arrives_once_at_its_time_with_the_ledgers_numbers(digest_stack):
    stack, due = digest_stack, digest_stack.due
    database = Database(stack.database_url())
    with database.transaction() as session:
        session.execute(insert(Deployment), last_week_deployments(datetime.now(timezone.utc), due.tzinfo))
    if datetime.now(due.tzinfo) < due - timedelta(seconds=3):
        assert digests(stack) == [] and logged(stack) == []  # not before its time
    deadline = time.monotonic() + (due - datetime.now(due.tzinfo)).total_seconds() + 60
    while not digests(stack):
        assert time.monotonic() < deadline, "no digest in the management channel"
        time.sleep(1)
    time.sleep(5)  # both replicas' watchers go on polling every second: still one
    [post] = digests(stack)
    assert post["token_owner"] == "bender"
    [line] = logged(stack)
    assert line["text"] == typed_text(post["args"]["text"])  # Slack is sent its links' & as &amp;
    bender = load_profiles(environ=stack.env)["bender"]
    monday = due.date() - timedelta(days=due.weekday()) - timedelta(days=7)
    with database.transaction() as session:
        expected = compose(session, bender, monday, public_url(stack.env))
    assert typed_text(post["args"]["text"]) == expected
    assert "• deployments: 2 successful of 3" in expected and "• people who deployed: 3" in expected
