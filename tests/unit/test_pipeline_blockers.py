"""The rules that block a deploy (deploybot/pipeline/blockers.py), composed with the gate's own
checks in the order of gate.RULES, against a real database on SQLite and PostgreSQL."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from deploybot.domain.catalog import load_catalog
from deploybot.domain.deploy_request import DeployRequest
from deploybot.domain.deployments import DeploymentStore, NewDeployment
from deploybot.domain.locks import Locks
from deploybot.domain.profiles import load_profiles
from deploybot.pipeline import blockers
from deploybot.pipeline.gate import Block, blocks, why_closed
from deploybot.policy.approvals import ApprovalStore
from deploybot.policy.permissions import Permissions

BERLIN = ZoneInfo("Europe/Berlin")
FREEZE = Block("freeze", "release weekend", datetime(2030, 12, 14, 7, 0, tzinfo=timezone.utc), break_glass_passes=True)


@pytest.fixture
def sources(db_on_both):
    profiles, catalog = load_profiles("assistants", environ={}), load_catalog("apps.yml")
    return dict(permissions=Permissions(db_on_both, profiles["bender"], catalog), locks=Locks(db_on_both, BERLIN),
                store=DeploymentStore(db_on_both, catalog), approvals=ApprovalStore(db_on_both), assistant="bender")


def found(sources, user="theresa", gate=(), with_approvals=True, app="cms"):
    checks = blockers.checks(sources["permissions"], sources["locks"], sources["store"], sources["approvals"],
                             sources["assistant"], list(gate), BERLIN, with_approvals=with_approvals)
    return blocks(checks, app, "production", user, datetime.now(timezone.utc))


def start_deployment(sources, user="jbrueder", app="cms"):
    return sources["store"].begin(NewDeployment(
        assistant="bender", request=DeployRequest(app, "1.0.2", "production"), kind="deploy", requested_by=user,
        conversation_id=user, output_channel="rest", requested_at=datetime.now(timezone.utc)))


def wait_for_approvals(sources, user="theresa", app="cms", expires_in=timedelta(minutes=30), needed=2):
    now = datetime.now(timezone.utc)
    return sources["approvals"].create(
        id=f"a-{user}-{app}", assistant="bender", app=app, environment="production", version="1.0.7", kind="deploy",
        requested_by=user, conversation_id=user, output_channel="rest", reply_to=None, second_factor=True,
        requested_at=now, expires_at=now + expires_in, needed=needed)


def test_nothing_blocks_a_granted_requester_on_a_free_environment(sources):
    sources["permissions"].grant("jbrueder", "theresa", "cms")
    assert found(sources) == ()


def test_every_rule_that_blocks_is_named_in_the_order_of_the_rules(sources):
    until = datetime.now(timezone.utc) + timedelta(hours=2)
    sources["locks"].lock("jbrueder", "production", None, "db migration", until)
    start_deployment(sources)
    wait_for_approvals(sources)
    rules = [block.rule for block in found(sources, gate=[lambda app, environment, requester, now: FREEZE])]
    assert rules == ["grant", "lock", "freeze", "busy", "approvals pending"]


def test_each_block_says_its_rule_in_the_rules_own_words_and_when_it_opens(sources):
    until = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=0)
    sources["locks"].lock("jbrueder", "production", None, "db migration", until)
    record = start_deployment(sources)
    wait_for_approvals(sources)
    grant, lock, busy, pending = found(sources)
    assert grant.reason.startswith("You may not deploy Content Management System to production: an admin has to grant it")
    assert grant.opens_at is None
    assert lock.reason.startswith("production is locked by jbrueder since ") and lock.reason.endswith(": db migration")
    assert lock.opens_at == until  # the lock's expiry, an aware UTC instant
    assert busy.reason == sources["store"].describe_active(record).rstrip(".")
    assert pending.reason == "your deploy of cms 1.0.7 to production waits for 2 more approvals; it starts once approved"
    text = why_closed("Content Management System to production", (grant, lock, busy, pending), BERLIN)
    assert f"lock: production is locked by jbrueder since " in text
    assert f"db migration (until {until.astimezone(BERLIN):%a %Y-%m-%d %H:%M} CE" in text
    assert "busy: cms is already being deployed to production by jbrueder" in text


def test_an_app_lock_counts_and_another_apps_does_not(sources):
    sources["permissions"].grant("jbrueder", "theresa", "cms")
    sources["locks"].lock("jbrueder", "production", "shop", "black friday")
    assert found(sources) == ()
    assert [block.rule for block in found(sources, app="shop")] == ["grant", "lock"]


def test_only_the_requesters_own_waiting_request_counts_and_not_when_expired(sources):
    sources["permissions"].grant("jbrueder", "theresa", "cms")
    sources["permissions"].grant("jbrueder", "alice", "cms")
    wait_for_approvals(sources, user="alice")
    assert found(sources, user="theresa") == ()  # alice's request is hers to tell
    assert [block.rule for block in found(sources, user="alice")] == ["approvals pending"]
    wait_for_approvals(sources, user="theresa", expires_in=timedelta(seconds=-1))
    assert found(sources, user="theresa") == ()


def test_a_refusal_leaves_a_waiting_request_out(sources):
    sources["permissions"].grant("jbrueder", "theresa", "cms")
    wait_for_approvals(sources)
    assert found(sources, with_approvals=False) == ()


def test_the_gates_own_checks_are_used_as_they_are(sources):
    sources["permissions"].grant("jbrueder", "theresa", "cms")
    assert found(sources, gate=[lambda app, environment, requester, now: FREEZE]) == (FREEZE,)
