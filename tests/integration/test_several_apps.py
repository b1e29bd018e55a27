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


def test_cancel_rollback_lock_and_unlock_with_several_apps_are_refused_never_one_picked(marvin, stack, user):
    for message, kind, names in (("cancel the cms and shop deployments", "app", "cms, shop"),
                                 ("roll back cms and shop", "app", "cms, shop"),
                                 ("lock cms and shop on staging", "app", "cms, shop"),
                                 ("unlock cms and shop on staging", "app", "cms, shop")):
        assert marvin.texts(user, message) == [
            f"You named several {kind}s ({names}), and this works on one {kind} at a time, so I did nothing."
            f" Say it for each {kind} on its own."], message
    assert marvin.tracker(user)["slots"]["pending_deploy"] is None
    assert "cms on staging is locked" not in " ".join(marvin.texts(user, "deploy cms 1.0.2"))
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]


def test_an_admin_grants_and_revokes_several_apps_at_once_each_on_its_own(bender):
    from tests.support import ADMIN, new_user_id

    kim = new_user_id()
    assert bender.texts(ADMIN, f"auth {kim} cms and shop") == [
        f"{kim} may now deploy Content Management System to production.\n{kim} may now deploy Web Shop to production."]
    assert bender.texts(ADMIN, f"revoke {kim} cms and shop")[0].count(f"{kim} may no longer deploy") == 2


def test_an_emergency_deploy_of_several_apps_is_refused(bender, stack):
    from tests.support import ADMIN

    assert bender.texts(ADMIN, "emergency deploy cms 1.0.3 and shop 2.0.9, reason: outage INC-77") == [
        "An emergency deploy is one app at a time, and you named several apps (cms, shop). Nothing was deployed."]
    assert not [d for d in deployments(stack, requested_by=ADMIN) if d.version in ("1.0.3", "2.0.9") and d.environment == "production"]
