"""The JSGF grammar of what people say to the bots, written from the catalog and the bots' names.

Only these sentences can be recognised; anything else either fails to match or matches badly,
which the confidence (recognizer.py) catches. Apps are said by id, name or alias; versions as
digits with "point" ("one point zero point two") or digit by digit ("one oh two"); codes as
six digits. The grammar is keyed by a hash of the catalog and the bots' names, so a changed
catalog gives a new grammar.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List

from deploybot.adapters.voice import lexicon
from deploybot.adapters.voice.numbers import CODE_LENGTH, DIGITS
from deploybot.domain.catalog import Catalog

YES = ["yes", "yeah", "yep", "yes please", "yes go ahead", "go ahead", "do it", "confirm", "yes do it"]
NO = ["no", "nope", "no thanks", "don't", "do not", "don't do it", "not now", "no stop", "stop", "no don't"]
APPROVE = ["approve", "approve it", "approve the deployment", "i approve"]
REJECT = ["reject", "reject it", "reject the deployment"]
CANCEL = ["cancel the deployment", "cancel the build", "abort the build", "cancel the <app> deployment"]
STATUS = ["status", "status of <app>", "what is running on <env>", "what version of <app> is on <env>",
          "what is deployed on <env>"]


@dataclass(frozen=True)
class Grammar:
    jsgf: str
    pronunciations: Dict[str, str]  # words the dictionary lacks, with derived phones
    key: str
    sentence: "re.Pattern"          # matches exactly the grammar's sentences (words joined by spaces)

    def is_sentence(self, words: str) -> bool:
        """When no sentence fits, pocketsphinx returns the best *partial* path ("marvin deploy
        cms to"): that is never a command."""
        return bool(self.sentence.fullmatch(words + " "))


def words_of(phrase: str) -> List[str]:
    return [w for w in re.split(r"[^a-z0-9']+", phrase.lower()) if w]


def spoken_forms(catalog: Catalog) -> Dict[str, List[str]]:
    """Per app id, the phrases people say for it (id, name, aliases), lower case."""
    forms = {}
    for app in catalog.apps.values():
        phrases = {" ".join(words_of(p)) for p in (app.id, app.name, *app.aliases)}
        forms[app.id] = sorted(p for p in phrases if p and not any(c.isdigit() for c in p))
    return forms


def catalog_key(catalog: Catalog, bot_names: Iterable[str]) -> str:
    text = repr((sorted((a.id, a.name, a.aliases) for a in catalog.apps.values()),
                 sorted((e.id, e.aliases) for e in catalog.environments.values()),
                 sorted({n.lower() for n in bot_names})))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_grammar(catalog: Catalog, bot_names: Iterable[str]) -> Grammar:
    bot_names = sorted({n.lower() for n in bot_names})
    apps = sorted({p for forms in spoken_forms(catalog).values() for p in forms})
    envs = sorted({" ".join(words_of(n)) for e in catalog.environments.values() for n in (e.id, *e.aliases)})
    digit = "( " + " | ".join(DIGITS) + " )"
    rules = {
        "utterance": "[ <bot> ] <command> [ please ]",
        "bot": _alternatives([*bot_names, *(f"hey {n}" for n in bot_names), *(f"ok {n}" for n in bot_names)]),
        "command": "<deploy> | <status> | <yes> | <no> | <lock> | <rollback> | <approve> | <reject> | <cancel> | <code>",
        "deploy": "[ please ] deploy <app> [ [ version ] <version> ] [ to <env> ]"
                  " | deploy [ version ] <version> of <app> [ to <env> ]",
        "status": _alternatives(STATUS),
        "yes": _alternatives(YES),
        "no": _alternatives(NO),
        "lock": "( lock | unlock ) <env> | ( lock | unlock ) <app> on <env>",
        "rollback": "( roll back | rollback ) <app> [ on <env> ]",
        "approve": _alternatives(APPROVE),
        "reject": _alternatives(REJECT),
        "cancel": _alternatives(CANCEL),
        "code": "[ my ] [ code [ is ] ] " + " ".join(["<digit>"] * CODE_LENGTH),
        "version": "<digit> point <digit> [ point <digit> [ point <digit> ] ] | <digit> <digit> <digit>",
        "digit": digit,
        "app": _alternatives(apps),
        "env": _alternatives(envs),
    }
    jsgf = "#JSGF V1.0;\ngrammar deploybot;\n" + "".join(
        f"{'public ' if name == 'utterance' else ''}<{name}> = {body} ;\n" for name, body in rules.items())
    vocabulary = {w for w in re.findall(r"(?<![<\w])[a-z'][a-z0-9']*(?![>\w])", jsgf.split("\n", 2)[2])}
    vocabulary.discard("public")
    return Grammar(jsgf, lexicon.missing_pronunciations(vocabulary), catalog_key(catalog, bot_names),
                   re.compile(_regex("utterance", rules)))


def _regex(rule: str, rules: Dict[str, str]) -> str:
    """The rule as a regular expression over "word word " (the grammar has no recursion)."""
    out = []
    for token in rules[rule].split():
        if token.startswith("<"):
            out.append("(?:" + _regex(token[1:-1], rules) + ")")
        elif token in "([":
            out.append("(?:")
        elif token == ")":
            out.append(")")
        elif token == "]":
            out.append(")?")
        elif token == "|":
            out.append("|")
        else:
            out.append(re.escape(token) + " ")
    return "".join(out)


def _alternatives(phrases: List[str]) -> str:
    return " | ".join(f"( {p} )" for p in phrases)
