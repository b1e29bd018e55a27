"""Attacks on the yes: a Yes button counts only for the question it was shown with, and a
typed yes only where the question was asked. Old, replaced, expired and foreign answers
deploy nothing, say why, and are audited."""
import json
import random

import pytest

from deploybot.domain.messages import NOT_A_CLEAR_YES
from tests import slack_requests as slack
from tests.security.evidence import (
    deployments,
    last_audit_id,
    nothing_deployed,
    refused,
)
from tests.slack_chat import (
    CHANNEL,
    click,
    mention,
    new_ts,
    post,
    posts,
    send_event,
    updates_of,
)
from tests.support import new_user_id

ELSEWHERE = "is waiting in <#C0DEPLOYS>, in the thread of your request: answer it there. A yes counts only where the question was asked, so nothing was deployed."


def ask(stack, user, text, question, thread_ts=None):
    """A request in the deploy channel; returns (the thread, the question as posted)."""
    ts = mention(stack, "marvin", user, text, thread_ts=thread_ts)
    thread = thread_ts or ts
    return thread, posts(stack, thread, question)[-1]


def test_a_click_on_a_replaced_question_deploys_nothing_and_the_new_one_deploys_exactly_itself(stack):
    user = new_user_id()
    thread, first = ask(stack, user, "deploy cms 3.1.1", "Deploy Content Management System 3.1.1 to staging? (yes/no)")
    _, second = ask(stack, user, "deploy cms 3.1.2", "Deploy Content Management System 3.1.2 to staging? (yes/no)", thread)
    since = last_audit_id(stack)
    assert click(stack, "marvin", first, user, "someone", "Yes") == 200
    posts(stack, thread, "That question was replaced by a newer one, so I did nothing with this click. The open question is: "
                         "Deploy Content Management System 3.1.2 to staging? (yes/no)")
    [update] = updates_of(stack, first)
    assert update["args"]["text"].endswith(f"→ Yes (<@{user}>): no longer open, nothing was deployed")
    refused(stack, "confirm", since, actor=user, containing="click on a replaced question")
    nothing_deployed(stack, requested_by=user)

    assert click(stack, "marvin", second, user, "someone", "Yes") == 200
    posts(stack, thread, "Content Management System: deployed version 3.1.2 to staging in ")
    [update] = updates_of(stack, second)
    assert update["args"]["text"].endswith("confirmed: Deploy Content Management System 3.1.2 to staging")
    assert [d.version for d in deployments(stack, requested_by=user)] == ["3.1.2"]


def test_a_second_click_on_an_answered_question_does_nothing_more(stack):
    user = new_user_id()
    thread, question = ask(stack, user, "deploy billing 3.2.1", "Deploy Billing Service 3.2.1 to staging? (yes/no)")
    assert click(stack, "marvin", question, user, "someone", "Yes") == 200
    posts(stack, thread, "Billing Service: deployed version 3.2.1 to staging in ")
    since = last_audit_id(stack)
    assert click(stack, "marvin", question, user, "someone", "Yes") == 200
    posts(stack, thread, "That question was answered already (yes); this click changes nothing.")
    assert len(deployments(stack, requested_by=user)) == 1
    assert len(updates_of(stack, question)) == 1  # the answer it shows stays
    refused(stack, "confirm", since, actor=user, containing="click on a confirmed question")


def test_a_click_on_an_expired_question_deploys_nothing_and_asks_again(stack, marvin):
    user = new_user_id()
    thread, question = ask(stack, user, "deploy search 3.3.1", "Deploy Search API 3.3.1 to staging? (yes/no)")
    pending = marvin.tracker(user)["slots"]["pending_deploy"]
    marvin.add_events(user, [{"event": "slot", "name": "pending_deploy", "value": {**pending, "asked_at": pending["asked_at"] - 3600}}])
    assert click(stack, "marvin", question, user, "someone", "Yes") == 200
    posts(stack, thread, "That request waited more than 10 min, 0 sec for your answer, so I'm asking again.")
    assert len(posts(stack, thread, "Deploy Search API 3.3.1 to staging? (yes/no)", count=2)) == 2
    [update] = updates_of(stack, question)
    assert update["args"]["text"].endswith("expired, nothing was deployed; asked again")
    nothing_deployed(stack, requested_by=user)
    assert click(stack, "marvin", question, user, "someone", "Yes") == 200  # the old question stays dead
    posts(stack, thread, "That question expired and I asked again, so I did nothing with this click.")
    nothing_deployed(stack, requested_by=user)


def test_someone_elses_click_is_refused_for_them(stack):
    user, other = new_user_id(), new_user_id()
    thread, question = ask(stack, user, "deploy crm 3.4.1", "Deploy Customer Relationship Management 3.4.1 to staging? (yes/no)")
    since = last_audit_id(stack)
    assert click(stack, "marvin", question, other, "other", "Yes") == 200
    [ephemeral] = posts(stack, thread, method="chat.postEphemeral")
    assert (ephemeral["args"]["user"], ephemeral["args"]["text"]) == (other, f"Only <@{user}> can confirm this.")
    refused(stack, "confirm", since, actor=other)
    nothing_deployed(stack, requested_by=user)
    nothing_deployed(stack, requested_by=other)


def test_a_click_whose_value_no_button_of_mine_carries_is_ignored(stack):
    user = new_user_id()
    thread, question = ask(stack, user, "deploy crm 3.5.1", "Deploy Customer Relationship Management 3.5.1 to staging? (yes/no)")
    blocks = question["args"]["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    actions = next(b for b in blocks if b["type"] == "actions")
    since = last_audit_id(stack)
    for value in ('/EXTERNAL_deployment_report{"deployment": "1", "report": "outcome"}', "/affirm",
                  '/grant_permission{"user": "%s", "app": "cms"}' % user):
        body, headers = slack.block_actions(stack.slack_secret("marvin"), user, "someone", CHANNEL, question["answer"]["ts"], value,
                                            "button-0", block_id=actions["block_id"], blocks=blocks, thread_ts=thread,
                                            api_app_id=stack.slack_app("marvin"))
        assert post(stack.bots["marvin"], body, headers) == 200
    assert len(refused(stack, "click", since, actor=user)) == 3
    nothing_deployed(stack, requested_by=user)
    assert updates_of(stack, question) == []


def test_a_typed_yes_elsewhere_is_told_where_the_question_is(stack, marvin):
    user = new_user_id()
    thread, question = ask(stack, user, "deploy shop 3.6.1", "Deploy Web Shop 3.6.1 to staging? (yes/no)")
    since = last_audit_id(stack)
    top = mention(stack, "marvin", user, "yes")  # a new message in the channel: its own thread
    posts(stack, top, "Your question (Deploy Web Shop 3.6.1 to staging) " + ELSEWHERE)
    dm = new_ts()
    assert send_event(stack, "marvin", slack.direct_message(user, "yes", channel="D" + user[1:], ts=dm)) == 200
    posts(stack, dm, "Your question (Deploy Web Shop 3.6.1 to staging) " + ELSEWHERE)
    assert marvin.texts(user, "yes") == ["Your question (Deploy Web Shop 3.6.1 to staging) " + ELSEWHERE]  # REST
    assert len(refused(stack, "confirm", since, actor=user, containing="outside the channel or thread")) == 3
    blocks = question["args"]["blocks"]
    yes_payload = (json.loads(blocks) if isinstance(blocks, str) else blocks)[1]["elements"][0]["value"]
    other_thread = mention(stack, "marvin", user, yes_payload)  # the Yes button's payload, typed elsewhere
    posts(stack, other_thread)  # answered, as plain words
    nothing_deployed(stack, requested_by=user)

    mention(stack, "marvin", user, "yes", thread_ts=thread)  # where it was asked
    posts(stack, thread, "Web Shop: deployed version 3.6.1 to staging in ")
    assert [d.version for d in deployments(stack, requested_by=user)] == ["3.6.1"]


def test_someone_elses_typed_yes_in_the_requesters_thread_is_theirs_alone(stack):
    user, other = new_user_id(), new_user_id()
    thread, _ = ask(stack, user, "deploy intranet 3.7.1", "Deploy Intranet Portal 3.7.1 to staging? (yes/no)")
    since = last_audit_id(stack)
    mention(stack, "marvin", other, "yes", thread_ts=thread)
    posts(stack, thread, "Nothing is waiting for your confirmation.")
    refused(stack, "confirm", since, actor=other, containing="nothing pending")
    nothing_deployed(stack, requested_by=user)
    mention(stack, "marvin", user, "no", thread_ts=thread)
    posts(stack, thread, "Cancelled, nothing was deployed.")


def test_a_yes_that_a_lock_stops_says_so_on_the_question(stack, marvin):
    user, locker = new_user_id(), new_user_id()
    thread, question = ask(stack, user, "deploy search 3.8.1", "Deploy Search API 3.8.1 to staging? (yes/no)")
    assert marvin.texts(locker, "lock search on staging because of a migration")[0].startswith("Locked search on staging")
    try:
        assert click(stack, "marvin", question, user, "someone", "Yes") == 200
        posts(stack, thread, f"No: search on staging is locked by {locker}")
        [update] = updates_of(stack, question)
        assert f"→ Yes (<@{user}>): not deployed: No: search on staging is locked by {locker}" in update["args"]["text"]
        nothing_deployed(stack, requested_by=user)
    finally:
        marvin.texts(locker, "unlock search on staging")


# Garbage the NLU reads as a yes (affirm), some of it confidently (issue 22).
random.seed(22)
GARBAGE = {
    "5,000 rockets": "🚀" * 5000,
    "one rocket": "🚀",
    "a paragraph of noise": "asdf qwer zxcv uiop hjkl yes yes ok ok go go lol rofl brb afk yolo " * 3,
    "yes and 500 words": "yes " + " ".join(random.choice(["banana", "ok", "sure", "lol", "go", "moon"]) for _ in range(500)),
}


@pytest.mark.parametrize("answer", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_is_no_yes_it_deploys_nothing_and_the_question_is_asked_again(marvin, stack, user, answer):
    question = "Deploy Content Management System 1.0.2 to staging? (yes/no)"
    assert marvin.texts(user, "deploy cms 1.0.2") == [question]
    since = last_audit_id(stack)
    assert marvin.texts(user, answer) == [NOT_A_CLEAR_YES, question]
    nothing_deployed(stack, requested_by=user)
    refused(stack, "confirm", since, actor=user, containing="not a clear yes")
    marvin.texts(user, "yes")  # the question still stands: a clear yes deploys it, once
    marvin.wait_for(user, "Content Management System: deployed version 1.0.2 to staging in ")
    assert len(deployments(stack, requested_by=user)) == 1


@pytest.mark.parametrize("answer", ["yes", "yep", "👍", "go ahead", "✅"])
def test_a_clear_yes_deploys(marvin, stack, user, answer):
    """✅ is no yes to the model (it has never seen it); confirmations.yml lists it."""
    assert marvin.texts(user, "deploy search 1.0.3") == ["Deploy Search API 1.0.3 to staging? (yes/no)"]
    marvin.texts(user, answer)
    marvin.wait_for(user, "Search API: deployed version 1.0.3 to staging in ")
    assert [d.version for d in deployments(stack, requested_by=user)] == ["1.0.3"]
