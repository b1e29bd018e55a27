"""The voice channel on synthetic speech: `python -m bench.voice [--quick]`.

Commands spoken by espeak-ng in several voices and speeds, some with white noise mixed in by
sox, plus silence, noise, out-of-domain and reversed speech. Prints, overall and by voice and
by noise condition: how often a command was acted on, intent accuracy (acted on with the right
kind of command), wrong acts (acted on as the wrong command), exact versions, exact codes,
refusals heard as a yes, non-speech acted on, and recognition seconds per second of audio.
Synthetic speech is much easier than people in a noisy room (docs/voice.md).
"""
from __future__ import annotations

import argparse
import collections
import itertools
import time

from deploybot.adapters.voice.audio import read_recording
from deploybot.adapters.voice.recognizer import Recognizer
from deploybot.domain.catalog import load_catalog
from tests.voice import noise_wav, silence_wav, spoken_wav

COMMANDS = [  # (said, kind, version or code)
    ("marvin deploy c m s one point zero point two to staging", "deploy", "1.0.2"),
    ("deploy shop two point one point zero to production", "deploy", "2.1.0"),
    ("bender deploy billing three point four point one", "deploy", "3.4.1"),
    ("deploy search api version one point two to staging", "deploy", "1.2"),
    ("deploy crm one oh two", "deploy", "1.0.2"),
    ("deploy intranet four point zero point one to staging", "deploy", "4.0.1"),
    ("yes", "yes", None), ("yes please", "yes", None), ("go ahead", "yes", None),
    ("no", "no", None), ("don't", "no", None), ("not now", "no", None), ("no thanks", "no", None),
    ("one two three four five six", "code", "123456"), ("my code is four two zero nine one seven", "code", "420917"),
    ("eight oh three three one one", "code", "803311"),
    ("lock production", "lock", None), ("unlock staging", "unlock", None),
    ("roll back billing on production", "rollback", None), ("approve it", "approve", None),
    ("reject", "reject", None), ("cancel the deployment", "cancel", None), ("status of shop", "status", None),
]
NOT_COMMANDS = [
    ("silence", lambda: silence_wav(2)), ("pink noise", lambda: noise_wav(2, "pinknoise", 0.3)),
    ("white noise", lambda: noise_wav(2, "whitenoise", 0.5)),
    ("out of domain", lambda: spoken_wav("the weather is lovely today and I want some coffee")),
    ("out of domain", lambda: spoken_wav("what a pity, the cat sat on the mat", voice="en-gb")),
    ("out of domain", lambda: spoken_wav("please order pizza for the team meeting", voice="en-us+f3")),
    ("reversed", lambda: spoken_wav("marvin deploy shop two point one to staging", reverse=True)),
    ("reversed", lambda: spoken_wav("yes please go ahead", reverse=True)),
]
VOICES = [("en-us", 160), ("en-gb", 150), ("en-us+f3", 170), ("en-gb+m3", 140)]
NOISES = [0.0, 0.03]
YES_WORDS = {"yeah please", "yep please", "yes", "yeah", "yep", "yes please", "yes go ahead", "go ahead", "do it", "confirm", "yes do it"}


def kind_of(text: str) -> str:
    words = text.split()
    while words and words[0] in ("marvin", "bender", "hey", "ok", "please"):
        words = words[1:]
    if words[-1:] == ["please"] and len(words) > 1:  # "yep please": the grammar allows a trailing please
        words = words[:-1]
    text = " ".join(words)
    if text in YES_WORDS:
        return "yes"
    if text.replace("code is ", "").replace("my ", "").isdigit():
        return "code"
    first = words[0] if words else ""
    return {"don't": "no", "do": "no", "nope": "no", "not": "no", "stop": "no", "roll": "rollback", "what": "status",
            "abort": "cancel", "i": "approve"}.get(first, first)


def value_of(text: str, kind: str):
    for word in text.split():
        if kind == "code" and word.isdigit():
            return word
        if kind == "deploy" and word[:1].isdigit():
            return word
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="two voices, no noise")
    options = parser.parse_args()
    voices = VOICES[:2] if options.quick else VOICES
    noises = NOISES[:1] if options.quick else NOISES
    recognizer = Recognizer(load_catalog(), ["Marvin", "Bender"])
    rows = []  # (voice, noise, kind, acted, right_kind, right_value, refusal_as_yes, seconds, audio_seconds)
    for (voice, speed), noise, (said, kind, value) in itertools.product(voices, noises, COMMANDS):
        pcm = read_recording(spoken_wav(said, voice=voice, speed=speed, noise=noise)).pcm
        started = time.perf_counter()
        heard = recognizer.hear(pcm)
        seconds = time.perf_counter() - started
        got = kind_of(heard.text) if heard.accepted else None
        rows.append((voice, f"noise {noise}", kind, heard.accepted, got == kind,
                     value is None or (got == kind and value_of(heard.text, kind) == value),
                     kind == "no" and got in ("yes", "code"), seconds, len(pcm) / 32000))
    non_speech = []
    for name, make in NOT_COMMANDS:
        pcm = read_recording(make()).pcm
        heard = recognizer.hear(pcm)
        non_speech.append((name, heard.accepted, heard.text))

    def report(label, subset):
        n = len(subset)
        acted = sum(r[3] for r in subset)
        right = sum(r[4] for r in subset)
        wrong = sum(r[3] and not r[4] for r in subset)
        versions = [r for r in subset if r[2] == "deploy"]
        codes = [r for r in subset if r[2] == "code"]
        speed = sum(r[7] for r in subset) / sum(r[8] for r in subset)
        print(f"{label:22} n={n:3}  acted {acted / n:.2f}  intent {right / n:.2f}  wrong acts {wrong:2}  "
              f"versions {sum(r[5] for r in versions) / max(len(versions), 1):.2f}  "
              f"codes {sum(r[5] for r in codes) / max(len(codes), 1):.2f}  "
              f"refusals as yes {sum(r[6] for r in subset)}  {speed:.2f} s/s")

    report("overall", rows)
    for voice, _ in voices:
        report(voice, [r for r in rows if r[0] == voice])
    for noise in noises:
        report(f"noise {noise}", [r for r in rows if r[1] == f"noise {noise}"])
    by_kind = collections.defaultdict(list)
    for r in rows:
        by_kind[r[2]].append(r)
    for kind, subset in sorted(by_kind.items()):
        report(f"  {kind}", subset)
    acted_on = [(name, text) for name, accepted, text in non_speech if accepted]
    print(f"non-speech and out-of-domain clips: {len(non_speech)}, acted on: {len(acted_on)} {acted_on}")


if __name__ == "__main__":
    main()
