"""Turns what the spaCy rules, the typo matcher and the statistical extractor found into final entities.

Every entity leaves here with its normalized value, the one the actions use:
  app          the catalog id ("content management system", "cmss" -> "cms")
  environment  the environment id ("prod" -> "production")
  version      as written without a leading "v"
  user         the handle without "@"; a Slack mention <@U024BE7LH> gives U024BE7LH

Precedence, by span: the bots' own names block everything; then the spaCy entity ruler
(exact catalog spellings, version and mention patterns); then the typo matcher on words
that are no English words; then the statistical extractor (CRF in config.yml), whose
values are normalized the same way. Last,
in permission commands where nobody is named yet, a handle-like word that is no English
word is taken as the user ("auth okonkwo.a billing"): the extractor only knows names like
the ones it has seen. If there is none either, a rare word where such commands put the
person is (right after "let", "allow", "revoke", ...; or first, before "can", "may", ...:
"kim can deploy crm now"): first names like "kim" are English words to the word
probabilities, so only their place can tell.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.lang.en.stop_words import STOP_WORDS

from deploybot.domain.catalog import normalize_name, resolve_name, typo_budget
from deploybot.domain.versions import normalize_version

RULE_LABELS = {"APP": "app", "ENVIRONMENT": "environment", "VERSION": "version", "USER": "user"}
SLACK_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$", re.IGNORECASE)
# Words that a statistical extractor sometimes tags but that never name a user.
NOT_A_USER = {"u", "ya", "i", "me", "my", "myself", "mine", "we", "us", "you", "everyone", "everybody", "anyone", "someone"}
# Intents whose messages name a user, and chat words that are no English words but no handles either.
PERMISSION_INTENTS = {"grant_permission", "revoke_permission", "list_permissions"}
CHAT_WORDS = {"pls", "plz", "thx", "ty", "asap", "btw", "rn", "tho", "perms", "perm", "ok", "okay", "yo", "hey", "dont", "cant", "wont", "isnt", "shouldnt", "doesnt", "im", "ive", "whats", "whos", "hes", "shes", "theyre"}
# The commands' own words, which are no English words either: "unauth f.garcia cms", "list deployers".
COMMAND_WORDS = {"auth", "unauth", "deauth", "reauth", "authorize", "authorise", "unauthorize", "unauthorise",
                 "deauthorize", "deauthorise", "deployer", "deployers", "deployment", "deployments", "deploys",
                 "releaser", "releasers", "permission", "permissions", "grants", "revoke", "revok", "rollout", "rollouts"}
HANDLE = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")
# Log-probabilities (spaCy's lexeme_prob): at or above this a word is ordinary English.
ENGLISH_LOG_PROB = -17.0
# Where permission commands put the person: after these verbs ("let kim ship billing",
# "disallow tom to deploy cms"), or first, before these words ("kim can deploy crm now").
PERSON_AFTER = {"let", "allow", "permit", "auth", "authorize", "authorise", "grant", "give", "enable", "approve",
                "whitelist", "revoke", "unauth", "deauth", "deauthorize", "deauthorise", "disallow", "forbid", "block", "ban"}
PERSON_BEFORE = {"can", "may", "could", "should", "will", "gets", "needs", "wants", "is"}
NAME = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
# In those places, a word rarer than this may be a name: "kim" -14.5, "lee" -12.7 in
# lexeme_prob; "admin" -11.6, "team" -8.1 and stop words ("the", "everyone") never are.
# This rule and COMMAND_WORDS' "deployers" were written for three sentences that were then
# held out ("let kim.lee ship billing", "kim can deploy crm now", "list deployers"); since
# issue 22 they are only regression tests (tests/integration/test_user_names.py), and
# tests/nlu/heldout_fresh.yml asks the rule about names it was not written for.
NAME_LOG_PROB = -12.5
UNSEEN_WORD_LOG_PROB = -25.0


@dataclass(frozen=True)
class Span:
    """A piece of the message: character offsets and, for entity-ruler spans, label and id."""

    start: int
    end: int
    label: str = ""
    id: str = ""

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str
    start: int
    end: int
    source: str  # rules | typo | model (the statistical extractor) | handle | slot

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Vocabulary:
    """What resolution needs to know, all derived from the spaCy pipeline."""

    app_spellings: Dict[str, str]
    environment_spellings: Dict[str, str]
    bot_names: Tuple[str, ...]
    log_prob: Callable[[str], float]  # of a lowercase word; UNSEEN_WORD_LOG_PROB if unseen

    def is_english_word(self, word: str) -> bool:
        return self.log_prob(word) >= ENGLISH_LOG_PROB


def is_free(start: int, end: int, taken: Sequence, blocked: Sequence[Span]) -> bool:
    """Nothing found so far, and no bot name, covers any of this span."""
    return not any(other.overlaps(start, end) for other in list(taken) + list(blocked))


def user_value(text: str, vocabulary: Vocabulary) -> Optional[str]:
    text = text.strip()
    mention = SLACK_MENTION.match(text)
    if mention:
        return mention.group(1).upper()  # Slack ids are upper case
    handle = text.lstrip("@").strip(" .,;:!?'\"")
    if not handle or handle.lower() in NOT_A_USER | COMMAND_WORDS or handle.lower() in vocabulary.bot_names:
        return None
    return handle


def normalize(entity: str, text: str, vocabulary: Vocabulary) -> Optional[str]:
    """The normalized value for an entity of this type written as text; None drops it.

    An app or environment no catalog spelling matches keeps its lowercased text, so the
    dialogue can say "I don't know an app called ...".
    """
    if entity == "app":
        return resolve_name(text, vocabulary.app_spellings, lenient=True) or normalize_name(text) or None
    if entity == "environment":
        return resolve_name(text, vocabulary.environment_spellings, lenient=True) or normalize_name(text) or None
    if entity == "version":
        written = text.strip()
        unprefixed = written[1:] if written[:1] in "vV" and len(written) > 1 else written
        # An unparseable version is kept as written: the dialogue explains what a version looks like.
        return normalize_version(written) or unprefixed or None
    if entity == "user":
        return user_value(text, vocabulary)
    return None


def typo_matches(text: str, tokens: Sequence[Span], taken: List[Entity], blocked: Sequence[Span], vocabulary: Vocabulary) -> List[Entity]:
    """App and environment names with small typos ("cmss", "biling", "prodution").

    Only words that are no English words are tried, so "stop" never becomes "shop".
    """
    found = []
    for token in tokens:
        word = text[token.start:token.end]
        lowered = word.lower()
        if (
            typo_budget(lowered) == 0
            or not lowered.isalpha()
            or vocabulary.is_english_word(lowered)
            or not is_free(token.start, token.end, taken, blocked)
        ):
            continue
        for entity, spellings in (("app", vocabulary.app_spellings), ("environment", vocabulary.environment_spellings)):
            value = resolve_name(lowered, spellings)
            if value:
                found.append(Entity(entity, value, token.start, token.end, "typo"))
                break
    return found


def unknown_handle(text: str, tokens: Sequence[Span], taken: List[Entity], blocked: Sequence[Span], vocabulary: Vocabulary) -> Optional[Entity]:
    """The rarest handle-like word that is no English word and nothing else already.

    Rarest, because a rare verb ("deauthorize") is still likelier English than a handle.
    """
    candidates = []
    for position, token in enumerate(tokens):
        word = text[token.start:token.end]
        lowered = word.lower()
        if (
            HANDLE.match(lowered)
            and lowered not in CHAT_WORDS
            and lowered not in COMMAND_WORDS
            and lowered not in NOT_A_USER
            and not vocabulary.is_english_word(lowered)
            and is_free(token.start, token.end, taken, blocked)
        ):
            candidates.append((vocabulary.log_prob(lowered), position, Entity("user", word, token.start, token.end, "handle")))
    return min(candidates)[2] if candidates else None


def person_in_slot(text: str, tokens: Sequence[Span], taken: List[Entity], blocked: Sequence[Span], vocabulary: Vocabulary) -> Optional[Entity]:
    """A rare word where permission commands name the person; None when that place holds a
    common word ("let the team ..."), a pronoun, a command word or something already found."""
    words = [(token, text[token.start:token.end].lower()) for token in tokens
             if is_free(token.start, token.end, [], blocked) and any(c.isalnum() for c in text[token.start:token.end])]
    places = [words[0]] if len(words) > 1 and words[1][1] in PERSON_BEFORE else []
    places += [words[i + 1] for i in range(len(words) - 1) if words[i][1] in PERSON_AFTER]
    for token, word in places:
        if (
            NAME.match(word)
            and word not in STOP_WORDS | NOT_A_USER | COMMAND_WORDS | CHAT_WORDS | PERSON_AFTER | PERSON_BEFORE
            and word not in vocabulary.bot_names
            and vocabulary.log_prob(word) < NAME_LOG_PROB
            and is_free(token.start, token.end, taken, blocked)
        ):
            return Entity("user", text[token.start:token.end], token.start, token.end, "slot")
    return None


def resolve_entities(
    text: str,
    rule_spans: Iterable[Span],
    tokens: Sequence[Span],
    diet_entities: Iterable[dict],
    vocabulary: Vocabulary,
    intent: Optional[str] = None,
) -> List[Entity]:
    """The final entities of a message, sorted by position."""
    blocked = [span for span in rule_spans if span.label == "BOT"]
    entities: List[Entity] = []
    for span in rule_spans:
        entity = RULE_LABELS.get(span.label)
        if not entity:
            continue
        written = text[span.start:span.end]
        value = span.id or normalize(entity, written, vocabulary)
        if value:
            entities.append(Entity(entity, value, span.start, span.end, "rules"))

    entities += typo_matches(text, tokens, entities, blocked, vocabulary)

    for candidate in diet_entities:
        entity, start, end = candidate.get("entity"), candidate.get("start"), candidate.get("end")
        if entity not in RULE_LABELS.values() or start is None or end is None:
            continue
        if not is_free(start, end, entities, blocked):
            continue
        value = normalize(entity, text[start:end], vocabulary)
        if value:
            entities.append(Entity(entity, value, start, end, "model"))

    if intent in PERMISSION_INTENTS and not any(e.entity == "user" for e in entities):
        handle = unknown_handle(text, tokens, entities, blocked, vocabulary) or person_in_slot(text, tokens, entities, blocked, vocabulary)
        if handle:
            entities.append(handle)

    return sorted(entities, key=lambda e: (e.start, e.end))
