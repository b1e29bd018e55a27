"""Requests naming several versions for one app, or several environments: one clear refusal
that asks about none of them, and nothing pending afterwards. Several apps are a batch
(tests/integration/test_batches.py), and never one of them picked silently."""
from tests.slack_chat import deployments


def refusal(kind, values, example):
    return (f"One deployment at a time, please: you named several {kind}s ({', '.join(values)}), so I did nothing with"
            f" this request and nothing was deployed. Ask for each one on its own, for example “{example}”.")


ASK_CMS = ("Which version of Content Management System? (Web Shop 1.0 is set.) If one version is for all of them,"
           " say so in the request, for example “deploy cms and search, both 3.1”.")


def test_several_apps_are_one_batch_and_no_app_gets_another_apps_version(marvin, stack, user):
    assert marvin.texts(user, "deploy cms and shop 1.0") == [ASK_CMS]
    assert marvin.tracker(user)["slots"]["pending_deploy"] is None
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    assert marvin.texts(user, "yes")[0].startswith("Nothing is waiting")
    assert deployments(stack, requested_by=user) == []


def test_several_versions_or_environments_are_refused_the_same_way(marvin, bender, user):
    assert marvin.texts(user, "deploy cms 1.0.2 and 1.0.3") == [refusal("version", ["1.0.2", "1.0.3"], "deploy cms 1.0.2")]
    assert bender.texts(user, "deploy cms 1.0.2 to staging and production") == [
        refusal("environment", ["staging", "production"], "deploy cms to staging")]
    assert bender.tracker(user)["slots"]["pending_deploy"] is None
    assert bender.texts(user, "deploy cms 1.0.2 and shop 2.0.1 to staging and production") == [
        refusal("environment", ["staging", "production"], "deploy cms to staging")]
    assert bender.tracker(user)["slots"]["pending_deploy"] is None


def test_several_apps_while_a_question_is_pending_replace_it(marvin, stack, user):
    marvin.say(user, "deploy crm 5.0.0")
    assert marvin.texts(user, "deploy cms and shop 1.0 to staging") == [
        "That replaces your pending request (Deploy Customer Relationship Management 5.0.0 to staging), which will not"
        " be deployed.", ASK_CMS]
    assert marvin.texts(user, "yes")[0].startswith("“yes” isn't a version")  # the form asks for cms's version
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    assert deployments(stack, requested_by=user) == []
