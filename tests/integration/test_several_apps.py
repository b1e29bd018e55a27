"""Requests naming several apps, versions or environments (issue 16, part 5 not built):
one clear refusal that asks about none of them, and nothing pending afterwards."""
from tests.slack_chat import deployments


def refusal(kind, values, example):
    return (f"One deployment at a time, please: you named several {kind}s ({', '.join(values)}), so I did nothing with"
            f" this request and nothing was deployed. Ask for each one on its own, for example “{example}”.")


def test_several_apps_get_one_refusal_and_no_question_about_one_of_them(marvin, stack, user):
    assert marvin.texts(user, "deploy cms and shop 1.0") == [refusal("app", ["cms", "shop"], "deploy cms")]
    assert marvin.tracker(user)["slots"]["pending_deploy"] is None
    assert marvin.texts(user, "yes")[0].startswith("Nothing is waiting")
    assert marvin.texts(user, "deploy cms 1.0.2 and shop 2.0.1 to staging") == [refusal("app", ["cms", "shop"], "deploy cms")]
    assert marvin.texts(user, "yes")[0].startswith("Nothing is waiting")
    assert deployments(stack, requested_by=user) == []


def test_several_versions_or_environments_are_refused_the_same_way(marvin, bender, user):
    assert marvin.texts(user, "deploy cms 1.0.2 and 1.0.3") == [refusal("version", ["1.0.2", "1.0.3"], "deploy cms 1.0.2")]
    assert bender.texts(user, "deploy cms 1.0.2 to staging and production") == [
        refusal("environment", ["staging", "production"], "deploy cms to staging")]
    assert bender.tracker(user)["slots"]["pending_deploy"] is None


def test_several_apps_while_a_question_is_pending_replace_it_and_ask_nothing(marvin, stack, user):
    marvin.say(user, "deploy crm 5.0.0")
    assert marvin.texts(user, "deploy cms and search 3.1 to staging") == [
        "That replaces your pending request (Deploy Customer Relationship Management 5.0.0 to staging), which will not"
        " be deployed.", refusal("app", ["cms", "search"], "deploy cms")]
    assert marvin.texts(user, "yes")[0].startswith("Nothing is waiting")
    assert deployments(stack, requested_by=user) == []
