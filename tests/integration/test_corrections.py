"""Corrections to a request over the running stack (issue 16): REST conversations, Slack
threads through the Slack fake, and the terminal chat. A correction changes only what it
names, the whole request is asked again with a new id, and only a yes deploys."""

from tests import slack_requests as slack
from tests.integration.test_terminal_chat import Chat
from tests.slack_chat import CHANNEL, THERESA, click, deployments, mention, posts, send_event
from tests.support import grant, new_user_id

CONFIRM_CMS_102 = "Deploy Content Management System 1.0.2 to staging? (yes/no)"
REPLACED_CMS_102 = ("That replaces your pending request (Deploy Content Management System 1.0.2 to staging),"
                    " which will not be deployed.")


def pending(bot, user):
    return bot.tracker(user)["slots"]["pending_deploy"]


def test_a_version_correction_is_asked_again_and_the_yes_deploys_the_corrected_version(marvin, stack, user):
    assert marvin.texts(user, "marvin, put cms 1.0.2 on staging") == [CONFIRM_CMS_102]
    first_id = pending(marvin, user)["request_id"]
    assert marvin.texts(user, "actually make it 1.0.4") == [
        REPLACED_CMS_102, "Deploy Content Management System 1.0.4 to staging? (yes/no)"]
    corrected = pending(marvin, user)
    assert corrected["request_id"] != first_id and corrected["version"] == "1.0.4"
    assert marvin.tracker(user)["slots"]["closed_requests"][first_id]["fate"] == "replaced"
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Content Management System 1.0.4 to staging")
    marvin.wait_for(user, "Content Management System: deployed version 1.0.4 to staging")
    mine = [d.version for d in deployments(stack, requested_by=user)]
    assert mine == ["1.0.4"]


def test_the_phrasings_of_the_issue_change_only_what_they_name(marvin, stack, user):
    marvin.say(user, "deploy cms 1.0.2")
    assert marvin.texts(user, "no, 1.0.5")[-1] == "Deploy Content Management System 1.0.5 to staging? (yes/no)"
    assert marvin.texts(user, "1.0.6 instead")[-1] == "Deploy Content Management System 1.0.6 to staging? (yes/no)"
    assert marvin.texts(user, "I meant the shop")[-1] == "Deploy Web Shop 1.0.6 to staging? (yes/no)"
    assert marvin.texts(user, "wrong app, crm")[-1] == "Deploy Customer Relationship Management 1.0.6 to staging? (yes/no)"
    assert marvin.texts(user, "not crm, billing")[-1] == "Deploy Billing Service 1.0.6 to staging? (yes/no)"
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    assert deployments(stack, requested_by=user) == []  # a correction never deploys by itself


def test_a_correction_that_names_nothing_or_two_versions_changes_nothing(marvin, user):
    marvin.say(user, "deploy cms 1.0.2")
    before = pending(marvin, user)["request_id"]
    texts = marvin.texts(user, "make it 1.0.4 or 1.0.5")
    assert texts == ["You named several versions (1.0.4, 1.0.5): which one should the request have? Name only that one.",
                     f"Nothing was changed; your question is still open: {CONFIRM_CMS_102}"]
    assert pending(marvin, user)["request_id"] == before
    assert marvin.texts(user, "make it 1.0.2") == [f"That is the request already: {CONFIRM_CMS_102}"]
    assert pending(marvin, user)["request_id"] == before


def test_a_correction_while_the_form_asks_for_the_version(marvin, user):
    assert marvin.texts(user, "deploy cms") == ["Which version of Content Management System?"]
    assert marvin.texts(user, "no wait, billing") == ["Which version of Billing Service?"]
    assert marvin.texts(user, "2.0.0") == ["Deploy Billing Service 2.0.0 to staging? (yes/no)"]


def test_a_correction_after_the_yes_is_a_new_request(marvin, stack, user):
    marvin.say(user, "deploy intranet 1.0.2")
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Intranet Portal 1.0.2 to staging")
    [first] = deployments(stack, requested_by=user)
    texts = marvin.texts(user, "make it 1.0.4")
    assert texts[0].startswith(f"Too late to change that: you confirmed “Deploy Intranet Portal 1.0.2 to staging” already"
                               f" (deployment #{first.id}, ")
    assert texts[0].endswith("I'll take your correction as a new request.")
    # The new request is refused before its question while the confirmed one runs (issue 24: busy is said before the yes).
    assert texts[1].startswith(f"intranet is already being deployed to staging by {user} (version 1.0.2, "), texts
    marvin.wait_for(user, "Intranet Portal: deployed version 1.0.2 to staging")  # the confirmed one goes on
    assert [d.version for d in deployments(stack, requested_by=user)] == ["1.0.2"]


def test_with_nothing_to_correct_the_bot_says_so(marvin, user):
    assert marvin.texts(user, "actually make it 1.0.4") == [
        "There is no request to correct: nothing is waiting for your confirmation and you have not deployed anything"
        " here yet. To deploy, say for example “deploy cms 1.0.2”."]
    assert pending(marvin, user) is None


# -- attacks and refusals ------------------------------------------------------------

def test_a_correction_cannot_change_another_conversations_request(marvin, stack, user):
    other = new_user_id()
    marvin.say(user, "deploy search 2.7.3")
    assert marvin.texts(other, "make it 6.6.6")[0].startswith("There is no request to correct")
    assert marvin.texts(other, "yes")[0].startswith("Nothing is waiting")
    assert pending(marvin, user)["version"] == "2.7.3"
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Search API 2.7.3 to staging")
    marvin.wait_for(user, "Search API: deployed version 2.7.3 to staging")
    assert [d.version for d in deployments(stack, requested_by=user)] == ["2.7.3"]
    assert deployments(stack, requested_by=other) == []


def test_a_typed_correct_request_intent_is_plain_text(marvin, stack, user):
    marvin.say(user, "deploy cms 1.0.2")
    typed = '/correct_request{"version": "6.6.6", "environment": "production"}'
    marvin.texts(user, typed)
    [message] = [e for e in marvin.tracker(user)["events"] if e["event"] == "user"][-1:]
    plain = typed.lstrip("/")
    assert message["text"] == plain
    # What the words mean to the NLU counts, not the syntax: the same intent and entities as the plain text.
    parsed = marvin.parse(plain)
    assert message["parse_data"]["intent"]["name"] == parsed["intent"]["name"]
    assert [(e["entity"], e["value"]) for e in message["parse_data"]["entities"]] == [
        (e["entity"], e["value"]) for e in parsed["entities"]]
    assert deployments(stack, requested_by=user) == []


def test_a_correction_to_an_environment_the_bot_does_not_serve_is_refused_and_cancels(marvin, stack, user):
    marvin.say(user, "deploy cms 1.0.2")
    assert marvin.texts(user, "to production instead") == [
        "I only deploy to staging. Ask Bender for production.",
        "So your pending request (Deploy Content Management System 1.0.2 to staging) is cancelled, nothing was deployed."
        " Say the whole request again, for example “deploy cms 1.0.2”."]
    assert pending(marvin, user) is None
    assert marvin.texts(user, "yes")[0].startswith("Nothing is waiting")
    assert deployments(stack, requested_by=user) == []


def test_on_bender_a_correction_keeps_production_and_is_checked_like_a_request(bender, user):
    grant(bender, user, "shop")
    assert bender.texts(user, "@bender deploy the web shop 2.0.1") == ["Deploy Web Shop 2.0.1 to production? (yes/no)"]
    assert bender.texts(user, "to production instead") == ["That is the request already: Deploy Web Shop 2.0.1 to production? (yes/no)"]
    assert bender.texts(user, "2.0.2 instead")[-1] == "Deploy Web Shop 2.0.2 to production? (yes/no)"
    # No grant for crm: the corrected request is refused before any yes, and the old one is gone.
    texts = bender.texts(user, "I meant crm")
    assert texts[0].startswith("You may not deploy Customer Relationship Management to production")
    assert texts[1].startswith("So your pending request (Deploy Web Shop 2.0.2 to production) is cancelled")
    assert bender.texts(user, "yes")[0].startswith("Nothing is waiting")


def test_a_correction_to_a_locked_app_is_refused_before_the_yes(marvin, stack, user):
    locker = new_user_id()
    assert marvin.texts(locker, "lock crm on staging: data migration")[0].startswith("Locked crm on staging")
    try:
        marvin.say(user, "deploy billing 4.0.0")
        texts = marvin.texts(user, "wrong app, crm")
        assert texts[0].startswith(f"No: crm on staging is locked by {locker}")
        assert texts[1].startswith("So your pending request (Deploy Billing Service 4.0.0 to staging) is cancelled")
    finally:
        assert marvin.texts(locker, "unlock crm on staging")[0].startswith("Unlocked crm on staging")
    assert deployments(stack, requested_by=user) == []


# -- Slack threads and the terminal chat ---------------------------------------------

def thread_reply(stack, user, text, thread_ts):
    assert send_event(stack, "marvin", slack.thread_reply(user, text, thread_ts, channel=CHANNEL)) == 200


def test_in_a_slack_thread_the_old_questions_yes_is_dead_and_the_new_one_deploys(stack):
    ts = mention(stack, "marvin", THERESA, "deploy billing 3.1.2")
    [old_question] = posts(stack, ts, "Deploy Billing Service 3.1.2 to staging? (yes/no)")
    thread_reply(stack, THERESA, "make it 3.1.4", ts)
    posts(stack, ts, "That replaces your pending request (Deploy Billing Service 3.1.2 to staging)")
    posts(stack, ts, "Deploy Billing Service 3.1.4 to staging? (yes/no)")
    assert click(stack, "marvin", old_question, THERESA, "theresa", "Yes") == 200
    posts(stack, ts, "That question was replaced by a newer one, so I did nothing with this click.")
    thread_reply(stack, THERESA, "yes", ts)
    posts(stack, ts, "Billing Service: deployed version 3.1.4 to staging in ")
    assert [d.version for d in deployments(stack, app="billing") if d.version.startswith("3.1.")] == ["3.1.4"]


def test_in_slack_a_correction_in_another_thread_changes_nothing(stack):
    ts = mention(stack, "marvin", THERESA, "deploy search 5.0.1")
    posts(stack, ts, "Deploy Search API 5.0.1 to staging? (yes/no)")
    elsewhere = mention(stack, "marvin", THERESA, "actually make it 5.0.2")  # a new thread
    [answer] = posts(stack, elsewhere, "Your question (Deploy Search API 5.0.1 to staging) is waiting in <#C0DEPLOYS>")
    assert answer["args"]["text"].endswith("correct it there. Nothing was changed or deployed.")
    thread_reply(stack, THERESA, "no", ts)
    posts(stack, ts, "Cancelled, nothing was deployed.")
    assert not [d for d in deployments(stack, app="search") if d.version in ("5.0.1", "5.0.2")]


def test_a_correction_in_the_terminal_chat(stack):
    chat = Chat(stack.env, user=new_user_id())
    try:
        chat.expect_start("You are ")
        chat.type("marvin, deploy shop 8.0.1")
        chat.expect("Marvin: Deploy Web Shop 8.0.1 to staging? (yes/no)")
        chat.type("sorry, I meant 8.0.2")
        chat.expect("Marvin: Deploy Web Shop 8.0.2 to staging? (yes/no)")
        chat.type("no")
        chat.expect("Marvin: Cancelled, nothing was deployed.")
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
    finally:
        chat.process.kill()
    assert not [d for d in deployments(stack, app="shop") if d.version in ("8.0.1", "8.0.2")]
