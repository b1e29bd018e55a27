"""Commit times for DORA's lead time for changes: the Jenkins emulator lists a build's change
sets as Jenkins and its git plugin do (a freestyle build's "changeSet", a Pipeline run's
"changeSets"; none at all), the real client reads the oldest commit through python-jenkins,
and the watcher stores it with the deployment's outcome, to the second."""
from datetime import datetime, timezone

import jenkins
import pytest

from deploybot.adapters.jenkins.builds import Commit, oldest_commit
from deploybot.adapters.jenkins.client import JenkinsClient, JenkinsSettings
from deploybot.ledger import dora
from deploybot.ledger.periods import period
from tests.unit.test_jenkins_client import CMS_PARAMETERS, TOKEN, USER, control, finished
from tests.unit.test_watcher_jenkins_faults import (  # noqa: F401  (fixtures)
    client, db, deploy, emulator, reporter, rounds_until, store, watcher)

# git's %ci dates, as the git plugin keeps them; the oldest is the second, in another zone.
COMMITS = [
    {"id": "a" * 40, "date": "2026-12-07 10:00:05 +0100", "msg": "Faster search", "author": "alice"},
    {"id": "b" * 40, "date": "2026-12-06 22:30:00 -0500", "msg": "Fix the cart", "author": "bob"},
    {"id": "c" * 40, "date": "not a date", "msg": "Unreadable date: -1", "author": "carol"},
]
OLDEST = datetime(2026, 12, 7, 3, 30, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("pipeline", [False, True])
def test_the_emulator_lists_change_sets_as_jenkins_does(emulator, pipeline):
    control(emulator, "POST", "/next-build", {"job": "deploy-cms", "commits": COMMITS, "pipeline": pipeline})
    control(emulator, "POST", "/next-build", {"job": "deploy-cms", "pipeline": pipeline})  # a build with none
    raw = jenkins.Jenkins(emulator.url, USER, TOKEN, timeout=5)
    ours = JenkinsClient(JenkinsSettings(emulator.url, USER, TOKEN, timeout=5))
    first = finished(ours, "deploy-cms", ours.trigger("deploy-cms", CMS_PARAMETERS))
    second = finished(ours, "deploy-cms", ours.trigger("deploy-cms", {**CMS_PARAMETERS, "VERSION": "2"}))
    with_changes, without = raw.get_build_info("deploy-cms", first.number), raw.get_build_info("deploy-cms", second.number)
    if pipeline:
        assert with_changes["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowRun" and "changeSet" not in with_changes
        [log] = with_changes["changeSets"]
        assert without["changeSets"] == []
    else:
        log = with_changes["changeSet"]
        assert "changeSets" not in with_changes
        assert without["changeSet"] == {"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None}
    assert log["_class"] == "hudson.plugins.git.GitChangeSetList" and log["kind"] == "git"
    assert [(i["commitId"], i["timestamp"], i["date"]) for i in log["items"]] == [
        ("a" * 40, 1796634005000, "2026-12-07 10:00:05 +0100"),
        ("b" * 40, 1796614200000, "2026-12-06 22:30:00 -0500"),
        ("c" * 40, -1, "not a date")]
    assert first.oldest_commit == Commit("b" * 40, int(OLDEST.timestamp() * 1000))
    assert second.oldest_commit is None


def test_unusable_change_set_entries_are_left_out():
    assert oldest_commit({}) is None
    assert oldest_commit({"changeSets": [{"items": [{"commitId": "x", "timestamp": -1}]}]}) is None
    assert oldest_commit({"changeSet": {"items": [{"commitId": "x", "timestamp": 10 ** 15},     # past 2100
                                                  {"commitId": "y", "timestamp": True},
                                                  {"commitId": None, "timestamp": 5},
                                                  "junk", {"commitId": "z", "timestamp": 7}]}}) == Commit("z", 7)


def test_the_watcher_stores_the_oldest_commit_time_to_the_second(emulator, store, client, watcher, db):
    control(emulator, "POST", "/next-build", {"job": "deploy-cms", "commits": COMMITS})
    with_commits, _ = deploy(store, client, app="cms")
    rounds_until(watcher, lambda: store.get(with_commits).state == "succeeded")
    record = store.get(with_commits)
    assert (record.commit_id, record.commit_at.replace(tzinfo=timezone.utc)) == ("b" * 40, OLDEST)
    # Its lead time for changes: from that commit to the build's end as Jenkins reported it.
    build = client.build("deploy-cms", record.build_number)
    went_live = datetime.fromtimestamp((build.timestamp_ms + build.duration_ms) / 1000, tz=timezone.utc)
    today = period(record.requested_at.date().isoformat(), record.requested_at.date().isoformat(), "UTC")
    with db.transaction() as session:
        keys = dora.keys_by_app(session, "staging", today, ["cms"])["cms"]
    assert keys.lead_times == [(went_live - OLDEST).total_seconds()] and keys.lead_unknown == 0

    without, _ = deploy(store, client, app="shop")        # its build lists no change: unknown
    rounds_until(watcher, lambda: store.get(without).state == "succeeded")
    assert (store.get(without).commit_id, store.get(without).commit_at) == (None, None)
