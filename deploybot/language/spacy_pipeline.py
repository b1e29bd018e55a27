"""Builds deploybot's spaCy pipeline from spacy.blank("en"), the catalog and the profiles.

Nothing is downloaded: the lemma tables ship in the spacy-lookups-data wheel.

  tokenizer       + splits "cms:1.0.2" and "cms@1.0.2" into app and version
                  - no longer splits at "-" inside words: "3.2.1-rc1", "geo-router" and
                    "mary-jane" stay one token each
  lemmatizer      lookup mode: "deploying", "deployed" -> "deploy" for the word features
  lexeme_prob     word log-probabilities (token.prob): tells English words from names and
                  typos, so "stop" never becomes the app "shop" and "hkaraca" can be a user
  entity_ruler    APP and ENVIRONMENT from every catalog spelling (with the id attached),
                  VERSION (1.0.2, v2.3, 3.2.1-rc1), USER (@handle, <@U024BE7LH>),
                  BOT (the bots' own names, so they are never taken for anything else)
  merge_entities  each matched span becomes one token: "3.2.1-rc1", "<@U024BE7LH>",
                  "content management system"
  attribute_ruler gives those tokens a class lemma (__app__, __version__, ...), so the word
                  features learn "deploy __app__ __version__", not which apps appeared in
                  which training sentences

Rasa lowercases text before spaCy sees it (SpacyNLP case_sensitive: false), so every
pattern here is lowercase.

    python -m deploybot.language.spacy_pipeline --catalog apps.yml --assistants assistants --out build/spacy-en
"""
from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path
from typing import Iterable, List

import spacy
from spacy.lookups import Table, load_lookups
from spacy.util import compile_infix_regex

from deploybot.domain.catalog import Catalog, load_catalog
from deploybot.domain.profiles import load_profiles

# One token, thanks to the tokenizer change: 1.0.2, v2.3, 3.2.1-rc1, 1.0.2-rc.1+build.5
VERSION_TOKEN = r"^v?\d+(\.\d+){1,3}(-[0-9a-z]+([.-][0-9a-z]+)*)?(\+[0-9a-z]+([.-][0-9a-z]+)*)?$"
SLACK_MENTION = r"^@[uw][a-z0-9]{5,}(\|[^>]*)?$"
HANDLE = r"[a-z0-9][a-z0-9._-]*"
# "cms:1.0.2", "cms@1.0.2": a name glued to a version.
NAME_VERSION_INFIX = r"(?<=[a-z])[:@](?=v?\d)"
# spaCy's rule that splits words at hyphens and dashes, and the same without the hyphen.
HYPHEN_INFIX = "(?:-|–|—|--|---|——|~)"
DASH_INFIX = "(?:–|—|--|---|——|~)"
# Words rarer than this carry no information and are left out to keep the pipeline small.
RAREST_LOG_PROB = -19.0


def version_patterns() -> List[dict]:
    return [{"label": "VERSION", "pattern": [{"TEXT": {"REGEX": VERSION_TOKEN}}]}]


def user_patterns(bot_names: Iterable[str]) -> List[dict]:
    not_a_bot = "|".join(re.escape(name) for name in bot_names)
    handle = rf"^@(?!({not_a_bot})$){HANDLE}$"
    return [
        {"label": "USER", "pattern": [{"ORTH": "<"}, {"TEXT": {"REGEX": SLACK_MENTION}}, {"ORTH": ">"}]},
        {"label": "USER", "pattern": [{"TEXT": {"REGEX": handle}}]},
    ]


def bot_patterns(bot_names: Iterable[str]) -> List[dict]:
    names = sorted({n for name in bot_names for n in (name, "@" + name)})
    return [{"label": "BOT", "pattern": [{"LOWER": {"IN": names}}]}]


ENTITY_LEMMAS = {"APP": "__app__", "ENVIRONMENT": "__environment__", "VERSION": "__version__", "USER": "__user__", "BOT": "__bot__"}


def class_lemma_patterns() -> List[dict]:
    return [{"patterns": [[{"ENT_TYPE": label}]], "attrs": {"LEMMA": lemma}} for label, lemma in ENTITY_LEMMAS.items()]


def catalog_patterns(catalog: Catalog) -> List[dict]:
    """Phrase patterns for every spelling, carrying the id they stand for."""
    patterns = [
        {"label": "APP", "pattern": spelling, "id": app_id}
        for spelling, app_id in catalog.app_spellings().items()
    ]
    patterns += [
        {"label": "ENVIRONMENT", "pattern": spelling, "id": env_id}
        for spelling, env_id in catalog.environment_spellings().items()
    ]
    return patterns


def word_log_probs() -> Table:
    """English word log-probabilities from spacy-lookups-data, without the rarest words."""
    source = load_lookups("en", ["lexeme_prob"]).get_table("lexeme_prob")
    table = Table(name="lexeme_prob")
    for key, log_prob in source.items():
        if log_prob >= RAREST_LOG_PROB:
            table[key] = log_prob
    return table


def build_pipeline(catalog: Catalog, bot_names: Iterable[str]) -> spacy.Language:
    bot_names = [name.lower() for name in bot_names]
    nlp = spacy.blank("en")
    infixes = [rule.replace(HYPHEN_INFIX, DASH_INFIX) for rule in nlp.Defaults.infixes] + [NAME_VERSION_INFIX]
    if not any(DASH_INFIX in rule for rule in infixes):
        raise RuntimeError("spaCy's hyphen infix rule is not where it was in spaCy 3.4: update HYPHEN_INFIX")
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer

    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    nlp.add_pipe("merge_entities")
    attributes = nlp.add_pipe("attribute_ruler", name="class_lemmas")
    nlp.initialize()  # loads the lemma lookup table from spacy-lookups-data
    nlp.vocab.lookups.add_table("lexeme_prob", word_log_probs())
    ruler.add_patterns(
        bot_patterns(bot_names) + catalog_patterns(catalog) + version_patterns() + user_patterns(bot_names)
    )
    attributes.add_patterns(class_lemma_patterns())
    return nlp


def save_pipeline(nlp: spacy.Language, out: Path) -> None:
    """Writes next to the target and swaps it in, so a failed build leaves no half pipeline."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    nlp.to_disk(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default="apps.yml")
    parser.add_argument("--assistants", default="assistants")
    parser.add_argument("--out", default="build/spacy-en")
    args = parser.parse_args(argv)
    catalog = load_catalog(args.catalog)
    bot_names = [profile.name for profile in load_profiles(args.assistants).values()]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_pipeline(build_pipeline(catalog, bot_names), out)
    print(f"Built the spaCy pipeline in {out} ({len(catalog.apps)} apps, bots: {', '.join(bot_names)})")


if __name__ == "__main__":
    main()
