"""Slack's message text decoded into what people typed (deploybot.adapters.slack.formatting), on texts
as Slack's Events API delivers them."""
import pytest

from deploybot.adapters.slack.formatting import for_slack, typed_text


@pytest.mark.parametrize("slack_text, typed", [
    # escapes
    ("deploy cms 1.0.5 -&gt; staging", "deploy cms 1.0.5 -> staging"),
    ("deploy billing &amp; crm", "deploy billing & crm"),
    ("rollback if error rate &lt; 5% &amp;&amp; p95 &gt; 2s", "rollback if error rate < 5% && p95 > 2s"),
    ("&amp;lt; stays a typed entity", "&lt; stays a typed entity"),
    # users stay mentions; the NLU reads <@U…>
    ("<@UMARVIN01> deploy cms 1.0.2", "<@UMARVIN01> deploy cms 1.0.2"),
    ("auth <@U024BE7LH|jan> search", "auth <@U024BE7LH> search"),
    ("ask <@W0ENTERPRISE1>", "ask <@W0ENTERPRISE1>"),
    # channels
    ("post it in <#C024BE7LR|deployments-management>", "post it in #deployments-management"),
    ("post it in <#C024BE7LR|>", "post it in <#C024BE7LR>"),
    ("post it in <#C024BE7LR>", "post it in <#C024BE7LR>"),
    # special mentions and user groups
    ("<!here> deploying shop", "@here deploying shop"),
    ("<!channel> and <!everyone>", "@channel and @everyone"),
    ("<!here|here> legacy form", "@here legacy form"),
    ("cc <!subteam^S012|@ops>", "cc @ops"),
    ("cc <!subteam^S012>", "cc <!subteam^S012>"),
    ("at <!date^1392734382^{date_num}|2014-02-18>", "at 2014-02-18"),
    # links and e-mail addresses
    ("see <https://example.com|the runbook>", "see the runbook"),
    ("see <https://example.com>", "see https://example.com"),
    ("build <https://ci.example.com/job?a=1&amp;b=2>", "build https://ci.example.com/job?a=1&b=2"),
    ("<http://cms.internal|cms.internal> is down", "cms.internal is down"),
    ("mail <mailto:a@b.c|a@b.c>", "mail a@b.c"),
    ("mail <mailto:a@b.c>", "mail a@b.c"),
    ("<https://x.example|R&amp;D wiki>", "R&D wiki"),
    # nothing to decode, or something Slack would not send
    ("deploy cms 1.0.5 to staging", "deploy cms 1.0.5 to staging"),
    ("", ""),
    ("a lone < stays", "a lone < stays"),
])
def test_slack_text_becomes_what_was_typed(slack_text, typed):
    assert typed_text(slack_text) == typed


def test_a_realistic_mention_with_everything():
    text = ("<@UMARVIN01> deploy cms 1.0.5 -&gt; staging &amp; tell <@U0THERESA|theresa> in "
            "<#C0DEPLOYS|deploys>, notes: <https://wiki.example.com/cms?v=1.0.5&amp;lang=en|release notes>")
    assert typed_text(text) == ("<@UMARVIN01> deploy cms 1.0.5 -> staging & tell <@U0THERESA> in "
                                "#deploys, notes: release notes")


def test_a_decoded_angle_bracket_does_not_start_a_reference():
    assert typed_text("&lt;@U0THERESA&gt; is how Slack writes a mention") == "<@U0THERESA> is how Slack writes a mention"
    assert typed_text("&lt;https://example.com|x&gt;") == "<https://example.com|x>"


@pytest.mark.parametrize("text, sent", [
    ("Reason: <!channel> now", "Reason: &lt;!channel&gt; now"),
    ("see <https://evil.example|the runbook>", "see &lt;https://evil.example|the runbook&gt;"),
    ("R&D -> done", "R&amp;D -&gt; done"),
    ("a &lt; b", "a &amp;lt; b"),  # typed as such: shown as typed, not as "<"
    ("locked by <@U0THERESA> in <#C0DEPLOYS>", "locked by <@U0THERESA> in <#C0DEPLOYS>"),
    ("<@U0THERESA|theresa> <#C0DEPLOYS|deploys> <!subteam^S012>",
     "&lt;@U0THERESA|theresa&gt; &lt;#C0DEPLOYS|deploys&gt; &lt;!subteam^S012&gt;"),
    ("", ""),
])
def test_text_for_slack_is_escaped_except_the_bots_own_references(text, sent):
    assert for_slack(text) == sent


@pytest.mark.parametrize("typed", ["<!here> & <https://x.example|y> -> <@U0THERESA>", "&amp; &lt;", "<<>>&"])
def test_what_is_sent_shows_as_it_was_typed(typed):
    assert typed_text(for_slack(typed)) == typed
