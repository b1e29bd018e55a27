"""Decode a recording with the catalog's grammar, and decide whether it was heard well enough
to pass on as a command.

pocketsphinx's grammar search always returns *some* path of the grammar, and no usable
confidence. So the audio is decoded twice:
1. with the command grammar alone: the best command sentence for the sound;
2. with the same grammar competing against a garbage model, a loop of single English phones
   that can explain any sound at all, each phone paying a word-insertion penalty.
Speech that really is a command is explained better (at the penalty) by the command than by
garbage, and both decodes agree; noise, silence, reversed or out-of-domain speech is won by the
garbage loop or lands on different sentences. The confidence is 1.0 when both decodes give the
same complete sentence, 0.5 when the second gives a different sentence, 0.0 otherwise; only 1.0
is acted on. The penalty (GARBAGE_PENALTY) is what is calibrated on synthetic speech
(docs/voice.md, bench/voice.py): lower lets more commands through and, below 0.05, let reversed
speech through as a "yes".
"""
from __future__ import annotations

import array
import hashlib
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, List, Optional

from pocketsphinx import Config, Decoder

from deploybot.adapters.voice import lexicon
from deploybot.adapters.voice.audio import SAMPLE_RATE
from deploybot.adapters.voice.grammar import build_grammar
from deploybot.adapters.voice.numbers import normalise
from deploybot.domain.catalog import Catalog

GARBAGE_PENALTY = 0.05   # word-insertion penalty of the garbage decode (calibrated)
PADDING_SECONDS = 0.3    # silence added around a recording: the models expect some before speech
MIN_RMS = 100            # below this the recording is silence (16-bit samples)
PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH "
          "UH UW V W Y Z ZH").split()
GARBAGE_WORD = "garbage{}"

UNSURE = "I heard '{heard}'. Say it again, or type it."
NOTHING = "I heard nothing I understand. Say it again, or type it."


@dataclass(frozen=True)
class Heard:
    words: str          # what the grammar search heard, as words ("" for nothing)
    text: str           # the words as the NLU reads them ("deploy cms 1.0.2 to staging")
    confidence: float   # 0..1
    accepted: bool      # pass text on as a command

    @property
    def answer(self) -> Optional[str]:
        """What to say instead of acting, when not accepted."""
        if self.accepted:
            return None
        return UNSURE.format(heard=self.text) if self.text else NOTHING


def rms(pcm: bytes) -> float:
    samples = array.array("h", pcm[: len(pcm) // 2 * 2])
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


class Recognizer:
    """One decoder for one catalog; decode() is serialised (a pocketsphinx decoder is not thread-safe)."""

    def __init__(self, catalog: Catalog, bot_names: Iterable[str], cache_dir: Optional[Path] = None):
        grammar = build_grammar(catalog, bot_names)
        self.grammar = grammar
        self.key = grammar.key
        self.commands = self._decoder(grammar, grammar.jsgf, wip=0.65)
        garbage = " | ".join(GARBAGE_WORD.format(p.lower()) for p in PHONES)
        with_garbage = grammar.jsgf.replace(
            "public <utterance> = [ <bot> ] <command> [ please ] ;",
            f"public <utterance> = ( [ <bot> ] <command> [ please ] ) | <garbage> ;\n<garbage> = ( {garbage} ) + ;")
        self.garbage = self._decoder(grammar, with_garbage, wip=GARBAGE_PENALTY)
        self.lock = threading.Lock()
        if cache_dir:  # for people who want to read what the bots listen for
            cache_dir.mkdir(parents=True, exist_ok=True)
            (cache_dir / f"grammar-{self.key}.jsgf").write_text(grammar.jsgf)

    @staticmethod
    def _decoder(grammar, jsgf: str, wip: float) -> Decoder:
        # bestpath off: the lattice pass cut "to staging" off the end of commands
        decoder = Decoder(Config(hmm=os.path.join(lexicon.MODEL_DIR, "en-us"), dict=lexicon.DICTIONARY,
                                 loglevel="FATAL", lm=None, bestpath=False, wip=wip))
        for word, phones in grammar.pronunciations.items():
            decoder.add_word(word, phones, False)
        if "<garbage>" in jsgf:
            for phone in PHONES:
                decoder.add_word(GARBAGE_WORD.format(phone.lower()), phone, False)
        decoder.add_jsgf_string("commands", jsgf)
        decoder.activate_search("commands")
        return decoder

    @staticmethod
    def _words(decoder: Decoder, pcm: bytes) -> str:
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return " ".join(w for w in (hyp.hypstr if hyp else "").split() if not w.startswith("<"))

    def hear(self, pcm: bytes) -> Heard:
        if rms(pcm) < MIN_RMS:
            return Heard("", "", 0.0, False)
        padding = b"\0\0" * int(PADDING_SECONDS * SAMPLE_RATE)
        pcm = padding + pcm + padding
        with self.lock:
            words = self._words(self.commands, pcm)
            second = self._words(self.garbage, pcm)
        if not words or not self.grammar.is_sentence(words):
            return Heard(words, normalise(words.split()), 0.0, False)
        confidence = 1.0 if second == words else 0.5 if self.grammar.is_sentence(second) else 0.0
        return Heard(words, normalise(words.split()), confidence, confidence == 1.0)


_recognizers: dict = {}
_recognizers_lock = threading.Lock()


def recognizer_for(catalog_path: Path, bot_names: Iterable[str], load: Callable[[Path], Catalog],
                   cache_dir: Optional[Path] = None) -> Recognizer:
    """The recognizer of the catalog as it is now: a changed apps.yml gives a new grammar."""
    names = tuple(sorted(bot_names))
    key = (hashlib.sha256(Path(catalog_path).read_bytes()).hexdigest(), names)
    with _recognizers_lock:
        if key not in _recognizers:
            _recognizers.clear()
            _recognizers[key] = Recognizer(load(catalog_path), names, cache_dir)
        return _recognizers[key]
