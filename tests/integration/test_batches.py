"""Several apps in one request over the running stack (issue 16, part 2): one question listing
every deployment, one yes, each app its own deployment, Jenkins build and reports, and a summary
once all have ended. An app that cannot go ahead is named before the yes."""
import re

from tests.slack_chat import deployments
from tests.support import new_user_id

BOTH = "Deploy these 2 apps to staging?\n• Content Management System 1.0.2\n• Web Shop 2.0.1\n(yes/no)"


def pending(bot, user):
    return bot.tracker(user)["slots"]["pending_deploy"]


def test_two_apps_one_question_one_yes_two_deployments_and_a_summary(marvin, stack, user):
    assert marvin.texts(user, "deploy cms 1.0.2 and shop 2.0.1 to staging") == [BOTH]
    [started] = marvin.texts(user, "yes")
    lines = started.split("\n")
    assert lines[0] == ("OK, 2 deployments to staging, each with its own Jenkins build and reports."
                        " I'll sum up here when all have ended:")
    assert lines[1].startswith("• OK, deploying Content Management System 1.0.2 to staging: Jenkins has queued it.")
    assert lines[2].startswith("• OK, deploying Web Shop 2.0.1 to staging: Jenkins has queued it.")
    marvin.wait_for(user, "Content Management System: deployed version 1.0.2 to staging")
    marvin.wait_for(user, "Web Shop: deployed version 2.0.1 to staging")
    [summary] = marvin.wait_for(user, "2 of 2 deployed to staging:")
    assert summary == ("2 of 2 deployed to staging:\n• Content Management System 1.0.2: deployed\n"
                       "• Web Shop 2.0.1: deployed")
    said = marvin.said(user)
    assert said.index(summary) > max(i for i, text in enumerate(said) if ": deployed version " in text)  # it comes last
    records = deployments(stack, requested_by=user)
    assert sorted((d.app, d.version, d.state) for d in records) == [("cms", "1.0.2", "succeeded"), ("shop", "2.0.1", "succeeded")]
    assert len({d.batch_id for d in records}) == 1 and records[0].batch_id
    assert len({d.build_number for d in records if d.app == "cms"}) == 1  # each its own build
    assert marvin.texts(user, "yes")[0].startswith("Nothing is waiting")  # the yes was used up


def test_an_app_without_its_own_version_is_asked_for_never_guessed(marvin, stack, user):
    assert marvin.texts(user, "deploy cms and search 3.1 to staging") == [
        "Which version of Content Management System? (Search API 3.1 is set.) If one version is for all of them,"
        " say so in the request, for example “deploy cms and search, both 3.1”."]
    assert marvin.texts(user, "1.0.7") == [
        "Deploy these 2 apps to staging?\n• Content Management System 1.0.7\n• Search API 3.1\n(yes/no)"]
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    assert marvin.texts(user, "deploy cms and search, both 3.1") == [
        "Deploy these 2 apps to staging?\n• Content Management System 3.1\n• Search API 3.1\n(yes/no)"]
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    assert deployments(stack, requested_by=user) == []


def test_a_bad_version_while_asking_is_refused_and_asked_again(marvin, user):
    marvin.say(user, "deploy crm and shop 2.0.0")
    texts = marvin.texts(user, "5.0.0; rm -rf /")
    assert texts[0].startswith("That message holds characters that have no place in a deploy request")
    assert texts[-1].startswith("Which version of Customer Relationship Management? (Web Shop 2.0.0 is set.)")
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]


def test_a_locked_app_is_named_before_the_yes_and_the_rest_goes_on(marvin, stack, user):
    locker = new_user_id()
    assert marvin.texts(locker, "lock billing on staging: data migration")[0].startswith("Locked billing on staging")
    try:
        texts = marvin.texts(user, "deploy intranet 1.3.0 and billing 2.0.0 to staging")
        assert len(texts) == 1
        assert texts[0].startswith("1 of your request cannot go ahead:\n• Billing Service: ")
        assert "data migration" in texts[0]
        assert texts[0].endswith("Deploy the other one to staging anyway?\n• Intranet Portal 1.3.0\n"
                                 "(yes: go on without it, no: deploy nothing)")
        assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
        assert deployments(stack, requested_by=user) == []
        marvin.say(user, "deploy intranet 1.3.0 and billing 2.0.0 to staging")
        marvin.say(user, "yes")
        marvin.wait_for(user, "Intranet Portal: deployed version 1.3.0 to staging")
        [summary] = marvin.wait_for(user, "1 of 1 deployed to staging:")
        assert summary == "1 of 1 deployed to staging:\n• Intranet Portal 1.3.0: deployed"
        assert [(d.app, d.version) for d in deployments(stack, requested_by=user)] == [("intranet", "1.3.0")]
    finally:
        marvin.say(locker, "unlock billing on staging")


def test_when_nothing_can_go_ahead_nothing_is_asked(marvin, stack, user):
    locker = new_user_id()
    marvin.say(locker, "lock staging for the load test")
    try:
        [text] = marvin.texts(user, "deploy crm 5.0.0 and search 3.1.0 to staging")
        assert text.startswith("None of your request can go ahead, so I asked nothing and nothing was deployed:\n"
                               "• Customer Relationship Management: ")
        assert pending(marvin, user) is None
        assert marvin.texts(user, "yes")[0].startswith("Nothing is waiting")
    finally:
        marvin.say(locker, "unlock staging")
    assert deployments(stack, requested_by=user) == []


def test_a_failed_build_is_reported_on_its_own_and_in_the_summary(marvin, stack, user):
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-crm", "result": "FAILURE", "seconds": 1})
    marvin.say(user, "deploy crm 5.1.0 and search 3.2.0 to staging")
    marvin.say(user, "yes")
    marvin.wait_for(user, "Customer Relationship Management: deploying version 5.1.0 to staging failed")
    marvin.wait_for(user, "Search API: deployed version 3.2.0 to staging")
    [summary] = marvin.wait_for(user, "1 of 2 deployed to staging:")
    assert re.fullmatch(r"1 of 2 deployed to staging:\n• Customer Relationship Management 5\.1\.0: failed \(build #\d+,"
                        r" FAILURE\)\n• Search API 3\.2\.0: deployed", summary), summary


def test_corrections_to_a_batch_name_the_app_they_change(marvin, user):
    marvin.say(user, "deploy cms 1.0.2 and shop 2.0.1 to staging")
    before = pending(marvin, user)["request_id"]
    texts = marvin.texts(user, "make it 1.0.4")
    assert texts[0].startswith("Your request has several apps (cms, shop), so I can't tell what that changes.")
    assert texts[1] == f"Nothing was changed; your question is still open: {BOTH}"
    assert pending(marvin, user)["request_id"] == before
    texts = marvin.texts(user, "actually shop 2.0.2")
    assert texts[-1] == "Deploy these 2 apps to staging?\n• Content Management System 1.0.2\n• Web Shop 2.0.2\n(yes/no)"
    assert pending(marvin, user)["request_id"] != before
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]


def test_unclear_batches_are_refused_as_a_whole(marvin, stack, user):
    assert marvin.texts(user, "deploy cms 1.0.2 and cms 1.0.3 and shop 2.0.1") == [
        "You named cms more than once, so I did nothing with this request and nothing was deployed. Name each app once,"
        " for example “deploy cms 1.0.2 and shop 2.0.1”."]
    assert pending(marvin, user) is None
    assert marvin.texts(user, "deploy cms 1.0.2 and shop 2.0.1; rm -rf /")[0].startswith(
        "That message holds characters that have no place in a deploy request")
    assert pending(marvin, user) is None
    assert deployments(stack, requested_by=user) == []
