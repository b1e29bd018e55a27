"""Recognition of synthetic speech (espeak-ng, sox): what is passed on as a command, and what
never is. A few clips only; the larger set is bench/voice.py."""
import pytest

from deploybot.adapters.voice.audio import AudioError, read_recording
from deploybot.adapters.voice.recognizer import Recognizer
from deploybot.domain.catalog import load_catalog
from tests.voice import needs_speech_tools, noise_wav, silence_wav, spoken_wav

pytestmark = needs_speech_tools


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer(load_catalog(), ["Marvin", "Bender"])


def heard(recognizer, wav):
    return recognizer.hear(read_recording(wav).pcm)


@pytest.mark.parametrize("said, text", [
    ("marvin deploy c m s one point zero point two to staging", "marvin deploy cms 1.0.2 to staging"),
    ("yes", "yes"),
    ("one two three four five six", "123456"),
    ("my code is four two zero nine one seven", "code is 420917"),
])
def test_commands_are_heard_and_passed_on(recognizer, said, text):
    result = heard(recognizer, spoken_wav(said))
    assert (result.text, result.accepted) == (text, True)


def test_a_yes_in_noise_is_still_heard(recognizer):
    assert heard(recognizer, spoken_wav("yes", voice="en-us+f3", noise=0.05)).text == "yes"


@pytest.mark.parametrize("refusal", ["no", "don't", "not now", "no thanks"])
def test_a_refusal_is_never_heard_as_a_yes_or_a_code(recognizer, refusal):
    for voice in ("en-us", "en-gb"):
        result = heard(recognizer, spoken_wav(refusal, voice=voice))
        assert not (result.accepted and (result.text in ("yes", "yeah", "yep", "go ahead", "do it", "confirm")
                                         or result.text.replace(" ", "").isdigit())), (refusal, voice, result)


@pytest.mark.parametrize("clip", [
    lambda: silence_wav(),
    lambda: noise_wav(kind="pinknoise"),
    lambda: noise_wav(kind="whitenoise", volume=0.5),
    lambda: spoken_wav("the weather is lovely today and I want some coffee"),
    lambda: spoken_wav("what a pity, the cat sat on the mat"),
    lambda: spoken_wav("marvin deploy shop two point one to staging", reverse=True),
], ids=["silence", "pink-noise", "white-noise", "out-of-domain", "out-of-domain-2", "reversed"])
def test_non_speech_and_out_of_domain_speech_are_never_passed_on(recognizer, clip):
    result = heard(recognizer, clip())
    assert not result.accepted, result
    assert result.answer.endswith("Say it again, or type it.")


def test_recordings_that_are_no_command_get_a_clear_refusal():
    with pytest.raises(AudioError, match="not a WAV file"):
        read_recording(b"%PDF-1.4 not audio at all" * 10)
    with pytest.raises(AudioError, match="at most 30 seconds"):
        read_recording(b"\0\0" * 16000 * 31, raw=True)
    with pytest.raises(AudioError, match="larger than 2 MB"):
        read_recording(b"\0" * (3 * 1024 * 1024), raw=True)
