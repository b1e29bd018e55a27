"""How words sound: pocketsphinx's dictionary, and pronunciations derived for words it lacks.

A catalog may name apps with words the CMU dictionary does not know ("intranet"). Their
pronunciation comes from espeak-ng's letter-to-sound rules (`-x --ipa`), mapped to the
dictionary's phones; without espeak-ng, a word is spelled letter by letter ("crm": C R M).
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from typing import Dict, List, Optional

import pocketsphinx

MODEL_DIR = os.path.join(pocketsphinx.get_model_path(), "en-us")
DICTIONARY = os.path.join(MODEL_DIR, "cmudict-en-us.dict")

# IPA (as espeak-ng writes American English) to the CMU dictionary's phones, longest first.
_IPA = [
    ("aɪə", "AY ER"), ("aɪ", "AY"), ("aʊ", "AW"), ("eɪ", "EY"), ("oʊ", "OW"), ("ɔɪ", "OY"),
    ("ɑːɹ", "AA R"), ("ɔːɹ", "AO R"), ("oːɹ", "AO R"), ("ɛɹ", "EH R"), ("ɪɹ", "IH R"), ("ʊɹ", "UH R"),
    ("ɜː", "ER"), ("ɚ", "ER"), ("ɝ", "ER"), ("tʃ", "CH"), ("dʒ", "JH"),
    ("ɑː", "AA"), ("ɑ", "AA"), ("ɔː", "AO"), ("ɔ", "AO"), ("oː", "OW"), ("o", "OW"), ("æ", "AE"),
    ("ʌ", "AH"), ("ə", "AH"), ("ɐ", "AH"), ("ɛ", "EH"), ("e", "EH"), ("ɪ", "IH"), ("ᵻ", "IH"),
    ("iː", "IY"), ("i", "IY"), ("ʊ", "UH"), ("uː", "UW"), ("u", "UW"), ("a", "AA"),
    ("b", "B"), ("d", "D"), ("ð", "DH"), ("f", "F"), ("ɡ", "G"), ("g", "G"), ("h", "HH"), ("j", "Y"),
    ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"), ("ŋ", "NG"), ("p", "P"), ("ɹ", "R"), ("r", "R"),
    ("s", "S"), ("ʃ", "SH"), ("t", "T"), ("ɾ", "T"), ("θ", "TH"), ("v", "V"), ("w", "W"), ("z", "Z"),
    ("ʒ", "ZH"), ("x", "K"),
]
_LETTERS = {  # a word spelled out, when nothing better is known
    "a": "EY", "b": "B IY", "c": "S IY", "d": "D IY", "e": "IY", "f": "EH F", "g": "JH IY",
    "h": "EY CH", "i": "AY", "j": "JH EY", "k": "K EY", "l": "EH L", "m": "EH M", "n": "EH N",
    "o": "OW", "p": "P IY", "q": "K Y UW", "r": "AA R", "s": "EH S", "t": "T IY", "u": "Y UW",
    "v": "V IY", "w": "D AH B AH L Y UW", "x": "EH K S", "y": "W AY", "z": "Z IY",
}


@functools.lru_cache(maxsize=1)
def dictionary_words() -> frozenset:
    with open(DICTIONARY, encoding="utf-8") as lines:
        return frozenset(line.split(" ", 1)[0] for line in lines if line.strip() and "(" not in line.split(" ", 1)[0])


def known(word: str) -> bool:
    return word in dictionary_words()


def ipa_to_phones(ipa: str) -> List[str]:
    ipa = re.sub(r"[ˈˌ\u0329\u0361ʔ-]", "", ipa)
    phones: List[str] = []
    i = 0
    while i < len(ipa):
        for symbol, arpabet in _IPA:
            if ipa.startswith(symbol, i):
                phones.extend(arpabet.split())
                i += len(symbol)
                break
        else:
            i += 1  # a mark we do not map (length, stress variants) carries no phone of its own
    return phones


def _espeak_ipa(word: str) -> Optional[str]:
    espeak = shutil.which("espeak-ng")
    if not espeak:
        return None
    result = subprocess.run([espeak, "-q", "-x", "--ipa", "-v", "en-us", word], capture_output=True, timeout=10)
    return result.stdout.decode("utf-8", "replace").strip() or None if result.returncode == 0 else None


def spelled(word: str) -> str:
    return " ".join(_LETTERS[c] for c in word if c in _LETTERS)


def pronunciation(word: str) -> str:
    """Phones for a word the dictionary lacks: espeak-ng's letter-to-sound, else its spelling."""
    ipa = _espeak_ipa(word)
    phones = ipa_to_phones(ipa) if ipa else []
    return " ".join(phones) if phones else spelled(word)


def missing_pronunciations(words) -> Dict[str, str]:
    return {word: pronunciation(word) for word in sorted(set(words)) if not known(word)}
