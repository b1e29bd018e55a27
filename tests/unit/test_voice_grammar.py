"""The voice grammar is written from the catalog, and spoken numbers come back as the NLU's text."""
import pytest

from deploybot.adapters.voice.grammar import build_grammar, catalog_key
from deploybot.adapters.voice.lexicon import ipa_to_phones, known, missing_pronunciations
from deploybot.adapters.voice.numbers import normalise
from deploybot.domain.catalog import App, Catalog, Environment, load_catalog

BOTS = ["Marvin", "Bender"]


def test_the_grammar_names_every_app_environment_and_bot_of_the_catalog():
    grammar = build_grammar(load_catalog(), BOTS)
    for phrase in ["marvin deploy cms one point zero point two to staging", "bender deploy intranet portal to live",
                   "deploy web shop version two point one", "deploy customer relationship management one oh two",
                   "yes", "no", "don't", "not now", "lock production", "unlock cms on staging",
                   "roll back billing on production", "approve it", "reject", "cancel the deployment",
                   "my code is four two zero nine one seven", "status of search api"]:
        assert grammar.is_sentence(phrase), phrase
    for partial in ["marvin deploy cms to", "go", "oh", "deploy", "one two three four five", "deploy rocket to staging"]:
        assert not grammar.is_sentence(partial), partial


def test_words_the_dictionary_lacks_get_a_pronunciation():
    grammar = build_grammar(load_catalog(), BOTS)
    assert not known("intranet")
    assert grammar.pronunciations["intranet"] == "IH N T R AH N EH T"  # espeak-ng's letter-to-sound
    assert set(grammar.pronunciations) == {w for w in grammar.pronunciations if not known(w)}
    assert "deploy" not in grammar.pronunciations


def test_a_word_without_letter_to_sound_is_spelled(monkeypatch):
    from deploybot.adapters.voice import lexicon
    monkeypatch.setattr(lexicon, "_espeak_ipa", lambda word: None)
    assert missing_pronunciations(["xq"]) == {"xq": "EH K S K Y UW"}


def test_ipa_maps_to_the_dictionary_phones():
    assert ipa_to_phones("ˈɪntɹənˌɛt") == ["IH", "N", "T", "R", "AH", "N", "EH", "T"]
    assert ipa_to_phones("wˈɛbʃɑːp") == ["W", "EH", "B", "SH", "AA", "P"]


def test_a_changed_catalog_gives_a_new_grammar():
    base = load_catalog()
    more = Catalog([*base.apps.values(), App("wiki", "Team Wiki", ("wiki",), "deploy-wiki", ("staging",))],
                   base.environments.values())
    assert catalog_key(base, BOTS) == build_grammar(base, BOTS).key
    assert catalog_key(more, BOTS) != catalog_key(base, BOTS)
    assert build_grammar(more, BOTS).is_sentence("deploy team wiki to staging")
    assert not build_grammar(base, BOTS).is_sentence("deploy team wiki to staging")


@pytest.mark.parametrize("spoken, text", [
    ("deploy cms one point zero point two to staging", "deploy cms 1.0.2 to staging"),
    ("deploy cms one oh two", "deploy cms 1.0.2"),
    ("deploy shop version two point one", "deploy shop version 2.1"),
    ("deploy shop one two point zero", "deploy shop 12.0"),
    ("four two zero nine one seven", "420917"),
    ("my code is oh four two nine one seven", "my code is 042917"),
    ("yes", "yes"),
    ("no", "no"),
    ("deploy cms to staging", "deploy cms to staging"),
])
def test_spoken_numbers_become_the_text_the_nlu_reads(spoken, text):
    assert normalise(spoken.split()) == text
