""""Why can't I?" over the running stack (issue 24, item 4): each rule that blocks a deploy now,
in the order of the gate's rules, with when it opens where known (no grant on Bender, a lock
that expires, another deployment under way, the requester's own request waiting for
approvals, two at once), and what a deploy that nothing blocks would still ask for. A
deploy's refusal names every rule that blocks the same way, audited once.

Bender here asks for a code and one approval (as in tests/integration/test_four_eyes.py), so
that a request can wait for approvals and "can I?" has all there is to say."""
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from deploybot.domain.profiles import load_profiles
from tests.conftest import TEST_SETTINGS
from tests.safeguards import enrol, next_code
from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.support import ADMIN, audit_entries, grant, new_user_id, running_stack

ZONE_NAME = datetime.now(ZoneInfo(load_profiles()["bender"].time_zone)).tzname()
SETTINGS = {**TEST_SETTINGS, "BENDER_TWO_FACTOR": "required", "BENDER_APPROVALS": "1", "BENDER_APPROVAL_TIMEOUT": "600s"}
NO_GRANT = ("• grant: You may not deploy {name} to production: an admin has to grant it to you first"
            f" (admins: jbrueder, {ADMIN})")


@pytest.fixture(scope="module")
def why(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("why"), SETTINGS) as running:
        yield running


@pytest.fixture
def bender(why):
    return why.bots["bender"]


@pytest.fixture
def marvin(why):
    return why.bots["marvin"]


def test_no_grant_on_bender_is_the_rule_that_blocks(bender):
    user = new_user_id()
    assert bender.texts(user, "why can't I deploy cms to production?") == [
        "You can't deploy Content Management System to production now: this rule blocks it.\n"
        + NO_GRANT.format(name="Content Management System")]


def test_a_lock_that_expires_says_when_it_opens_and_the_deploy_is_refused_in_the_locks_words(bender, why):
    user = new_user_id()
    grant(bender, user, "shop")
    [locked] = bender.texts(ADMIN, "lock shop on production for 30 min because of the db migration")
    until = re.search(r"until (\d{4}-\d\d-\d\d \d\d:\d\d) ", locked).group(1)
    day = datetime.strptime(until, "%Y-%m-%d %H:%M").strftime("%a")
    [answer] = bender.texts(user, "what's stopping me from deploying shop?")
    assert answer.startswith("You can't deploy Web Shop to production now: this rule blocks it.\n"
                             f"• lock: shop on production is locked by {ADMIN} since "), answer
    assert answer.endswith(f": the db migration (until {day} {until} {ZONE_NAME})"), answer
    # Alone, the lock refuses in its own words, as before the gate; audited once.
    since = last_audit_id(why)
    refusal, offer = bender.texts(user, "deploy shop 3.2.1")
    assert offer.startswith("You can wait your turn")  # the queue (issue 24)
    assert refusal.startswith(f"No: shop on production is locked by {ADMIN} since ") and f"until {until} {ZONE_NAME}" in refusal
    assert len(refused(why, "deploy", since, actor=user, containing="is locked by")) == 1
    assert bender.texts(ADMIN, "unlock shop on production") == ["Unlocked shop on production: deployments are allowed again."]


def test_another_deployment_under_way_is_busy_and_said_before_the_question(marvin, why):
    first, second = new_user_id(), new_user_id()
    why.jenkins.control("POST", "/next-build", {"job": "deploy-crm", "hang": True})
    assert marvin.texts(first, "deploy crm 1.4.0") == ["Deploy Customer Relationship Management 1.4.0 to staging? (yes/no)"]
    marvin.texts(first, "yes")
    marvin.wait_for(first, "Deploying Customer Relationship Management 1.4.0 to staging: Jenkins build #")
    try:
        [answer] = marvin.texts(second, "why can't I deploy crm?")
        assert re.fullmatch(r"You can't deploy Customer Relationship Management to staging now: this rule blocks it\.\n"
                            rf"• busy: crm is already being deployed to staging by {first} \(version 1\.4\.0, build #\d+,"
                            r" started \d+ sec ago\)", answer), answer
        # The refusal comes before the question now, in the same words.
        refusal, offer = marvin.texts(second, "deploy crm 1.5.0")
        assert offer.startswith("You can wait your turn")  # the queue (issue 24)
        assert refusal.startswith(f"crm is already being deployed to staging by {first} (version 1.4.0, build #"), refusal
        nothing_deployed(why, requested_by=second)
    finally:
        marvin.texts(first, "cancel the crm deployment")
        marvin.wait_for(first, "Customer Relationship Management: deploying version 1.4.0 to staging was aborted", timeout=60)


def test_the_requesters_own_request_waiting_for_approvals_and_nobody_elses(bender):
    user, colleague = new_user_id(), new_user_id()
    code_app = enrol(bender, user)
    grant(bender, user, "billing")
    grant(bender, colleague, "billing")
    assert bender.texts(user, "@bender deploy billing 2.0.0") == ["Deploy Billing Service 2.0.0 to production? (yes/no)"]
    bender.texts(user, "yes")
    [card] = bender.say(user, next_code(code_app))
    assert card["text"].startswith("Approval needed: Deploy Billing Service 2.0.0 to production"), card
    [answer] = bender.texts(user, "can I deploy billing now?")
    assert re.fullmatch(r"You can't deploy Billing Service to production now: this rule blocks it\.\n"
                        r"• approvals pending: your deploy of billing 2\.0\.0 to production waits for 1 more approval;"
                        rf" it starts once approved \(until \w\w\w \d{{4}}-\d\d-\d\d \d\d:\d\d {ZONE_NAME}\)", answer), answer
    # Someone else's waiting request is theirs to tell: the colleague hears only their own.
    [theirs] = bender.texts(colleague, "can I deploy billing now?")
    assert theirs.startswith("Nothing blocks you from deploying Billing Service to production now."), theirs
    assert user not in theirs and "2.0.0" not in theirs


def test_two_rules_at_once_are_both_named_and_the_refusal_lists_both(bender, why):
    user = new_user_id()
    assert bender.texts(ADMIN, "lock intranet on production: pen test")[0].startswith("Locked intranet on production")
    try:
        [answer] = bender.texts(user, "why can't I deploy intranet to prod?")
        lines = answer.split("\n")
        assert lines[0] == "You can't deploy Intranet Portal to production now: these 2 rules block it.", answer
        assert lines[1] == NO_GRANT.format(name="Intranet Portal")
        assert lines[2].startswith(f"• lock: intranet on production is locked by {ADMIN} since ") and lines[2].endswith(": pen test")
        since = last_audit_id(why)
        [refusal] = bender.texts(user, "deploy intranet 4.4.4")
        assert refusal.startswith("I can't deploy Intranet Portal to production now. grant: You may not deploy Intranet Portal"
                                  " to production: an admin has to grant it to you first"), refusal
        assert f"; lock: intranet on production is locked by {ADMIN} since " in refusal
        assert refusal.endswith(": pen test. Nothing was deployed."), refusal
        [entry] = [e for e in audit_entries(why, user, "deploy", since) if e.outcome == "refused"]
        assert "grant: " in entry.detail and "lock: " in entry.detail
        nothing_deployed(why, requested_by=user)
    finally:
        bender.texts(ADMIN, "unlock intranet on production")


def test_when_nothing_blocks_it_says_so_and_what_would_still_be_asked(marvin, bender):
    user = new_user_id()
    assert marvin.texts(user, "can I deploy billing now?") == [
        "Nothing blocks you from deploying Billing Service to staging now. I'd still ask for your yes to the question."
        " Say for example “deploy billing <version>”."]
    grant(bender, user, "search")
    assert bender.texts(user, "can I deploy search now?") == [
        "Nothing blocks you from deploying Search API to production now. I'd still ask for your yes to the question,"
        " then your two-factor code, then 1 approval from someone else before it starts."
        " Say for example “deploy search <version>”."]


def test_an_environment_this_bot_does_not_serve_is_for_the_other_bot(marvin):
    assert marvin.texts(new_user_id(), "why can't I deploy cms to production?") == [
        "I only deploy to staging. Ask Bender for production."]


def test_in_the_terminal_chat_each_rule_is_a_line_of_its_own(why):
    from tests.integration.test_terminal_chat import Chat

    user = new_user_id()
    chat = Chat(why.env, user=user)
    try:
        chat.expect_start("You are ")
        chat.type("bender, why can't I deploy crm?")
        chat.expect("Bender: You can't deploy Customer Relationship Management to production now: this rule blocks it.")
        chat.expect("        " + NO_GRANT.format(name="Customer Relationship Management"))
        chat.type("marvin, can I deploy crm now?")
        chat.expect("Marvin: Nothing blocks you from deploying Customer Relationship Management to staging now."
                    " I'd still ask for your yes to the question. Say for example “deploy crm <version>”.")
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
    finally:
        chat.process.kill()
