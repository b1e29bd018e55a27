"""The environment gate's core (deploybot/pipeline/gate.py) and its rule at the door."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from deploybot.domain.deploy_request import DeployRequest
from deploybot.domain.deployments import NewDeployment
from deploybot.pipeline.clearance import Confirmed, Rules, why_not_cleared
from deploybot.pipeline.gate import Block, blocks, standing, why_closed
from deploybot.pipeline.progress import Passed, clearance_for
from deploybot.pipeline.request import Item, Request

NOW = datetime(2026, 12, 11, 17, 0, tzinfo=timezone.utc)
MONDAY = datetime(2026, 12, 14, 7, 0, tzinfo=timezone.utc)
FREEZE = Block("freeze", "release weekend", MONDAY, break_glass_passes=True)
QUEUE = Block("queue", "theresa is next for staging")


def freeze_on_production(app, environment, requester, now):
    return FREEZE if environment == "production" and now < MONDAY else None


def queue_of_others(app, environment, requester, now):
    return QUEUE if requester != "theresa" else None


def test_blocks_lists_every_rule_that_blocks_in_the_order_they_are_said():
    assert blocks([queue_of_others, freeze_on_production], "cms", "production", "alice", NOW) == (FREEZE, QUEUE)
    assert blocks([queue_of_others, freeze_on_production], "cms", "production", "theresa", NOW) == (FREEZE,)
    assert blocks([freeze_on_production], "cms", "production", "alice", MONDAY) == ()


def test_an_unknown_rule_is_a_programming_error():
    with pytest.raises(ValueError):
        Block("weather", "it rains")


def test_break_glass_by_an_admin_passes_a_freeze_and_nothing_else():
    assert standing((FREEZE, QUEUE), admin_broke_glass=True) == (QUEUE,)
    assert standing((FREEZE, QUEUE), admin_broke_glass=False) == (FREEZE, QUEUE)


def test_the_refusal_names_each_rule_and_when_it_opens_in_the_bots_time_zone():
    text = why_closed("Content Management System to production", (FREEZE, QUEUE), ZoneInfo("Europe/Berlin"))
    assert "freeze: release weekend (until Mon 2026-12-14 08:00 CET)" in text
    assert "queue: theresa is next for staging" in text
    assert text.endswith("Nothing was deployed.")


def rules(gate, admin=False):
    return Rules(needs_code=lambda app, environment: False, approvals_needed=lambda app, environment: 0,
                 is_admin=lambda user: admin, gate=gate)


def new_deployment(app="cms", environment="production", requester="alice"):
    return NewDeployment(assistant="bender", request=DeployRequest(app, "1.0.2", environment), kind="deploy",
                         requested_by=requester, conversation_id=requester, output_channel="rest",
                         requested_at=NOW - timedelta(minutes=1))


def cleared(rules_, requester="alice", break_glass=None):
    request = Request(assistant="bender", environment="production", items=(Item("cms", "1.0.2"),), requester=requester,
                      conversation_id=requester, output_channel="rest", reply_to=None, requested_at=NOW,
                      break_glass_reason=break_glass)
    confirmed = Confirmed.BREAK_GLASS if break_glass else Confirmed.YES
    return clearance_for(request, request.items[0], Passed(confirmed, second_factor=bool(break_glass)), rules_)


def test_the_door_refuses_a_cleared_deployment_when_the_gate_closed_since():
    # Confirmed while open: the freeze began before the start (a late code, a queue turn, a schedule).
    gate = lambda app, environment, requester: (FREEZE,)
    open_rules = rules(lambda app, environment, requester: ())
    clearance = cleared(open_rules)
    assert why_not_cleared(clearance, new_deployment(), open_rules) is None
    assert "gate of production is closed (freeze: release weekend)" in why_not_cleared(clearance, new_deployment(), rules(gate))


def test_the_door_lets_an_admins_break_glass_through_a_freeze_but_not_a_queue():
    frozen = rules(lambda app, environment, requester: (FREEZE,), admin=True)
    assert why_not_cleared(cleared(frozen, break_glass="outage"), new_deployment(), frozen) is None
    queued = rules(lambda app, environment, requester: (FREEZE, QUEUE), admin=True)
    assert "queue" in why_not_cleared(cleared(queued, break_glass="outage"), new_deployment(), queued)
    not_admin = rules(lambda app, environment, requester: (FREEZE,), admin=False)
    assert "freeze" in why_not_cleared(cleared(not_admin, break_glass="outage"), new_deployment(), not_admin)
