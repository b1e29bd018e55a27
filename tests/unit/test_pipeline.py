"""The deploy pipeline (deploybot/pipeline): its stages in order, what ends a request where,
and the Clearance as the single door into Jenkins. Real policy (deploybot.policy.step_up,
deploybot.policy.approvals over the real profiles and apps.yml), a real SQLite database and the
Jenkins emulator: a deployment the clearance does not cover is refused by Deployer.start
before anything is recorded or reaches Jenkins."""
from __future__ import annotations

import ast
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from deploybot.policy.approvals import approvals_needed
from deploybot.domain.deploy_request import RequestRejected
from deploybot.delivery.deployer import Deployer
from deploybot.pipeline import stages
from deploybot.pipeline.clearance import Clearance, Confirmed, Rules
from deploybot.pipeline.progress import Cleared, NeedsApprovals, NeedsCode, Passed, clearance_for, next_stage
from deploybot.pipeline.request import Item, Request, reply_target
from deploybot.pipeline.start import Ports, Refused, Started, new_deployment, start_item, why_not_allowed
from deploybot.domain.profiles import load_profiles
from deploybot.policy.step_up import two_factor_required
from deploybot.storage.models import Deployment
from tests.unit.test_jenkins_client import control
from tests.unit.test_watcher_jenkins_faults import CATALOG, client, db, emulator, store  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "jbrueder"  # bender's admin (assistants/bender.yml)


def rules_of(profile) -> Rules:
    """What actions/context.py gives Deployer.start: the profile's and apps.yml's settings."""
    return Rules(needs_code=lambda app, environment: two_factor_required(profile, CATALOG, app, environment),
                 approvals_needed=lambda app, environment: approvals_needed(profile, CATALOG, app, environment),
                 is_admin=lambda user: user in profile.admins())


BENDER = load_profiles()["bender"]                       # production: a code, no approvals
FOUR_EYES = rules_of(replace(BENDER, approvals=2))       # as BENDER_APPROVALS=2: a code and two approvals
MARVIN = rules_of(load_profiles()["marvin"])             # staging: neither


def request(environment="production", version="1.4.2", requester="alice", break_glass=None) -> Request:
    return Request(assistant="bender", environment=environment, items=(Item("cms", version),), requester=requester,
                   conversation_id=requester, output_channel="rest", reply_to=None,
                   requested_at=datetime.now(timezone.utc), break_glass_reason=break_glass)


def cleared(asked: Request, passed: Passed, rules: Rules) -> Clearance:
    stage = next_stage(asked, asked.items[0], passed, rules)
    assert isinstance(stage, Cleared), stage
    return stage.clearance


def jenkins_builds(emulator) -> list:  # noqa: F811 (the fixture)
    return control(emulator, "GET", "/builds")


def recorded(store) -> int:  # noqa: F811
    with store.db.transaction() as session:
        return session.query(Deployment).count()


# -- the stages -------------------------------------------------------------------------------


def test_the_stages_are_named_in_order_and_each_says_what_it_needs_and_what_ends_it():
    assert stages.NAMES == ("understood", "checked", "gate", "asked", "confirmed", "second factor", "approvals", "started",
                            "watched", "reported", "summed up")
    assert all(stage.needs and stage.may_end_with and stage.where for stage in stages.STAGES)
    # The clearance stands for the stages between the yes and Jenkins, all before the start.
    assert all(stages.NAMES.index(name) < stages.NAMES.index("started") for name in stages.CLEARED_BY)
    # The gate is checked before anything is asked, and again at the door (Rules.gate).
    assert stages.NAMES.index("checked") < stages.NAMES.index("gate") < stages.NAMES.index("asked")


def test_after_the_yes_a_code_comes_first_then_the_approvals_then_the_clearance():
    asked = request()
    assert next_stage(asked, asked.items[0], Passed(Confirmed.YES), FOUR_EYES) == NeedsCode()
    # Approvals given without a code do not skip it.
    assert next_stage(asked, asked.items[0], Passed(Confirmed.YES, approved_by=("bob", "carol")), FOUR_EYES) == NeedsCode()
    assert next_stage(asked, asked.items[0], Passed(Confirmed.YES, second_factor=True), FOUR_EYES) == NeedsApprovals(2)
    one = Passed(Confirmed.YES, second_factor=True, approved_by=("bob",))
    assert next_stage(asked, asked.items[0], one, FOUR_EYES) == NeedsApprovals(2)
    # The same approver twice counts once.
    twice = Passed(Confirmed.YES, second_factor=True, approved_by=("bob", "bob"))
    assert next_stage(asked, asked.items[0], twice, FOUR_EYES) == NeedsApprovals(2)
    clearance = cleared(asked, Passed(Confirmed.YES, second_factor=True, approved_by=("bob", "carol")), FOUR_EYES)
    assert (clearance.app, clearance.version, clearance.environment, clearance.requester) == ("cms", "1.4.2", "production", "alice")
    assert clearance.safeguards() == {"approved_by": "bob,carol", "second_factor": True}


def test_where_nothing_is_required_the_yes_clears_at_once():
    asked = request(environment="staging")
    clearance = cleared(asked, Passed(Confirmed.YES), MARVIN)
    assert clearance.safeguards() is None  # the record's safeguard columns stay empty, as before


def test_break_glass_always_needs_a_code_and_skips_approvals_only_for_an_admin():
    by_admin = request(requester=ADMIN, break_glass="outage INC-123")
    assert next_stage(by_admin, by_admin.items[0], Passed(Confirmed.BREAK_GLASS), rules_of(replace(BENDER, two_factor="off"))) == NeedsCode()
    clearance = cleared(by_admin, Passed(Confirmed.BREAK_GLASS, second_factor=True), FOUR_EYES)
    assert clearance.safeguards() == {"second_factor": True, "break_glass_reason": "outage INC-123"}
    by_someone_else = request(requester="alice", break_glass="outage INC-123")
    assert next_stage(by_someone_else, by_someone_else.items[0], Passed(Confirmed.BREAK_GLASS, second_factor=True),
                      FOUR_EYES) == NeedsApprovals(2)


def test_only_the_pipeline_issues_a_clearance():
    with pytest.raises(TypeError):
        Clearance("cms", "1.4.2", "production", "alice", Confirmed.YES, second_factor=True)
    clearance = cleared(request(), Passed(Confirmed.YES, second_factor=True), BENDER_RULES)
    with pytest.raises(TypeError):  # nor can a clearance be copied onto another deployment
        replace(clearance, version="9.9.9")


BENDER_RULES = rules_of(BENDER)


def test_the_slack_reply_target_is_the_requests_thread_and_only_on_slack():
    metadata = {"out_channel": "C1", "thread_id": "17.1"}
    assert reply_target(True, metadata) == {"channel": "C1", "thread_ts": "17.1"}
    assert reply_target(False, metadata) is None


# -- the door: Deployer.start ------------------------------------------------------------------


def door(store, client, rules) -> Deployer:  # noqa: F811
    return Deployer(store, client, CATALOG, rules=rules)


def refused_at_the_door(store, client, emulator, rules, asked, clearance, started=None):  # noqa: F811
    started = started or asked
    with pytest.raises(RequestRejected) as refusal:
        door(store, client, rules).start(new_deployment(started, started.items[0], clearance), clearance)
    assert "Nothing was deployed" in str(refusal.value)
    assert recorded(store) == 0 and jenkins_builds(emulator) == []
    return str(refusal.value)


def test_the_door_refuses_a_deployment_without_a_clearance(store, client, emulator):  # noqa: F811
    why = refused_at_the_door(store, client, emulator, MARVIN, request(environment="staging"), None)
    assert "no clearance" in why


def test_the_door_refuses_a_clearance_without_the_code(store, client, emulator):  # noqa: F811
    # Issued under rules that asked for no code (a path that skipped the stage); the door applies bender's.
    clearance = cleared(request(), Passed(Confirmed.YES), MARVIN)
    why = refused_at_the_door(store, client, emulator, BENDER_RULES, request(), clearance)
    assert "two-factor code" in why


def test_the_door_refuses_a_clearance_without_the_approvals(store, client, emulator):  # noqa: F811
    clearance = cleared(request(), Passed(Confirmed.YES, second_factor=True, approved_by=("bob",)),
                        rules_of(replace(BENDER, approvals=1)))
    why = refused_at_the_door(store, client, emulator, FOUR_EYES, request(), clearance)
    assert "2 approvals, and has 1" in why


def test_the_door_refuses_a_break_glass_clearance_without_approvals_when_not_an_admin(store, client, emulator):  # noqa: F811
    asked = request(requester="alice", break_glass="outage")
    # Issued where alice counted as an admin; the door asks this bot, where she is not one.
    clearance = cleared(asked, Passed(Confirmed.BREAK_GLASS, second_factor=True), replace(FOUR_EYES, is_admin=lambda user: True))
    refused_at_the_door(store, client, emulator, FOUR_EYES, asked, clearance)


@pytest.mark.parametrize("other", [dict(version="1.4.3"), dict(environment="staging"), dict(requester="mallory")])
def test_the_door_refuses_a_clearance_for_another_deployment(store, client, emulator, other):  # noqa: F811
    clearance = cleared(request(), Passed(Confirmed.YES, second_factor=True), BENDER_RULES)
    why = refused_at_the_door(store, client, emulator, BENDER_RULES, request(), clearance, started=request(**other))
    assert "another deployment" in why


def test_the_door_refuses_everything_without_rules(store, client, emulator):  # noqa: F811
    clearance = cleared(request(environment="staging"), Passed(Confirmed.YES), MARVIN)
    refused_at_the_door(store, client, emulator, None, request(environment="staging"), clearance)


def test_a_covering_clearance_reaches_jenkins(store, client, emulator):  # noqa: F811
    asked = request()
    clearance = cleared(asked, Passed(Confirmed.YES, second_factor=True, approved_by=("bob", "carol")), FOUR_EYES)
    reply = door(store, client, FOUR_EYES).start(new_deployment(asked, asked.items[0], clearance), clearance)
    assert "Jenkins has queued it" in reply
    [build] = jenkins_builds(emulator)
    assert build["job"] == "deploy-cms"
    with store.db.transaction() as session:
        [record] = session.query(Deployment).all()
        assert (record.approved_by, record.second_factor) == ("bob,carol", True)


# -- the started stage: one place to check, start and audit ------------------------------------


class Audit(list):
    def __call__(self, user, app, environment, detail):
        self.append((user, app, environment, detail))


def ports(store, client, rules, audit, grant=None) -> Ports:  # noqa: F811
    def check_grant(user, deploy_request):
        if grant is not None and user not in grant:
            raise RequestRejected(f"{user} may not deploy {deploy_request.app}.")
    from deploybot.policy.identity import check_requester
    return Ports(start=door(store, client, rules).start, check_requester=check_requester, check_grant=check_grant,
                 audit_refused=audit)


def test_a_refused_start_is_said_and_audited_and_nothing_reaches_jenkins(store, client, emulator):  # noqa: F811
    audit, asked = Audit(), request()
    outcome = start_item(ports(store, client, BENDER_RULES, audit), asked, asked.items[0], None, "after approval: ")
    assert isinstance(outcome, Refused) and "no clearance" in outcome.why
    assert audit == [("alice", "cms", "production", f"after approval: {outcome.why}")]
    assert recorded(store) == 0 and jenkins_builds(emulator) == []


def test_a_revoked_grant_ends_the_request_at_the_start_and_is_audited(store, client, emulator):  # noqa: F811
    audit, asked = Audit(), request()
    why = why_not_allowed(ports(store, client, BENDER_RULES, audit, grant={"bob"}), asked, asked.items[0],
                          channel="rest", audit_as="batch: ")
    assert why == "alice may not deploy cms."
    assert audit == [("alice", "cms", "production", "batch: alice may not deploy cms.")]
    assert why_not_allowed(ports(store, client, BENDER_RULES, Audit(), grant={"alice"}), asked, asked.items[0], channel="rest") is None


def test_a_cleared_start_is_started(store, client, emulator):  # noqa: F811
    audit, asked = Audit(), request(environment="staging")
    outcome = start_item(ports(store, client, MARVIN, audit), asked, asked.items[0], clearance_for(asked, asked.items[0], Passed(Confirmed.YES), MARVIN))
    assert isinstance(outcome, Started) and "Jenkins has queued it" in outcome.text
    assert audit == [] and len(jenkins_builds(emulator)) == 1


# -- the structure ------------------------------------------------------------------------------

FORBIDDEN = ("deploybot.adapters.slack", "deploybot.adapters.jenkins", "deploybot.ledger", "deploybot.adapters.terminal_chat", "deploybot.rest",
             "deploybot.delivery.deployer", "rasa", "rasa_sdk", "actions", "channels")


def imports_of(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_the_pipeline_imports_no_adapter_no_rasa_no_ledger_and_no_actions():
    modules = sorted((ROOT / "deploybot/pipeline").glob("*.py"))
    assert len(modules) >= 6
    offending = [f"{path.name}: {module}" for path in modules for module in imports_of(path)
                 if any(module == name or module.startswith(name + ".") for name in FORBIDDEN)]
    assert offending == []


def calls_named(name: str):
    for root in ("actions", "deploybot", "channels", "components"):
        for path in (ROOT / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call):
                    function = node.func
                    called = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
                    if called == name:
                        yield str(path.relative_to(ROOT))


def test_a_deployment_is_built_in_one_place_and_started_through_one_port():
    assert sorted(set(calls_named("NewDeployment"))) == ["deploybot/pipeline/start.py"]
    # Deployer.start is called by start_in_jenkins, the pipeline's start port, and nowhere else;
    # and only Deployer.start asks Jenkins for a build.
    assert sorted(set(deployer_starts())) == ["actions/context.py"]
    assert sorted(set(calls_named("trigger")) - {"deploybot/adapters/jenkins/client.py"}) == ["deploybot/delivery/deployer.py"]


def deployer_starts():
    """Where `deployer().start` or `Deployer(...).start` is called."""
    for root in ("actions", "deploybot", "channels", "components"):
        for path in (ROOT / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Attribute) and node.attr == "start" and isinstance(node.value, ast.Call)
                        and getattr(node.value.func, "id", None) in ("deployer", "Deployer")):
                    yield str(path.relative_to(ROOT))


def test_the_actions_that_adapt_the_pipeline_import_each_other_without_a_cycle():
    """actions.approvals -> batches -> deploy -> held -> safeguards was a cycle, worked around
    with imports inside functions; every import counts here, those too."""
    graph = {}
    for path in (ROOT / "actions").glob("*.py"):
        graph[f"actions.{path.stem}"] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "actions":
                graph[f"actions.{path.stem}"] |= {f"actions.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("actions."):
                graph[f"actions.{path.stem}"].add(node.module)
    done, on_path = set(), []

    def visit(module):
        assert module not in on_path, " -> ".join(on_path[on_path.index(module):] + [module])
        if module in done:
            return
        on_path.append(module)
        for imported in graph.get(module, ()):
            visit(imported)
        on_path.pop()
        done.add(module)

    assert len(graph) > 10
    for module in sorted(graph):
        visit(module)
