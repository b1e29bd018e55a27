"""A spoken code is read back and held; only the same person's spoken yes right after sends it
(docs/voice.md, "Codes by voice")."""
from types import SimpleNamespace

from channels.voice import VoiceInput, person_of, voice_devices


def channel():
    return SimpleNamespace(held_codes={})


def test_a_spoken_code_is_read_back_not_sent():
    voice = channel()
    text, replies = VoiceInput.code_step(voice, "alice", "code is 420917")
    assert text is None
    assert replies == ["I heard the code 4 2 0 9 1 7. Say yes to send it, or say the code again, or type it."]


def test_a_yes_right_after_sends_the_held_code_once():
    voice = channel()
    VoiceInput.code_step(voice, "alice", "420917")
    assert VoiceInput.code_step(voice, "alice", "yes") == ("420917", [])
    assert VoiceInput.code_step(voice, "alice", "yes") == ("yes", [])  # sent once; then a yes is a yes


def test_a_misheard_code_said_again_replaces_it_and_anything_else_drops_it():
    voice = channel()
    VoiceInput.code_step(voice, "alice", "420911")
    VoiceInput.code_step(voice, "alice", "420917")
    assert VoiceInput.code_step(voice, "alice", "yes") == ("420917", [])
    VoiceInput.code_step(voice, "alice", "420917")
    assert VoiceInput.code_step(voice, "alice", "no") == ("no", [])
    assert VoiceInput.code_step(voice, "alice", "yes") == ("yes", [])


def test_nobody_else_can_send_a_held_code():
    voice = channel()
    VoiceInput.code_step(voice, "alice", "420917")
    assert VoiceInput.code_step(voice, "bob", "yes") == ("yes", [])
    assert VoiceInput.code_step(voice, "alice", "yes") == ("420917", [])


def test_devices_are_configured_per_person_with_long_tokens_only():
    devices = voice_devices("marvin", {"MARVIN_VOICE_DEVICES": "alice:a-long-enough-device-token, bob:short"})
    assert devices == {"a-long-enough-device-token": "alice"}
    assert person_of("a-long-enough-device-token", devices) == "alice"
    assert person_of("a-long-enough-device-tokeN", devices) is None
    assert person_of(None, devices) is None
