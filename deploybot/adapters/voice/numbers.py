"""Spoken digits back into the text the NLU reads: "one point zero point two" -> "1.0.2",
"one oh two" -> "1.0.2" (a version), six digits -> "123456" (a two-factor code)."""
from __future__ import annotations

from typing import List

DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
          "six": "6", "seven": "7", "eight": "8", "nine": "9"}
POINT = "point"
CODE_LENGTH = 6


def normalise(words: List[str]) -> str:
    """The words with each run of spoken digits written as the NLU expects it."""
    out: List[str] = []
    run: List[str] = []
    for word in words + [""]:
        if word in DIGITS or (word == POINT and run and run[-1] != POINT):
            run.append(word)
            continue
        out.extend(_written(run))
        run = []
        if word:
            out.append(word)
    return " ".join(out)


def _written(run: List[str]) -> List[str]:
    trailing_point = run and run[-1] == POINT
    if trailing_point:
        run = run[:-1]
    if not run:
        return [POINT] if trailing_point else []
    if POINT in run:
        text = ".".join("".join(DIGITS[w] for w in part) for part in _split(run))
    elif len(run) in (2, 3):  # "one oh two": a version said digit by digit
        text = ".".join(DIGITS[w] for w in run)
    else:  # six digits are a code; other lengths stay digits and the NLU decides
        text = "".join(DIGITS[w] for w in run)
    return [text] + ([POINT] if trailing_point else [])


def _split(run: List[str]) -> List[List[str]]:
    parts: List[List[str]] = [[]]
    for word in run:
        if word == POINT:
            parts.append([])
        else:
            parts[-1].append(word)
    return parts
