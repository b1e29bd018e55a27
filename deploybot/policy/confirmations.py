"""What counts as a typed yes to a restated request: the most consequential word the bots
hear. The NLU reads almost anything as some intent, and a rocket or 5,000 of them as a
hesitant yes, so a typed message counts as a yes only when it is clearly one
(confirmations.yml says how sure and how short):

- made of words, digits, ordinary punctuation and the listed yes emoji, nothing else;
- short (a paragraph that contains "yes" is not a yes);
- read as `affirm` with at least the configured confidence, or made only of listed yes
  emoji (the list decides those, not the model's guess).

Anything less is asked again (actions/deploy.py). A click on the question's Yes button is
no typed message and is not judged here.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Tuple

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "confirmations.yml"
YES_INTENT = "affirm"
# Ignored wherever they appear: the emoji and text variation selectors, the skin tones.
_EMOJI_MODIFIERS = frozenset("\ufe0f\ufe0e" + "".join(chr(c) for c in range(0x1F3FB, 0x1F400)))
# Punctuation a yes may carry: "yes, go!", "ok: 1.2.3", "that's it", "@bender yes", "<@U0BENDER> yes".
_PUNCTUATION = frozenset(".,;:!?'’-@<>()")


@dataclass(frozen=True)
class YesRule:
    confidence_floor: float
    max_words: int
    max_characters: int
    yes_emoji: Tuple[str, ...]


@lru_cache(maxsize=4)
def load_yes_rule(path: Path = DEFAULT_PATH) -> YesRule:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    floor = float(data["confidence_floor"])
    if not 0.0 < floor <= 1.0:
        raise ValueError(f"{path}: confidence_floor must be above 0 and at most 1, not {floor}")
    emoji = tuple(_plain(str(e)) for e in data.get("yes_emoji") or ())
    if any(not e for e in emoji):
        raise ValueError(f"{path}: yes_emoji has an empty entry")
    return YesRule(floor, int(data["max_words"]), int(data["max_characters"]), emoji)


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFC", text) if c not in _EMOJI_MODIFIERS).strip()


def _without_yes_emoji(text: str, rule: YesRule) -> str:
    for emoji in sorted(rule.yes_emoji, key=len, reverse=True):
        text = text.replace(emoji, " ")
    return text


def is_yes_emoji(text: object, rule: YesRule) -> bool:
    """A message of only listed yes emoji (a few of them): a yes, whatever the NLU says."""
    if not isinstance(text, str) or len(text) > rule.max_characters:
        return False
    plain = _plain(text)
    return bool(plain) and len(plain.split()) <= rule.max_words and not _without_yes_emoji(plain, rule).strip()


def _foreign(character: str) -> bool:
    """Not part of a yes in words: symbols and emoji, invisible and control characters, brackets, quotes."""
    return not (character.isalnum() or character.isspace() or character in _PUNCTUATION)


def why_not_a_clear_yes(text: object, intent: Optional[str], confidence: Optional[float], rule: YesRule) -> Optional[str]:
    """None when this typed message is clearly a yes; otherwise why not (for the audit log)."""
    if not isinstance(text, str) or not text.strip():
        return "an empty message"
    if is_yes_emoji(text, rule):
        return None
    if len(text) > rule.max_characters or len(text.split()) > rule.max_words:
        return f"too long for a yes ({len(text.split())} words, {len(text)} characters)"
    foreign = sorted({c for c in _without_yes_emoji(_plain(text), rule) if _foreign(c)})
    if foreign:
        return f"made of more than a yes ({', '.join(repr(c) for c in foreign[:5])})"
    if intent != YES_INTENT:
        return f"not read as a yes ({intent})"
    if (confidence or 0.0) < rule.confidence_floor:
        return f"read as a yes with confidence {confidence or 0.0:.2f}, below the floor {rule.confidence_floor}"
    return None


def yes_parse_data(text: str) -> dict:
    """What Rasa stores for a message of listed yes emoji: the intent affirm, no entities."""
    intent = {"name": YES_INTENT, "confidence": 1.0}
    return {"text": text, "intent": intent, "entities": [], "intent_ranking": [intent]}
