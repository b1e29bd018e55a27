"""What people type and the bot repeats goes back to Slack escaped (Slack's formatting rules:
`&`, `<` and `>` as `&amp;`, `&lt;`, `&gt;` unless meant as markup). Typed into Slack,
`<!channel>` arrives as `&lt;!channel&gt;`; the bot understands the plain text, and before
this test a lock reason or a display name it repeated became a real @channel ping, or a link
whose label hides where it goes."""
import re
import time

from deploybot.adapters.slack.formatting import typed_text

from tests.slack_chat import click, mention, posts, updates_of
from tests.support import new_user_id

PING = "<!channel>"
FALSE_LINK = "<https://evil.example/login|the runbook>"
# Any special mention or link markup in what the bot sent: what Slack would act on.
MARKUP = re.compile(r"<[!h][^>]*>")


def as_slack_sends(typed: str) -> str:
    """A message's text as Slack's Events API delivers what a person typed."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_a_ping_and_a_link_typed_into_a_lock_reason_come_back_as_text(stack):
    user = new_user_id()
    stack.slack.add_user(user, "mallory", "Mallory")
    reason = f"{PING} read {FALSE_LINK} & go"
    ts = mention(stack, "marvin", user, as_slack_sends(f"lock crm on staging for 0.1 min because {reason}"))
    [locked] = posts(stack, ts, "Locked crm on staging until ")
    # The expiry, said later by the watcher through another path, repeats the reason too.
    [lifted] = posts(stack, ts, "The lock on crm on staging (set by Mallory: ", timeout=30)
    for sent in (locked["args"]["text"], lifted["args"]["text"]):
        assert not MARKUP.search(sent), sent
        assert "&lt;!channel&gt;" in sent and " &amp; go" in sent
        assert reason in typed_text(sent)  # what people see is what was typed


def test_a_display_name_with_markup_is_shown_as_text(stack):
    user = new_user_id()
    stack.slack.add_user(user, "eve", "<!here> Eve")  # a display name is anyone's to choose
    ts = mention(stack, "marvin", user, "lock search on staging for 0.1 min: reindexing")
    posts(stack, ts, "Locked search on staging until ")
    [lifted] = posts(stack, ts, "The lock on search on staging (set by &lt;!here&gt; Eve: reindexing)", timeout=30)
    assert not MARKUP.search(lifted["args"]["text"])


def test_the_bots_own_mentions_stay_mentions(stack):
    """Escaping must not break what the bot means as markup: the mention of who answered."""
    user = new_user_id()
    stack.slack.add_user(user, "dora", "Dora")
    ts = mention(stack, "marvin", user, "deploy shop 2.0.9 to staging")
    [question] = posts(stack, ts, "Deploy Web Shop 2.0.9 to staging?")
    assert click(stack, "marvin", question, user, "dora", "No") == 200
    deadline = time.monotonic() + 60
    while not updates_of(stack, question) and time.monotonic() < deadline:
        time.sleep(0.3)
    [update] = updates_of(stack, question)
    assert f"→ No (<@{user}>)" in update["args"]["text"] and "&lt;" not in update["args"]["text"]
