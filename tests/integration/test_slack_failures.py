"""Slack as it fails: rate limits, ok:false answers and archived channels, from the Slack
fake (devtools/slack_fake.py) answering as Slack does. A reply Slack refuses never
costs the conversation its turn, a rate limit is waited out, and where someone must act in
Slack the requester is told in a direct message."""
from tests.slack_chat import click, mention, posts, updates_of
from tests.support import deployments, new_user_id


def test_a_rate_limited_reply_is_sent_after_the_wait(stack):
    user = new_user_id()
    stack.slack.rate_limit_next("chat.postMessage", retry_after=1, times=1)
    ts = mention(stack, "marvin", user, "deploy cms 4.1.1")
    [refused, question] = posts(stack, ts, "Deploy Content Management System 4.1.1 to staging? (yes/no)", count=2)
    assert (refused["status"], question["status"]) == (429, 200)
    assert question["at"] - refused["at"] >= 1  # Retry-After was honoured
    click(stack, "marvin", question, user, "someone", "No")
    posts(stack, ts, "Cancelled, nothing was deployed.")


def test_a_reply_slack_refuses_does_not_lose_the_turn(stack):
    user = new_user_id()
    stack.slack.fail_next("chat.postMessage", "internal_error", times=1)
    ts = mention(stack, "marvin", user, "deploy billing 4.2.1")
    # Slack refused the question, but the conversation has it: the yes finds it pending.
    stack.bots["marvin"].wait_for(user, "Deploy Billing Service 4.2.1 to staging? (yes/no)")
    assert [c["answer"].get("error") for c in stack.slack.calls("chat.postMessage") if c["args"].get("thread_ts") == ts] == ["internal_error"]
    mention(stack, "marvin", user, "yes", thread_ts=ts)
    posts(stack, ts, "Billing Service: deployed version 4.2.1 to staging in ")
    assert [d.version for d in deployments(stack, requested_by=user)] == ["4.2.1"]


def test_a_rate_limited_update_after_a_click_is_retried_and_the_click_counts(stack):
    user = new_user_id()
    ts = mention(stack, "marvin", user, "deploy search 4.3.1")
    [question] = posts(stack, ts, "Deploy Search API 4.3.1 to staging? (yes/no)")
    stack.slack.rate_limit_next("chat.update", retry_after=1, times=1)
    click(stack, "marvin", question, user, "someone", "Yes")
    posts(stack, ts, "Search API: deployed version 4.3.1 to staging in ")
    assert [c["status"] for c in updates_of(stack, question)] == [429, 200]


def test_too_long_a_message_is_split_within_slacks_limits(stack):
    # A failed build's report carries the console's last lines: here more than Slack's 40,000 characters.
    user, long_line = new_user_id(), "x" * 5_000
    stack.jenkins.control("POST", "/next-build", {"job": "deploy-crm", "result": "FAILURE", "seconds": 1,
                                                  "console": [long_line] * 12})
    ts = mention(stack, "marvin", user, "deploy crm 4.4.1")
    [question] = posts(stack, ts, "Deploy Customer Relationship Management 4.4.1 to staging? (yes/no)")
    click(stack, "marvin", question, user, "someone", "Yes")
    posts(stack, ts, "Customer Relationship Management: deploying version 4.4.1 to staging failed")
    parts = [c for c in stack.slack.calls("chat.postMessage") if c["args"].get("thread_ts") == ts and long_line[:100] in c["args"]["text"]]
    assert len(parts) >= 2 and all(c["status"] == 200 and c["answer"]["ok"] for c in parts)
    assert all(len(c["args"]["text"]) <= 40_000 for c in parts)
    [record] = deployments(stack, requested_by=user)
    assert record.state == "failed" and record.console_tail.count(long_line) >= 8
    # every line of the console's tail arrived, whole
    assert sum(c["args"]["text"].count(long_line) for c in parts) == record.console_tail.count(long_line)


def test_a_report_that_cannot_go_into_an_archived_channel_comes_by_direct_message(stack):
    user = new_user_id()
    stack.slack.add_user(user, "u" + user[1:].lower(), "Robin", "Robin Archer")
    channel = stack.slack.add_channel("C0ARCHIVE1")  # with every person and both bots
    stack.jenkins.control("POST", "/next-build", {"job": "intranet/deploy", "seconds": 4})
    ts = mention(stack, "marvin", user, "deploy intranet 4.5.1", channel=channel)
    [question] = posts(stack, ts, "Deploy Intranet Portal 4.5.1 to staging? (yes/no)")
    click(stack, "marvin", question, user, "robin", "Yes")
    posts(stack, ts, "Deploying Intranet Portal 4.5.1 to staging: Jenkins build #")
    stack.slack.archive(channel)  # while the build runs
    [refused] = posts(stack, ts, "Intranet Portal: deployed version 4.5.1")
    assert refused["answer"]["error"] == "is_archived"
    [direct] = [c for c in posts(stack, None, "<#C0ARCHIVE1> is archived") if c["args"]["channel"].startswith("D")]
    assert "What I wanted to say there:\nIntranet Portal: deployed version 4.5.1 to staging in " in direct["args"]["text"]
    assert direct["answer"]["ok"]
