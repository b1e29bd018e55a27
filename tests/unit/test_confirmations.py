"""deploybot.policy.confirmations without Rasa: which typed messages are clearly a yes."""
import pytest

from deploybot.policy.confirmations import DEFAULT_PATH, is_yes_emoji, load_yes_rule, why_not_a_clear_yes

RULE = load_yes_rule()


def test_the_rule_comes_from_confirmations_yml(tmp_path):
    assert RULE.confidence_floor == 0.9 and "👍" in RULE.yes_emoji and "🚀" not in RULE.yes_emoji
    broken = tmp_path / "confirmations.yml"
    broken.write_text(DEFAULT_PATH.read_text().replace("confidence_floor: 0.9", "confidence_floor: 0"))
    with pytest.raises(ValueError, match="confidence_floor"):
        load_yes_rule(broken)


@pytest.mark.parametrize("text", ["yes", "yep", "go ahead", "Yes, go!", "yes, 1.2.3 is correct", "<@U0BENDER> yes",
                                  "ok 👍", "that's it, ship it"])
def test_a_confident_short_yes_in_words_counts(text):
    assert why_not_a_clear_yes(text, "affirm", 0.95, RULE) is None


@pytest.mark.parametrize("text", ["👍", "👍🏽", "✅", "✔️", "👌 👌", "🆗"])
def test_the_listed_emoji_are_a_yes_whatever_the_model_says(text):
    assert is_yes_emoji(text, RULE)
    assert why_not_a_clear_yes(text, "nlu_fallback", 0.3, RULE) is None


@pytest.mark.parametrize("text, intent, confidence, why", [
    ("🚀", "affirm", 0.35, "made of more than a yes ('🚀')"),
    ("🚀" * 5000, "affirm", 0.35, "too long for a yes (1 words, 5000 characters)"),
    ("yes 🚀", "affirm", 0.99, "made of more than a yes"),
    ("yes " + "banana " * 500, "affirm", 0.99, "too long for a yes (501 words"),
    ('affirm{"request": "AAAAAAAAAAAAAAAAAAAAAA"}', "affirm", 0.99, "made of more than a yes"),
    ("yes\u200b", "affirm", 0.99, "made of more than a yes"),
    ("ok so", "affirm", 0.6, "below the floor 0.9"),
    ("forget it", "deny", 0.99, "not read as a yes (deny)"),
    ("", "affirm", 1.0, "an empty message"),
])
def test_anything_less_is_no_yes_and_says_why(text, intent, confidence, why):
    assert why in why_not_a_clear_yes(text, intent, confidence, RULE)
    assert not is_yes_emoji(text, RULE)
