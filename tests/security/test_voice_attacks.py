"""Attacks on the voice channel (channels/voice.py) against the running stack: the speaker is
whoever the device token belongs to; bad recordings get a clear answer and deploy nothing."""
import pytest

from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.support import deployments
from tests.voice import needs_speech_tools, noise_wav, spoken_wav
from tests.voice_requests import say

pytestmark = needs_speech_tools


def test_a_request_cannot_name_the_speaker(marvin, stack):
    # Bob's device, with Alice named every way a caller might try: the speaker stays Bob.
    alices = len(deployments(stack, requested_by="voice-alice"))
    status, answer = say(marvin, spoken_wav("marvin deploy c m s one point zero point two to staging"),
                         person="voice-bob", query="&sender=voice-alice&person=voice-alice")
    assert status == 200, answer
    assert answer["understood"] is True, answer
    assert "voice-alice" not in str(marvin.tracker("voice-bob"))
    assert marvin.said("voice-bob")  # Bob's conversation got the request
    assert len(deployments(stack, requested_by="voice-alice")) == alices


def test_no_device_token_or_someone_elses_api_token_is_refused_and_audited(marvin, bender, stack):
    wav = spoken_wav("yes")
    since = last_audit_id(stack)
    status, answer = say(marvin, wav, device_token="")
    assert status == 401 and "voice device token" in answer["error"]
    status, answer = say(marvin, wav, device_token="alice-voice-device-token-not-secreT")
    assert status == 401
    status, answer = say(marvin, wav, token=bender.token)
    assert status == 401 and "API token" in answer["error"]
    refused(stack, "voice_request", since, containing="no configured voice device token")
    refused(stack, "voice_request", since, containing="no valid API token")


@pytest.mark.parametrize("body, content_type, status, message", [
    (b"%PDF-1.4 " + b"x" * 4000, "application/pdf", 400, "not a WAV file"),
    (b"\0\0" * 16000 * 31, "audio/l16", 400, "at most 30 seconds"),
    (b"\0" * (3 * 1024 * 1024), "audio/wav", 413, "larger than 2 MB"),
], ids=["not-wav", "too-long", "too-large"])
def test_recordings_that_are_no_command_get_a_clear_answer_and_no_deploy(marvin, stack, body, content_type, status,
                                                                         message):
    got, answer = say(marvin, body, person="voice-carol", content_type=content_type)
    assert got == status, answer
    assert message in answer["error"]
    assert marvin.said("voice-carol") == []
    nothing_deployed(stack, requested_by="voice-carol")


def test_garbage_audio_is_not_acted_on(marvin, stack):
    for wav in (noise_wav(kind="whitenoise", volume=0.5),
                spoken_wav("marvin deploy shop two point one to staging", reverse=True)):
        status, answer = say(marvin, wav, person="voice-carol")
        assert status == 200 and answer["understood"] is False, answer
        assert answer["replies"][0].endswith("Say it again, or type it.")
    assert marvin.said("voice-carol") == []
    nothing_deployed(stack, requested_by="voice-carol")


DIGIT_WORDS = "zero one two three four five six seven eight nine".split()


def spoken_code_read_back(bender, code, person):
    """Says the code until the read-back holds exactly it (a misheard code is said again, as a
    person would; it costs no try); returns the recording that was read back right."""
    for speed in (160, 130, 190, 145):
        wav = spoken_wav(" ".join(DIGIT_WORDS[int(d)] for d in code), speed=speed)
        status, answer = say(bender, wav, person=person)
        assert status == 200, answer
        if answer["replies"] == [f"I heard the code {' '.join(code)}. Say yes to send it, or say the code again, "
                                 "or type it."]:
            return wav
    raise AssertionError(f"the code {code} was never read back right")


def test_a_spoken_code_is_read_back_and_a_replayed_recording_of_it_is_refused(safeguarded):
    from tests.safeguards import enrol, next_code
    from tests.support import ADMIN

    bender, person = safeguarded.bots["bender"], "voice-alice"
    app = enrol(bender, person)
    [granted] = bender.texts(ADMIN, f"@bender auth {person} cms")
    assert " may now deploy " in granted, granted
    request = spoken_wav("bender deploy c m s one point zero point two")  # production: Bender's default
    status, answer = say(bender, request, person=person)
    assert answer["replies"] == ["Deploy Content Management System 1.0.2 to production? (yes/no)"], answer
    yes = spoken_wav("yes")
    status, answer = say(bender, yes, person=person)
    assert answer["replies"][0].startswith("Deploy Content Management System 1.0.2 to production needs your second factor"), answer
    code = next_code(app)
    recording = spoken_code_read_back(bender, code, person)
    assert [d for d in deployments(safeguarded, requested_by=person) if d.state == "succeeded"] == []
    status, answer = say(bender, yes, person=person)  # the spoken yes sends the held code
    assert answer["replies"][0].startswith("OK, deploying Content Management System 1.0.2 to production"), answer
    bender.wait_for(person, "Content Management System: deployed version 1.0.2 to production in ")

    # The same recordings replayed on a new request: the code counts once.
    status, answer = say(bender, request, person=person)
    assert answer["replies"][-1].endswith("(yes/no)"), answer
    say(bender, yes, person=person)
    since = last_audit_id(safeguarded)
    status, answer = say(bender, recording, person=person)
    assert answer["replies"] == [f"I heard the code {' '.join(code)}. Say yes to send it, or say the code again, "
                                 "or type it."]
    status, answer = say(bender, yes, person=person)
    assert answer["replies"][0].startswith("That code was used already"), answer
    refused(safeguarded, "two_factor", since, actor=person, containing="code replayed")
    assert len([d for d in deployments(safeguarded, requested_by=person) if d.state == "succeeded"]) == 1
