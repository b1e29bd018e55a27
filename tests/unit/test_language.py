"""The spaCy pipeline (built from spacy.blank("en") exactly as `make` builds it) and
the entity resolution that the Rasa component runs on its output."""
from pathlib import Path

import pytest
import spacy

from components.deploy_entities import vocabulary_from
from deploybot.domain.catalog import load_catalog
from deploybot.language.entities import Span, resolve_entities
from deploybot.language.spacy_pipeline import build_pipeline, save_pipeline

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "build" / "spacy-en"


def built_pipeline_is_current() -> bool:
    """Whether `make` has built build/spacy-en after the last change of its inputs (the
    Makefile's SPACY_INPUTS): then it is what this module would build."""
    meta = BUILT / "meta.json"
    inputs = [ROOT / "apps.yml", *ROOT.glob("assistants/*.yml"), *ROOT.glob("deploybot/language/*.py")]
    return meta.exists() and all(path.stat().st_mtime <= meta.stat().st_mtime for path in inputs)


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    # `make test` has just built the pipeline from the same sources (building it takes
    # seconds); built again here when it is missing or older than a source.
    if built_pipeline_is_current():
        return spacy.load(BUILT)
    out = tmp_path_factory.mktemp("spacy") / "pipeline"
    save_pipeline(build_pipeline(load_catalog("apps.yml"), ["Marvin", "Bender"]), out)
    return spacy.load(out)  # what Rasa loads: the saved pipeline, not the object


def tokens(nlp, text):
    return [t.text for t in nlp(text.lower())]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("deploy cms 3.2.1-rc1", ["deploy", "cms", "3.2.1-rc1"]),
        ("ship 7.2.0-beta.3!", ["ship", "7.2.0-beta.3", "!"]),
        ("auth <@U024BE7LH> cms", ["auth", "<@u024be7lh>", "cms"]),
        ("grant <@U024BE7LH|jbrueder>, please", ["grant", "<@u024be7lh|jbrueder>", ",", "please"]),
        ("deploy cms:1.0.2", ["deploy", "cms", ":", "1.0.2"]),
        ("deploy geo-router 1.0.2-rc.1+build.5 — now", ["deploy", "geo-router", "1.0.2-rc.1+build.5", "—", "now"]),
        ("grant mary-jane the shop", ["grant", "mary-jane", "the", "shop"]),
        ("deploy the content management system", ["deploy", "the", "content management system"]),
    ],
)
def test_tokenizer_keeps_versions_mentions_and_names_whole(nlp, text, expected):
    assert tokens(nlp, text) == expected


def test_lookup_lemmatizer_from_spacy_lookups_data(nlp):
    assert [t.lemma_ for t in nlp("deploying deployed shipped apps")] == ["deploy", "deploy", "ship", "app"]


def test_entity_tokens_get_class_lemmas(nlp):
    doc = nlp("@bender ship the content management system v1.0.2 to prod for @theresa")
    assert [t.lemma_ for t in doc] == ["__bot__", "ship", "the", "__app__", "__version__", "to", "__environment__", "for", "__user__"]


def test_entity_ruler_labels_catalog_names_with_their_ids(nlp):
    doc = nlp("marvin, put the web shop v1.0.2 on prod for @theresa".lower())
    assert [(e.text, e.label_, e.ent_id_) for e in doc.ents] == [
        ("marvin", "BOT", ""), ("web shop", "APP", "shop"), ("v1.0.2", "VERSION", ""),
        ("prod", "ENVIRONMENT", "production"), ("@theresa", "USER", ""),
    ]


def test_word_probabilities_tell_english_from_names(nlp):
    vocabulary = vocabulary_from(nlp)
    assert vocabulary.is_english_word("stop") and vocabulary.is_english_word("deploy")
    assert not vocabulary.is_english_word("hkaraca") and not vocabulary.is_english_word("cmss")
    assert vocabulary.bot_names == ("bender", "marvin")


def resolve(nlp, text, diet=(), intent=None):
    doc = nlp(text.lower())
    spans = [Span(e.start_char, e.end_char, e.label_, e.ent_id_) for e in doc.ents]
    toks = [Span(t.idx, t.idx + len(t.text)) for t in doc]
    return [(e.entity, e.value) for e in resolve_entities(text, spans, toks, list(diet), vocabulary_from(nlp), intent)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Marvin, put cms 1.0.2 on staging", [("app", "cms"), ("version", "1.0.2"), ("environment", "staging")]),
        ("deploy the Content Management System v2.0 to live", [("app", "cms"), ("version", "2.0"), ("environment", "production")]),
        ("deploy cmss 1.0", [("app", "cms"), ("version", "1.0")]),
        ("roll out biling to prodution", [("app", "billing"), ("environment", "production")]),
        ("@bender auth <@U024BE7LH> cms", [("user", "U024BE7LH"), ("app", "cms")]),
        ("grant @Theresa the shop", [("user", "Theresa"), ("app", "shop")]),
        ("stop the deployment", []),  # "stop" is English, not a typo of "shop"
        ("hey bender", []),
    ],
)
def test_rule_and_typo_entities_come_out_normalized(nlp, text, expected):
    assert resolve(nlp, text) == expected


def test_diet_entities_are_normalized_and_never_override_rules(nlp):
    text = "deploy shp 1.0 and the payroll app"
    diet = [
        {"entity": "app", "start": 7, "end": 10},     # "shp": one edit from "shop"
        {"entity": "version", "start": 7, "end": 10},  # overlaps; dropped
        {"entity": "app", "start": 23, "end": 30},    # "payroll": unknown, kept as written
    ]
    assert resolve(nlp, text, diet) == [("app", "shop"), ("version", "1.0"), ("app", "payroll")]


def test_diet_never_makes_a_bot_or_a_pronoun_a_user(nlp):
    text = "marvin, what can I deploy"
    diet = [{"entity": "user", "start": 0, "end": 6}, {"entity": "user", "start": 17, "end": 18}]
    assert resolve(nlp, text, diet) == []


def test_an_unknown_handle_is_the_user_only_in_permission_commands(nlp):
    assert resolve(nlp, "auth okonkwo.a billing", intent="grant_permission") == [("user", "okonkwo.a"), ("app", "billing")]
    assert resolve(nlp, "deauthorize hkaraca for intranet", intent="revoke_permission") == [("user", "hkaraca"), ("app", "intranet")]


def test_command_words_are_never_the_user(nlp):
    assert resolve(nlp, "unauth f.garcia cms", intent="revoke_permission") == [("user", "f.garcia"), ("app", "cms")]
    assert resolve(nlp, "list deployers", intent="list_permissions") == []
    assert resolve(nlp, "who are the deployers of billing", intent="list_permissions") == [("app", "billing")]
    statistical = [{"entity": "user", "start": 5, "end": 14}]  # what a statistical extractor might tag
    assert resolve(nlp, "list deployers", statistical, intent="list_permissions") == []
    assert resolve(nlp, "auth okonkwo.a billing", intent="deploy") == [("app", "billing")]
    assert resolve(nlp, "what can I deploy", intent="list_permissions") == []


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        # No statistical extractor here: the person is found by the place alone.
        ("let kim.lee ship billing", "grant_permission", [("user", "kim.lee"), ("app", "billing")]),
        ("kim can deploy crm now", "grant_permission", [("user", "kim"), ("app", "crm")]),
        ("@bender, tom may ship the intranet", "grant_permission", [("user", "tom"), ("app", "intranet")]),
        ("let jo roll out the shop", "grant_permission", [("user", "jo"), ("app", "shop")]),
        ("disallow anna to deploy cms", "revoke_permission", [("user", "anna"), ("app", "cms")]),
        # Common words, pronouns, command words and bots in those places are nobody.
        ("let the team deploy crm", "grant_permission", [("app", "crm")]),
        ("let me deploy crm", "grant_permission", [("app", "crm")]),
        ("everyone can deploy crm", "grant_permission", [("app", "crm")]),
        ("admin can deploy crm", "grant_permission", [("app", "crm")]),
        ("marvin can deploy crm", "grant_permission", [("app", "crm")]),
        ("list deployers", "list_permissions", []),
        # Only in permission commands.
        ("kim can deploy crm now", "deploy", [("app", "crm")]),
        ("let kim.lee ship billing", "deploy", [("app", "billing")]),
    ],
)
def test_the_person_is_found_by_where_permission_commands_put_it(nlp, text, intent, expected):
    assert resolve(nlp, text, intent=intent) == expected


def test_a_found_user_is_not_replaced_by_a_guess_from_the_place(nlp):
    assert resolve(nlp, "let @sam deploy crm", intent="grant_permission") == [("user", "sam"), ("app", "crm")]
    statistical = [{"entity": "user", "start": 4, "end": 7}]  # "kim"
    assert resolve(nlp, "let kim deploy crm", statistical, intent="grant_permission") == [("user", "kim"), ("app", "crm")]
