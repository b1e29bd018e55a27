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
