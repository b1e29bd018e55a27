"""Versions named by reference over the running stack (issue 16): "redeploy cms", "roll back
shop to 6.1.0", and to Bender "deploy the billing version that's on staging". Each ends in
the usual restated question; nothing is deployed without a yes."""
from tests.support import audit_entries, deployments, grant, new_user_id


def deploy(bot, user, app_name, text, version, environment="staging"):
    bot.say(user, text)
    assert bot.texts(user, "yes")[0].startswith(f"OK, deploying {app_name} {version} to {environment}")
    bot.wait_for(user, f"{app_name}: deployed version {version} to {environment}")


def test_redeploy_takes_what_runs_there_now(marvin, user):
    deploy(marvin, user, "Content Management System", "deploy cms 2.5.0", "2.5.0")
    assert marvin.texts(user, "redeploy cms") == ["Deploy Content Management System 2.5.0 to staging? (yes/no)"]
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]


def test_a_rollback_to_a_named_earlier_version(marvin, stack, user):
    for version in ("6.1.0", "6.2.0", "6.3.0"):
        deploy(marvin, user, "Web Shop", f"deploy shop {version}", version)
    assert marvin.texts(user, "roll back shop to 6.1.0") == ["Roll back Web Shop on staging from 6.3.0 to 6.1.0? (yes/no)"]
    assert marvin.texts(user, "roll back shop") == [
        "That replaces your pending request (Roll back Web Shop on staging from 6.3.0 to 6.1.0), which will not be deployed.",
        "Roll back Web Shop on staging from 6.3.0 to 6.2.0? (yes/no)"]
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    assert marvin.texts(user, "roll back shop to 5.9.9") == [
        "shop 5.9.9 has not run on staging as far as I know, so I can't roll back to it. To deploy it anyway,"
        " say “deploy shop 5.9.9”."]
    assert [d.version for d in deployments(stack, requested_by=user)] == ["6.1.0", "6.2.0", "6.3.0"]


def test_bender_deploys_the_version_that_is_on_staging_as_a_promotion(marvin, bender, user):
    deploy(marvin, user, "Billing Service", "deploy billing 7.7.0", "7.7.0")
    grant(bender, user, "billing")
    assert bender.texts(user, "@bender deploy the billing version that's on staging") == [
        "Promote Billing Service 7.7.0 from staging to production? (yes/no)"]
    assert bender.texts(user, "no") == ["Cancelled, nothing was deployed."]


def test_bender_asked_for_staging_still_names_marvin_and_offers_no_promotion(bender, user):
    grant(bender, user, "crm")
    assert bender.texts(user, "@bender deploy crm to staging") == ["I only deploy to production. Ask Marvin for staging."]
    assert bender.tracker(user)["slots"]["pending_deploy"] is None


def test_same_again_asks_the_last_confirmed_request_again(marvin, stack, user):
    assert marvin.texts(user, "same again") == [
        "You have not deployed anything here yet, so there is nothing to do again. To deploy, say for example “deploy cms 1.0.2”."]
    deploy(marvin, user, "Intranet Portal", "deploy intranet 4.4.0", "4.4.0")
    assert marvin.texts(user, "same again") == ["Deploy Intranet Portal 4.4.0 to staging? (yes/no)"]
    assert marvin.texts(user, "same again please") == [
        "Nothing was changed; your question is still open: Deploy Intranet Portal 4.4.0 to staging? (yes/no)"]
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    # Someone else's "same again" is about their own requests.
    assert marvin.texts(new_user_id(), "same again")[0].startswith("You have not deployed anything here yet")
    assert [d.version for d in deployments(stack, requested_by=user)] == ["4.4.0"]


def test_cancel_and_rollback_reasons_are_kept(marvin, stack, user):
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-search", "hang": True})
    marvin.say(user, "deploy search 8.1.0")
    marvin.texts(user, "yes")
    marvin.wait_for(user, "Deploying Search API 8.1.0 to staging: Jenkins build #")
    [cancelled] = marvin.texts(user, "cancel the search deployment because the config is wrong")
    assert cancelled.startswith("Cancelling the deployment of search 8.1.0 to staging (build #")
    assert cancelled.endswith("I'll confirm when Jenkins has stopped it. Reason: the config is wrong.")
    marvin.wait_for(user, "Search API: deploying version 8.1.0 to staging was aborted")
    assert [e.detail for e in audit_entries(stack, actor=user, action="cancel")][-1].endswith(": the config is wrong")
    for version in ("8.2.0", "8.3.0"):
        deploy(marvin, user, "Search API", f"deploy search {version}", version)
    assert marvin.texts(user, "roll back search: the new index is broken") == [
        "Roll back Search API on staging from 8.3.0 to 8.2.0 (reason: the new index is broken)? (yes/no)"]
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]


def test_help_names_corrections_references_and_lock_details(marvin, user):
    help_text = marvin.texts(user, "help")[0]
    for example in ("make it 1.0.4", "same again", "redeploy cms", "lock staging for 2 hours: load test", "roll back shop to 2.0.1"):
        assert example in help_text, help_text
