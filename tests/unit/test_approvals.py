"""Approval requests (deploybot.policy.approvals) on SQLite and PostgreSQL, with injected time:
counting approvals, the last one, twice by the same person, rejection with a reason,
expiry (on a late decision and by the expiry round), told once, started once; how many
approvals a deploy needs and who may give them."""
from datetime import datetime, timedelta, timezone

import pytest

from deploybot.policy.approvals import ApprovalStore, GroupUnresolvable, approvals_needed, approved_by, why_not_approver
from deploybot.domain.catalog import load_catalog
from deploybot.domain.profiles import load_profile

START = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def new_request(store, approval_id="A" * 22, needed=1, expires_in=timedelta(minutes=30), **values):
    fields = dict(id=approval_id, assistant="bender", app="cms", environment="production", version="1.0.3", kind="deploy",
                  requested_by="UREQUESTER1", conversation_id="UREQUESTER1", output_channel="rest", second_factor=True,
                  requested_at=START, expires_at=START + expires_in, needed=needed)
    fields.update(values)
    return store.create(**fields)


@pytest.fixture
def store(db_on_both):
    return ApprovalStore(db_on_both)


def test_the_last_approval_needed_approves_and_one_person_counts_once(store):
    new_request(store, needed=2)
    assert store.approve("A" * 22, "UONE", START).outcome == "counted"
    assert store.approve("A" * 22, "UONE", START).outcome == "twice"
    decision = store.approve("A" * 22, "UTWO", START + timedelta(minutes=1))
    assert decision.outcome == "approved" and approved_by(decision.row) == ["UONE", "UTWO"]
    assert store.approve("A" * 22, "UTHREE", START).outcome == "already_approved"
    assert store.reject("A" * 22, "UTHREE", "too late", START).outcome == "already_approved"
    assert store.mark_started("A" * 22) is True
    assert store.mark_started("A" * 22) is False  # one deployment per approval
    assert store.approve("A" * 22, "UTHREE", START).outcome == "already_started"


def test_a_rejection_keeps_its_reason_and_closes_the_request(store):
    new_request(store)
    decision = store.reject("A" * 22, "UONE", "tests are red", START)
    assert (decision.outcome, decision.row.reason, decision.row.decided_by) == ("rejected", "tests are red", "UONE")
    assert store.approve("A" * 22, "UTWO", START).outcome == "already_rejected"
    assert store.mark_started("A" * 22) is False


def test_requests_expire_when_decided_late_and_in_the_expiry_round(store):
    new_request(store, "B" * 22, expires_in=timedelta(minutes=30))
    new_request(store, "C" * 22, expires_in=timedelta(minutes=5))
    assert store.approve("B" * 22, "UONE", START + timedelta(minutes=31)).outcome == "expired"
    assert store.get("B" * 22).state == "expired"
    assert store.expire_due("bender", START + timedelta(minutes=4)) == []
    assert store.expire_due("marvin", START + timedelta(minutes=6)) == []  # only a bot's own
    assert store.expire_due("bender", START + timedelta(minutes=6)) == ["C" * 22]
    assert store.expire_due("bender", START + timedelta(minutes=7)) == []
    assert sorted(store.untold("bender")) == ["B" * 22, "C" * 22]


def test_the_requester_is_told_once(store):
    new_request(store)
    store.reject("A" * 22, "UONE", "no", START)
    assert store.mark_told("A" * 22) is True
    assert store.mark_told("A" * 22) is False
    assert store.untold("bender") == []


class Rules:
    """Permissions as the approval rules ask them."""

    def __init__(self, admins=(), grants=()):
        self.admins, self.grants = set(admins), set(grants)

    def is_admin(self, user):
        return user in self.admins

    def may_deploy(self, user, app):
        return (user, app) in self.grants


def test_who_may_approve(store, tmp_path):
    catalog = load_catalog("apps.yml")
    row = new_request(store)
    rules = Rules(admins={"UADMIN"}, grants={("UGRANTED", "cms"), ("UREQUESTER1", "cms")})
    assert why_not_approver("UREQUESTER1", row, catalog, rules) == "You asked for this deployment: someone else has to approve it."
    assert why_not_approver("UGRANTED", row, catalog, rules) is None
    assert why_not_approver("UADMIN", row, catalog, rules) is None
    assert why_not_approver("UOTHER", row, catalog, rules).startswith("Only people granted Content Management System")
    listed = tmp_path / "apps.yml"
    listed.write_text("environments: {production: {approvals: 2}}\napps:\n  cms: {name: CMS, jenkins_job: j, environments: [production],"
                      " approvers: [UREVIEWER]}\n  shop: {name: Shop, jenkins_job: k, environments: [production], approvals: 0}\n")
    catalog = load_catalog(listed)
    assert why_not_approver("UGRANTED", row, catalog, rules) == "Only UREVIEWER may approve deployments of CMS."
    assert why_not_approver("UREVIEWER", row, catalog, rules) is None
    bender = load_profile("assistants/bender.yml", environ={})
    assert approvals_needed(bender, catalog, "cms", "production") == 2   # the environment's
    assert approvals_needed(bender, catalog, "shop", "production") == 0  # the app's
    assert approvals_needed(bender, load_catalog("apps.yml"), "cms", "production") == bender.approvals == 0
    assert load_profile("assistants/bender.yml", environ={"BENDER_APPROVALS": "1"}).approvals == 1


@pytest.mark.parametrize("setting, problem", [("approvals: 9", "approvals: is a number of approvals from 0 to 5"),
                                              ("approvals: yes", "approvals: is a number of approvals from 0 to 5"),
                                              ("approval_timeout: soon", "approval_timeout: expected a duration")])
def test_bad_approval_settings_are_named(tmp_path, setting, problem):
    from deploybot.domain.profiles import ProfileError

    path = tmp_path / "bender.yml"
    path.write_text(f"name: Bender\nenvironments: [production]\nports: {{rasa: 5006, actions: 5056}}\n{setting}\n")
    with pytest.raises(ProfileError, match=problem):
        load_profile(path, environ={})


def test_bad_approvals_in_apps_yml_are_named(tmp_path):
    from deploybot.domain.catalog import CatalogError

    path = tmp_path / "apps.yml"
    path.write_text("environments: {production: {}}\napps:\n  cms: {name: CMS, jenkins_job: j, environments: [production], approvals: {qa: 1}}\n")
    with pytest.raises(CatalogError, match=r"apps.cms.approvals: names environments the app is not deployed to"):
        load_catalog(path)
    path.write_text("environments: {production: {approvals: -1}}\napps:\n  cms: {name: CMS, jenkins_job: j, environments: [production]}\n")
    with pytest.raises(CatalogError, match=r"environments.production.approvals: is a number of approvals from 0 to 5"):
        load_catalog(path)


def test_approver_two_factor_is_a_flag():
    from deploybot.domain.profiles import ProfileError

    assert load_profile("assistants/bender.yml", environ={}).approver_two_factor is False
    assert load_profile("assistants/bender.yml", environ={"BENDER_APPROVER_TWO_FACTOR": "true"}).approver_two_factor is True
    with pytest.raises(ProfileError, match="approver_two_factor: is true or false"):
        load_profile("assistants/bender.yml", environ={"BENDER_APPROVER_TWO_FACTOR": "sometimes"})


class Groups:
    """Slack user groups as deploybot.adapters.slack.usergroups.UserGroups answers (tested there against the fake)."""

    def __init__(self, members=None, failing=()):
        self.members_of, self.failing, self.asked = members or {}, set(failing), []

    def members(self, entry):
        self.asked.append(entry)
        if entry in self.failing:
            raise GroupUnresolvable(f"I could not ask Slack who is in the user group {entry} (missing_scope).")
        return frozenset(self.members_of.get(entry, ()))


def group_catalog(tmp_path, approvers):
    path = tmp_path / "apps.yml"
    path.write_text("environments: {production: {}}\napps:\n  cms: {name: CMS, jenkins_job: j, environments: [production],"
                    f" approvers: {approvers}}}\n")
    return load_catalog(path)


def test_members_of_an_approver_group_may_approve_and_nobody_else(store, tmp_path):
    catalog = group_catalog(tmp_path, '["@sre-oncall", S0RELEASE1, UREVIEWER]')
    row = new_request(store)
    rules = Rules(admins={"UADMIN"}, grants={("UGRANTED", "cms")})
    groups = Groups({"@sre-oncall": {"U0ONCALL", "UREQUESTER1"}, "S0RELEASE1": {"U0RELEASE"}})
    assert why_not_approver("U0ONCALL", row, catalog, rules, groups) is None
    assert why_not_approver("U0RELEASE", row, catalog, rules, groups) is None
    assert why_not_approver("UREVIEWER", row, catalog, rules, groups) is None
    assert why_not_approver("UREQUESTER1", row, catalog, rules, groups) == \
        "You asked for this deployment: someone else has to approve it."  # a member, but the requester
    for outsider in ("UGRANTED", "UADMIN", "@sre-oncall", "S0RELEASE1"):
        assert why_not_approver(outsider, row, catalog, rules, groups) == \
            "Only @sre-oncall, S0RELEASE1, UREVIEWER may approve deployments of CMS."


def test_a_group_slack_cannot_resolve_lets_nobody_approve_through_it(store, tmp_path):
    catalog = group_catalog(tmp_path, '["@sre-oncall", "@release"]')
    row = new_request(store)
    rules = Rules(admins={"U0ONCALL"}, grants={("U0ONCALL", "cms")})
    groups = Groups({"@release": {"U0RELEASE"}}, failing={"@sre-oncall"})
    assert why_not_approver("U0ONCALL", row, catalog, rules, groups) == (
        "Only @sre-oncall, @release may approve deployments of CMS. I could not ask Slack who is in the user group "
        "@sre-oncall (missing_scope). So I can't count your approval.")
    assert why_not_approver("U0RELEASE", row, catalog, rules, groups) is None  # another group still counts


def test_without_slack_a_group_cannot_be_resolved_and_says_so(store, tmp_path):
    catalog = group_catalog(tmp_path, '["@sre-oncall", theresa]')
    row = new_request(store)
    rules = Rules(admins={"max"}, grants={("max", "cms")})
    assert why_not_approver("max", row, catalog, rules) == (
        "Only @sre-oncall, theresa may approve deployments of CMS. @sre-oncall is a Slack user group, and I am not "
        "connected to Slack here, so I can't tell who is in it. So I can't count your approval.")
    assert why_not_approver("theresa", row, catalog, rules) is None


def test_a_malformed_group_handle_is_named(tmp_path):
    from deploybot.domain.catalog import CatalogError

    with pytest.raises(CatalogError, match=r"apps.cms.approvers: '@SRE Oncall' is not a Slack user group handle"):
        group_catalog(tmp_path, '["@SRE Oncall"]')
    with pytest.raises(CatalogError, match=r"apps.cms.approvers: expected a list of names"):
        group_catalog(tmp_path, "[1]")


def test_approvers_deciding_at_the_same_moment_are_all_counted(store):
    """Two of two approvals given at once both count (none lost: SQLite ignores FOR UPDATE),
    and an approval racing a rejection: exactly one of them decides."""
    from tests.unit.test_outbox import all_at_once

    for attempt in range(3):
        approval_id = f"B{attempt}".ljust(22, "x")
        new_request(store, approval_id, needed=2)
        outcomes = all_at_once(lambda n: store.approve(approval_id, f"UAPPROVER{n}", START).outcome, count=2)
        assert sorted(outcomes) == ["approved", "counted"], outcomes
        assert sorted(approved_by(store.get(approval_id))) == ["UAPPROVER0", "UAPPROVER1"]
        raced = f"C{attempt}".ljust(22, "x")
        new_request(store, raced)
        decisions = all_at_once(lambda n: (store.approve(raced, "UONE", START) if n == 0
                                           else store.reject(raced, "UTWO", "no", START)).outcome, count=2)
        assert sorted(decisions) in (["already_approved", "approved"], ["already_rejected", "rejected"]), decisions
        assert store.get(raced).state in ("approved", "rejected")


def test_a_withdrawn_request_is_closed_for_approvers_and_never_told_or_started(store):
    """The requester's "no" while it waits for approvals (issue 22): once, and only while pending."""
    new_request(store)
    new_request(store, approval_id="B" * 22, conversation_id="elsewhere")
    new_request(store, approval_id="C" * 22, requested_by="USOMEONE")
    assert [row.id for row in store.pending_of("bender", "UREQUESTER1", "UREQUESTER1")] == ["A" * 22]
    assert store.withdraw("A" * 22, START) is True
    assert store.withdraw("A" * 22, START) is False
    assert store.pending_of("bender", "UREQUESTER1", "UREQUESTER1") == []
    assert store.approve("A" * 22, "UONE", START).outcome == "already_withdrawn"
    assert store.reject("A" * 22, "UONE", "no", START).outcome == "already_withdrawn"
    assert store.mark_started("A" * 22) is False
    assert "A" * 22 not in store.untold("bender") and store.mark_told("A" * 22) is False
    assert store.approve("B" * 22, "UONE", START).outcome == "approved"
    assert store.withdraw("B" * 22, START) is False  # decided already: its outcome is told as usual
