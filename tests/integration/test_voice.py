"""A spoken staging deploy end to end over the voice channel: recognised, restated, a spoken
yes, the Jenkins build, the report (docs/voice.md)."""
import base64

from tests.support import deployments
from tests.voice import needs_speech_tools, spoken_wav
from tests.voice_requests import say

pytestmark = needs_speech_tools


def test_a_spoken_staging_deploy_runs_and_is_reported(marvin, stack):
    person = "voice-alice"
    status, answer = say(marvin, spoken_wav("marvin deploy c m s one point zero point two to staging"))
    assert status == 200, answer
    assert (answer["heard"], answer["understood"]) == ("marvin deploy cms 1.0.2 to staging", True)
    assert answer["replies"] == ["Deploy Content Management System 1.0.2 to staging? (yes/no)"]

    status, answer = say(marvin, spoken_wav("yes"), speak=True)
    assert status == 200, answer
    assert answer["heard"] == "yes"
    assert answer["replies"][0].startswith("OK, deploying Content Management System 1.0.2 to staging")
    assert base64.b64decode(answer["speech"])[:4] == b"RIFF"  # the reply, spoken by espeak-ng

    [done] = marvin.wait_for(person, "Content Management System: deployed")
    assert done.startswith("Content Management System: deployed version 1.0.2 to staging")
    [build] = [b for b in stack.jenkins.builds("deploy-cms") if b["parameters"].get("REQUESTED_BY") == person]
    assert (build["parameters"]["VERSION"], build["parameters"]["ENVIRONMENT"]) == ("1.0.2", "staging")
    [record] = deployments(stack, requested_by=person)
    assert (record.app, record.version, record.state) == ("cms", "1.0.2", "succeeded")


def test_speech_the_recogniser_is_unsure_of_is_never_passed_on(marvin, stack):
    status, answer = say(marvin, spoken_wav("the weather is lovely today and I want some coffee"), person="voice-bob")
    assert status == 200, answer
    assert answer["understood"] is False
    assert answer["replies"][0].endswith("Say it again, or type it.")
    assert marvin.said("voice-bob") == []  # nothing reached the conversation


def test_the_terminal_chat_sends_a_recording_and_shows_what_it_understood(stack, tmp_path):
    from tests.integration.test_terminal_chat import Chat
    from tests.support import new_user_id

    recording = tmp_path / "deploy.wav"
    recording.write_bytes(spoken_wav("marvin deploy c m s one point zero point two to staging"))
    chat = Chat(stack.env, user=new_user_id())
    try:
        chat.type(f"/say {recording}")
        chat.expect("(heard: marvin deploy cms 1.0.2 to staging)", timeout=60)
        chat.expect("Marvin: Deploy Content Management System 1.0.2 to staging? (yes/no)")
        chat.type("no")
        chat.type("/listen")  # the test machine has no microphone
        chat.expect_start("(no microphone here: ", timeout=60)
        chat.type(f"/say {tmp_path / 'missing.wav'}")
        chat.expect_start("(cannot read ")
    finally:
        chat.process.terminate()
        chat.process.wait(timeout=10)
