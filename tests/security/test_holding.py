"""Holding means holding, and saying so (issue 22, item 10), against the stack with two-factor
required (the session fixture `safeguarded`): a deploy waiting for its code is withdrawn by
"no" and its variants, and no later code deploys it; a message that tries to be a code and
is not says that a code is awaited and how many tries are left; a code addressed to the bot
by name is a code; an unfinished enrolment survives a refused deploy; and the README's own
path to a first production deploy, as a new user takes it in `make run`, gets there.

Every reply is checked as the whole text, and each attempt's evidence: nothing deployed, no
Jenkins build, the refusal or withdrawal audited."""
import pyotp
import pytest

from tests.safeguards import (
    ASKED, URI, ask_and_confirm, assert_never_said, enrol, next_code, shown_privately, wrong_code,
)
from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.support import ADMIN, audit_entries, deployments, grant, new_user_id

NOT_WAITING = "I'm not waiting for a code from you. Nothing was done with that number."
SPENT = " I treated it as used, so it is worthless now."
WITHDRAWN = ("Withdrawn: Deploy Content Management System {version} to production, which waited for your two-factor code."
             " Nothing was deployed, and no code deploys it now.")


@pytest.fixture
def bender(safeguarded):
    return safeguarded.bots["bender"]


def held_for_code(bender, user, version) -> pyotp.TOTP:
    app = enrol(bender, user)
    grant(bender, user, "cms")
    assert ask_and_confirm(bender, user, "cms", version, "Content Management System") == [
        f"Deploy Content Management System {version} to production {ASKED}"]
    return app


@pytest.mark.parametrize("no, version", [("no", "9.0.1"), ("cancel", "9.0.2"), ("never mind", "9.0.3"),
                                         ("stop, don't deploy it", "9.0.4"), ("cancel the cms deployment", "9.0.5"),
                                         ("bender, no", "9.0.6")])
def test_no_and_its_variants_withdraw_a_deploy_waiting_for_its_code(safeguarded, bender, no, version):
    user = new_user_id()
    app = held_for_code(bender, user, version)
    since = last_audit_id(safeguarded)
    assert bender.texts(user, no) == [WITHDRAWN.format(version=version)]
    [entry] = [e for e in audit_entries(safeguarded, user, "deploy", since) if e.outcome == "withdrawn"]
    assert (entry.app, entry.environment) == ("cms", "production")
    assert entry.detail == f"withdrawn while waiting for a two-factor code: Deploy Content Management System {version} to production"
    # The next code deploys nothing: it is spent, as any code nothing waits for.
    assert bender.texts(user, next_code(app)) == [NOT_WAITING + SPENT]
    assert bender.texts(user, "no") == ["Nothing is waiting for your confirmation. To deploy, say for example “deploy cms 1.0.2”."]
    nothing_deployed(safeguarded, requested_by=user)


def test_a_yes_to_a_deploy_waiting_for_its_code_says_what_it_waits_for(safeguarded, bender):
    user = new_user_id()
    app = held_for_code(bender, user, "9.0.7")
    assert bender.texts(user, "yes") == [
        "Deploy Content Management System 9.0.7 to production is confirmed already and waits for your two-factor code: send me"
        " the code your authenticator app shows now, or say “no” to withdraw it. Nothing has been deployed yet."]
    nothing_deployed(safeguarded, requested_by=user)
    assert bender.texts(user, "no") == [WITHDRAWN.format(version="9.0.7")]
    assert bender.texts(user, next_code(app)) == [NOT_WAITING + SPENT]
    nothing_deployed(safeguarded, requested_by=user)


def test_no_withdraws_a_batch_waiting_for_its_code(safeguarded, bender):
    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "search")
    grant(bender, user, "intranet")
    [question] = bender.texts(user, "@bender deploy search 9.0.8 and intranet 9.0.9")
    assert question.startswith("Deploy these 2 apps to production?"), question
    [asked] = bender.texts(user, "yes")
    assert asked.startswith("Deploy Search API 9.0.8, Intranet Portal 9.0.9 to production needs your second factor"), asked
    since = last_audit_id(safeguarded)
    assert bender.texts(user, "never mind") == [
        "Withdrawn: Deploy Search API 9.0.8, Intranet Portal 9.0.9 to production, which waited for your two-factor code."
        " Nothing was deployed, and no code deploys it now."]
    assert [e.outcome for e in audit_entries(safeguarded, user, "deploy", since)] == ["withdrawn"]
    assert bender.texts(user, next_code(app)) == [NOT_WAITING + SPENT]
    nothing_deployed(safeguarded, requested_by=user)


@pytest.mark.parametrize("attempt", ["1234567", "123-456", "12345", "bender 1234567"])
def test_a_message_that_tries_to_be_a_code_says_one_is_awaited_and_counts_nothing(safeguarded, bender, attempt):
    user = new_user_id()
    app = held_for_code(bender, user, "9.1.0")
    since = last_audit_id(safeguarded)
    assert bender.texts(user, attempt) == [
        "That is not a code: a code is the 6 digits your authenticator app shows (“123456” or “123 456”). I'm waiting for one"
        " for deploy Content Management System 9.1.0 to production. It did not count as a wrong code;"
        " 5 wrong codes more and two-factor locks."]
    refused(safeguarded, "two_factor", since, actor=user, containing="not a code")
    nothing_deployed(safeguarded, requested_by=user)
    [started] = bender.texts(user, next_code(app))  # still held: the right code deploys it
    assert started.startswith("OK, deploying Content Management System 9.1.0 to production"), started
    bender.wait_for(user, "Content Management System: deployed version 9.1.0 to production in ")


def test_after_a_wrong_code_the_tries_left_are_said(safeguarded, bender):
    user = new_user_id()
    app = held_for_code(bender, user, "9.1.1")
    assert bender.texts(user, wrong_code(app))[0].endswith(" 4 wrong codes more and two-factor locks.")
    assert bender.texts(user, "123-456")[0].endswith(" It did not count as a wrong code; 4 wrong codes more and two-factor locks.")
    nothing_deployed(safeguarded, requested_by=user)


@pytest.mark.parametrize("address", ["bender ", "@bender ", "Bender, ", "hey bender "])
def test_a_code_addressed_to_the_bot_by_name_is_a_code(safeguarded, bender, address):
    user = new_user_id()
    app = held_for_code(bender, user, "9.2.0")
    code = next_code(app)
    [started] = bender.texts(user, address + code)
    assert started.startswith("OK, deploying Content Management System 9.2.0 to production"), started
    bender.wait_for(user, "Content Management System: deployed version 9.2.0 to production in ")
    assert_never_said(safeguarded, bender, user, code)


def test_an_unfinished_enrolment_survives_a_refused_deploy(safeguarded, bender):
    user = new_user_id()
    grant(bender, user, "cms")
    instructions = shown_privately(bender, user, "bender, set up two-factor")
    app = pyotp.parse_uri(URI.search(instructions).group(0))
    since = last_audit_id(safeguarded)
    assert ask_and_confirm(bender, user, "cms", "9.3.0", "Content Management System") == [
        "Deploy Content Management System 9.3.0 to production needs a code from your authenticator app, and your two-factor"
        " setup is not finished yet: send me the first code your app shows now, then ask for the deploy again. Nothing was deployed."]
    refused(safeguarded, "two_factor", since, actor=user, containing="not enrolled")
    nothing_deployed(safeguarded, requested_by=user)
    assert bender.texts(user, app.now()) == ["Two-factor is set up: production deploys will ask you for a code from your authenticator app."]


def test_the_readmes_path_to_a_first_production_deploy_as_a_new_user_takes_it(safeguarded, bender):
    """The issue's `make run` session: granted cms, "bender deploy cms", yes (not enrolled),
    "bender set up two-factor", "bender <code>", "bender deploy cms", yes, the code."""
    user = new_user_id()
    grant(bender, user, "cms")
    assert bender.texts(user, "bender deploy cms 9.4.0") == ["Deploy Content Management System 9.4.0 to production? (yes/no)"]
    [refusal] = bender.texts(user, "yes")
    assert refusal == ("Deploy Content Management System 9.4.0 to production needs a code from your authenticator app, and you have"
                       " not set up two-factor yet. Say “set up two-factor” to me (I answer with a direct message), then send me"
                       " the first code your authenticator app shows. Nothing was deployed.")
    instructions = shown_privately(bender, user, "bender set up two-factor")
    app = pyotp.parse_uri(URI.search(instructions).group(0))
    wrong = wrong_code(app)
    assert bender.texts(user, f"bender {wrong}") == [
        "That is not the code your app shows now, so two-factor is not set up yet. Send the current code."
        " 4 wrong codes more and two-factor locks."]
    assert bender.texts(user, "bender deploy cms 9.4.0") == ["Deploy Content Management System 9.4.0 to production? (yes/no)"]
    assert bender.texts(user, "yes")[0].startswith("Deploy Content Management System 9.4.0 to production needs a code from your"
                                                   " authenticator app, and your two-factor setup is not finished yet")
    assert bender.texts(user, f"bender {app.now()}") == [
        "Two-factor is set up: production deploys will ask you for a code from your authenticator app."]
    nothing_deployed(safeguarded, requested_by=user)
    assert bender.texts(user, "bender deploy cms 9.4.0") == ["Deploy Content Management System 9.4.0 to production? (yes/no)"]
    assert bender.texts(user, "yes") == [f"Deploy Content Management System 9.4.0 to production {ASKED}"]
    [started] = bender.texts(user, next_code(app))
    assert started.startswith("OK, deploying Content Management System 9.4.0 to production"), started
    bender.wait_for(user, "Content Management System: deployed version 9.4.0 to production in ")
    assert [d.version for d in deployments(safeguarded, requested_by=user)] == ["9.4.0"]


def test_a_lock_set_while_the_code_is_awaited_stops_the_deploy_and_says_so_in_whole_sentences(safeguarded, bender):
    user = new_user_id()
    app = held_for_code(bender, user, "9.5.0")
    [locked] = bender.texts(ADMIN, "@bender lock cms on production because of maintenance")
    assert locked.startswith("Locked cms on production"), locked
    try:
        since = last_audit_id(safeguarded)
        [said] = bender.texts(user, next_code(app))
        assert said.startswith("Deploy Content Management System 9.5.0 to production could not start: cms on production is locked by"
                               f" {ADMIN} since "), said
        assert said.endswith(": maintenance. The owner or an admin can unlock it. Nothing was deployed."), said
        refused(safeguarded, "deploy", since, actor=user, containing="locked")
        nothing_deployed(safeguarded, requested_by=user)
    finally:
        assert bender.texts(ADMIN, "@bender unlock cms on production")[0].startswith("Unlocked")


def test_a_newer_confirmed_request_says_which_held_deploy_it_replaces(safeguarded, bender):
    user = new_user_id()
    app = held_for_code(bender, user, "9.6.0")
    grant(bender, user, "crm")
    since = last_audit_id(safeguarded)
    assert ask_and_confirm(bender, user, "crm", "9.6.1", "Customer Relationship Management") == [
        "Dropped “Deploy Content Management System 9.6.0 to production”: it was still waiting for your two-factor code,"
        " so nothing was deployed. The request you just confirmed takes its place.",
        f"Deploy Customer Relationship Management 9.6.1 to production {ASKED}"]
    assert [e.outcome for e in audit_entries(safeguarded, user, "deploy", since)] == ["withdrawn"]
    [started] = bender.texts(user, next_code(app))
    assert started.startswith("OK, deploying Customer Relationship Management 9.6.1 to production"), started
    bender.wait_for(user, "Customer Relationship Management: deployed version 9.6.1 to production in ")
    assert [d.version for d in deployments(safeguarded, requested_by=user)] == ["9.6.1"]


def test_a_deploy_waiting_for_its_code_outlives_a_new_rasa_session(safeguarded, bender):
    # The hold is a row keyed by the conversation (deploybot.pipeline.held), not a slot: a long
    # conversation that looks at rest gets a new Rasa session (deploybot.rasa_glue.conversation_sessions),
    # and the deploy still waits for its code there, and the code deploys it (issue 23).
    user = new_user_id()
    app = held_for_code(bender, user, "9.1.5")

    def sessions() -> int:
        return sum(e["event"] == "session_started" for e in bender.tracker(user)["events"])

    before = sessions()
    for _ in range(40):  # a few events a turn; a session at rest is cut at 80 events
        [answer] = bender.texts(user, "what can you do?")
        if sessions() > before:
            break
    assert sessions() > before, "no new session started: the test proves nothing"
    nothing_deployed(safeguarded, requested_by=user)
    [started] = bender.texts(user, next_code(app))
    assert started.startswith("OK, deploying Content Management System 9.1.5 to production"), started
    bender.wait_for(user, "Content Management System: deployed version 9.1.5 to production in ")
