"""Scheduled deploys in the pipeline (issue 24, item 3): the started stage stores a cleared
request that has a start instead of starting it; the store applies the door's rules (all but
the gate, checked at the time); what it kept clears the request again at the time, under the
door's rules; every change of state happens for one caller only."""
from datetime import datetime, timedelta, timezone

import pytest

from deploybot.domain.deploy_request import RequestRejected
from deploybot.pipeline import schedules
from deploybot.pipeline.clearance import Confirmed, Rules, why_not_cleared
from deploybot.pipeline.gate import Block
from deploybot.pipeline.progress import Passed, clearance_for
from deploybot.pipeline.request import Item, Request
from deploybot.pipeline.start import Ports, Refused, Scheduled, new_deployment, start_item
from deploybot.storage.database import Database, migrate

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=timezone.utc)
FROZEN = (Block("freeze", "release weekend", NOW + timedelta(days=1), True),)
CODE = Rules(needs_code=lambda app, environment: True, approvals_needed=lambda app, environment: 0,
             is_admin=lambda user: False, gate=lambda app, environment, requester: FROZEN)
ITEM = Item("cms", "1.0.3")


def request(start_at=NOW + timedelta(hours=8), **how) -> Request:
    return Request(assistant="bender", environment="production", items=(ITEM,), requester="U1", conversation_id="U1",
                   output_channel="rest", reply_to=None, requested_at=NOW, start_at=start_at, **how)


@pytest.fixture
def db(tmp_path) -> Database:
    url = f"sqlite:///{tmp_path / 'deploybot.db'}"
    migrate(url)
    return Database(url)


def test_the_started_stage_stores_a_request_with_a_start_and_starts_nothing():
    started, stored, refused = [], [], []
    ports = Ports(start=lambda new, clearance: started.append(new) or "started",
                  check_requester=lambda *a: None, check_grant=lambda *a: None,
                  audit_refused=lambda *a: refused.append(a),
                  schedule=lambda req, item, clearance: stored.append((req, clearance)) or "Scheduled: ...")
    clearance = clearance_for(request(), ITEM, Passed(Confirmed.YES, second_factor=True), CODE)
    assert start_item(ports, request(), ITEM, clearance) == Scheduled("Scheduled: ...")
    assert (started, len(stored), refused) == ([], 1, [])
    assert start_item(ports, request(start_at=None), ITEM, clearance).text == "started"   # no start: the door as ever
    without = Ports(start=ports.start, check_requester=ports.check_requester, check_grant=ports.check_grant,
                    audit_refused=ports.audit_refused)
    assert isinstance(start_item(without, request(), ITEM, clearance), Refused)
    assert len(refused) == 1 and len(started) == 1


def test_the_store_applies_the_doors_rules_but_not_todays_gate(db):
    with pytest.raises(RequestRejected, match="no clearance"):
        schedules.store(db, request(), ITEM, None, CODE)
    no_code = clearance_for(request(), ITEM, Passed(Confirmed.YES), Rules(lambda a, e: False, lambda a, e: 0, lambda u: False))
    with pytest.raises(RequestRejected, match="two-factor code"):
        schedules.store(db, request(), ITEM, no_code, CODE)
    with pytest.raises(RequestRejected, match="Break glass"):
        schedules.store(db, request(break_glass_reason="outage"), ITEM, no_code, CODE)
    cleared = clearance_for(request(), ITEM, Passed(Confirmed.YES, second_factor=True), CODE)
    row = schedules.store(db, request(), ITEM, cleared, CODE)   # the freeze now does not matter: its time does
    assert (row.state, row.second_factor, row.confirmed) == ("scheduled", True, "YES")


def test_what_was_kept_clears_it_at_its_time_under_the_doors_rules(db):
    cleared = clearance_for(request(), ITEM, Passed(Confirmed.YES, second_factor=True), CODE)
    row = schedules.get(db, schedules.store(db, request(), ITEM, cleared, CODE).id)
    then = schedules.request_of(row, NOW + timedelta(hours=8))
    assert then.start_at is None
    clearance = clearance_for(then, then.items[0], schedules.passed(row), CODE)
    open_gate = Rules(CODE.needs_code, CODE.approvals_needed, CODE.is_admin)
    assert why_not_cleared(clearance, new_deployment(then, then.items[0], clearance), open_gate) is None
    # A freeze at its time still closes the door, whatever was passed when it was scheduled.
    assert "freeze" in why_not_cleared(clearance, new_deployment(then, then.items[0], clearance), CODE)
    # Approvals asked for later are not made up from what was kept.
    two = Rules(CODE.needs_code, lambda app, environment: 2, CODE.is_admin)
    assert clearance_for(then, then.items[0], schedules.passed(row), two) is None


def test_each_change_of_state_happens_once_and_is_due_once(db):
    cleared = clearance_for(request(), ITEM, Passed(Confirmed.YES, second_factor=True), CODE)
    row = schedules.store(db, request(start_at=NOW - timedelta(minutes=1)), ITEM, cleared, CODE)
    later = schedules.store(db, request(), ITEM, cleared, CODE)
    moment = NOW
    assert [r.id for r in schedules.due(db, "bender", moment, timedelta(minutes=10))] == [row.id]
    assert schedules.due(db, "bender", moment, timedelta(minutes=10)) == []            # sent: not again at once
    assert schedules.due(db, "marvin", moment, timedelta(minutes=10)) == []            # another bot's
    assert schedules.move(db, row.id, ("scheduled",), "asked", asked_at=moment)
    assert not schedules.move(db, row.id, ("scheduled",), "asked", asked_at=moment)    # a second replica
    # A trigger sent twice finds it asked a moment ago: not unanswered yet, so it does not expire.
    assert not schedules.move(db, row.id, ("asked",), "expired", asked_before=moment - timedelta(minutes=10))
    assert [r.id for r in schedules.waiting(db, "bender")] == [row.id, later.id]
    assert schedules.move(db, row.id, ("asked",), "started")
    assert not schedules.move(db, row.id, ("asked",), "started")
    assert not schedules.move(db, row.id, schedules.WAITING, "cancelled")               # too late to cancel
    assert [r.id for r in schedules.waiting(db, "bender")] == [later.id]
