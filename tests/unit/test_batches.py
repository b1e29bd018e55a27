"""Which version goes with which app in a request naming several (deploybot.domain.batches)."""
import pytest

from deploybot.domain import batches
from deploybot.domain.batches import UnclearBatch, corrected, items_of
from deploybot.domain.catalog import load_catalog

CATALOG = load_catalog("apps.yml")


def entities(text, *labelled):
    """("app", "cms") pairs, found left to right in the text, as the NLU gives them."""
    found, position = [], 0
    for entity, value in labelled:
        start = text.index(value, position)
        found.append({"entity": entity, "value": value, "start": start, "end": start + len(value)})
        position = start + len(value)
    return found


def pairs(text, *labelled):
    return [(item.app, item.version) for item in items_of(text, entities(text, *labelled))]


def test_each_version_follows_its_app():
    assert pairs("deploy cms 1.0.2 and shop 2.0.1 to staging",
                 ("app", "cms"), ("version", "1.0.2"), ("app", "shop"), ("version", "2.0.1"), ("environment", "staging")
                 ) == [("cms", "1.0.2"), ("shop", "2.0.1")]


def test_a_version_before_its_app_with_of_or_for():
    assert pairs("deploy 1.0.2 of cms and 2.0.1 of shop", ("version", "1.0.2"), ("app", "cms"), ("version", "2.0.1"),
                 ("app", "shop")) == [("cms", "1.0.2"), ("shop", "2.0.1")]
    assert pairs("ship 3.1 for the search and crm 5.0", ("version", "3.1"), ("app", "search"), ("app", "crm"),
                 ("version", "5.0")) == [("search", "3.1"), ("crm", "5.0")]


def test_an_app_without_its_own_version_gets_none():
    # "deploy cms and search 3.1": 3.1 is search's; cms's version is asked for, never guessed.
    assert pairs("deploy cms and search 3.1 to staging", ("app", "cms"), ("app", "search"), ("version", "3.1"),
                 ("environment", "staging")) == [("cms", None), ("search", "3.1")]
    assert pairs("deploy cms and search 3.1 to staging, that's all", ("app", "cms"), ("app", "search"), ("version", "3.1"),
                 ("environment", "staging")) == [("cms", None), ("search", "3.1")]


@pytest.mark.parametrize("text", [
    "deploy cms and search, both 3.1",
    "deploy cms and search 3.1 for both",
    "release cms and search at 3.1 each",
    "deploy cms and search all at 3.1",
])
def test_one_version_for_all_only_when_the_message_says_so(text):
    assert pairs(text, ("app", "cms"), ("app", "search"), ("version", "3.1")) == [("cms", "3.1"), ("search", "3.1")]


def test_three_apps_all_at_one_version():
    assert pairs("put cms, shop and crm all three at 1.4.0 on staging", ("app", "cms"), ("app", "shop"), ("app", "crm"),
                 ("version", "1.4.0"), ("environment", "staging")) == [("cms", "1.4.0"), ("shop", "1.4.0"), ("crm", "1.4.0")]


def test_both_or_each_said_of_the_list_of_apps_is_one_version_for_all():
    assert pairs("deploy both cms and shop 1.0", ("app", "cms"), ("app", "shop"), ("version", "1.0")) == [
        ("cms", "1.0"), ("shop", "1.0")]
    assert pairs("ship all three of cms, shop and crm at 9.0.0", ("app", "cms"), ("app", "shop"), ("app", "crm"),
                 ("version", "9.0.0")) == [("cms", "9.0.0"), ("shop", "9.0.0"), ("crm", "9.0.0")]
    assert pairs("deploy 1.0.0-rc1 for search and intranet each", ("version", "1.0.0-rc1"), ("app", "search"),
                 ("app", "intranet")) == [("search", "1.0.0-rc1"), ("intranet", "1.0.0-rc1")]
    # Not said of the list: "deploy cms and shop 1.0 and that's all" leaves cms without a version.
    assert pairs("deploy cms and shop 1.0 to staging and that's all", ("app", "cms"), ("app", "shop"), ("version", "1.0"),
                 ("environment", "staging")) == [("cms", None), ("shop", "1.0")]


def test_unclear_requests_are_refused_as_a_whole():
    with pytest.raises(UnclearBatch, match="cms more than once"):
        pairs("deploy cms 1.0.2 and cms 1.0.3 and shop 2.0", ("app", "cms"), ("version", "1.0.2"), ("app", "cms"),
              ("version", "1.0.3"), ("app", "shop"), ("version", "2.0"))
    with pytest.raises(UnclearBatch, match="two versions for cms"):
        pairs("deploy cms 1.0.2 1.0.3 and shop", ("app", "cms"), ("version", "1.0.2"), ("version", "1.0.3"), ("app", "shop"))
    with pytest.raises(UnclearBatch, match="which app version 9.9"):
        pairs("deploy 9.9 then cms and shop", ("version", "9.9"), ("app", "cms"), ("app", "shop"))


def test_the_question_names_every_deployment_and_what_cannot_go_ahead():
    items = [{"app": "cms", "version": "1.0.2"}, {"app": "shop", "version": "2.0.1"}]
    assert batches.question(items, "staging", {}, CATALOG) == (
        "Deploy these 2 apps to staging?\n• Content Management System 1.0.2\n• Web Shop 2.0.1\n(yes/no)")
    blocked = batches.question(items[:1], "staging", {"shop": "staging is locked."}, CATALOG)
    assert blocked.startswith("1 app of your request cannot go ahead:\n• Web Shop: staging is locked.\n"
                              "Deploy the other one to staging anyway?\n• Content Management System 1.0.2\n")
    assert blocked.endswith("(yes: go on without it, no: deploy nothing)")


def test_the_summary_counts_what_was_deployed():
    outcomes = [
        {"app": "cms", "version": "1.0.2", "environment": "staging", "state": "succeeded", "detail": "build #4"},
        {"app": "shop", "version": "2.0.1", "environment": "staging", "state": "failed", "detail": "build #9, FAILURE"},
        {"app": "crm", "version": "5.0", "environment": "staging", "state": "not_started", "detail": "staging is locked."},
    ]
    assert batches.summary(outcomes, CATALOG) == (
        "1 of 3 deployed to staging:\n• Content Management System 1.0.2: deployed\n"
        "• Web Shop 2.0.1: failed (build #9, FAILURE)\n• Customer Relationship Management 5.0: not started (staging is locked.)")


def test_a_correction_must_name_the_app_it_changes():
    items = [{"app": "cms", "version": "1.0.2", "kind": "deploy"}, {"app": "shop", "version": "2.0.1", "kind": "deploy"}]
    new, environment = corrected(items, "staging", {"app": "shop", "version": "2.0.2"}, CATALOG)
    assert [(i["app"], i["version"]) for i in new] == [("cms", "1.0.2"), ("shop", "2.0.2")] and environment == "staging"
    assert corrected(items, "staging", {"environment": "production"}, CATALOG)[1] == "production"
    for changes in ({"version": "1.0.4"}, {"app": "shop"}):
        with pytest.raises(UnclearBatch, match="several apps"):
            corrected(items, "staging", changes, CATALOG)
    with pytest.raises(UnclearBatch, match="Billing Service is not in your request"):
        corrected(items, "staging", {"app": "billing", "version": "1.0"}, CATALOG)


def test_a_correction_may_name_several_apps_each_with_its_version():
    items = [{"app": "cms", "version": "1.0.2", "kind": "deploy"}, {"app": "shop", "version": "2.0.1", "kind": "deploy"},
             {"app": "crm", "version": "5.0", "kind": "promotion"}]
    text = "no, shop 2.0.2 and cms 1.0.3 on production"
    changes = batches.named_versions(text, entities(text, ("app", "shop"), ("version", "2.0.2"), ("app", "cms"),
                                                    ("version", "1.0.3"), ("environment", "production")))
    assert changes == {"versions": {"shop": "2.0.2", "cms": "1.0.3"}, "environment": "production"}
    new, environment = corrected(items, "staging", changes, CATALOG)
    assert [(i["app"], i["version"], i["kind"]) for i in new] == [("cms", "1.0.3", "deploy"), ("shop", "2.0.2", "deploy"),
                                                                  ("crm", "5.0", "promotion")]
    assert environment == "production"


def test_a_correction_of_several_apps_that_leaves_doubt_changes_nothing():
    text = "no, cms and shop 2.0.2"  # which one gets 2.0.2 is not said: neither is guessed
    with pytest.raises(UnclearBatch, match="You named cms without a version"):
        batches.named_versions(text, entities(text, ("app", "cms"), ("app", "shop"), ("version", "2.0.2")))
    text = "no, cms 1.0.3 and shop 2.0.2 on staging and production"
    with pytest.raises(UnclearBatch, match="several environments"):
        batches.named_versions(text, entities(text, ("app", "cms"), ("version", "1.0.3"), ("app", "shop"), ("version", "2.0.2"),
                                              ("environment", "staging"), ("environment", "production")))
    items = [{"app": "cms", "version": "1.0.2", "kind": "deploy"}, {"app": "shop", "version": "2.0.1", "kind": "deploy"}]
    with pytest.raises(UnclearBatch, match="Billing Service not in your request"):
        corrected(items, "staging", {"versions": {"cms": "1.0.3", "billing": "1.0"}}, CATALOG)
