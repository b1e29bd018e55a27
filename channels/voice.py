"""POST /webhooks/voice/webhook: a spoken command from a voice device (docs/voice.md).

A voice device (a phone shortcut, a smart-speaker bridge, a headset) is one person's. It
proves itself with two secrets: the bot's API token (as channels/authenticated.py) and its
own device token (`X-Voice-Device: <token>` or ?device=<token>), configured per person in
<BOT>_VOICE_DEVICES="alice:<token>,bob:<token>". The speaker is whoever the device token
belongs to; a request cannot name anyone.

The body is a 16 kHz mono 16-bit WAV (or raw PCM with Content-Type audio/l16), at most 30 s
and 2 MB. What is heard goes through the same NLU and dialogue as typed text, but only when
the recogniser is sure (deploybot.adapters.voice.recognizer); otherwise the answer is "I heard
'…'. Say it again, or type it." and nothing reaches the conversation. The answer is JSON:
{"heard", "understood", "confidence", "replies": [texts], "speech": base64 WAV with ?speak=1}.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from channels.authenticated import TokenGate
from deploybot.adapters.voice.audio import MAX_BYTES, AudioError, read_recording
from deploybot.adapters.voice.recognizer import recognizer_for
from deploybot.adapters.voice.speech import speak
from deploybot.domain.catalog import DEFAULT_CATALOG_PATH, load_catalog
from deploybot.domain.profiles import load_profiles
from deploybot.policy.identity import is_plain_id, is_slack_id, same_secret

log = logging.getLogger(__name__)

# A spoken code is read back and sent only after a spoken yes (docs/voice.md, "Codes by voice"):
# a misheard code is then said again instead of costing one of the five tries.
CODE = re.compile(r"^(?:(?:my )?code (?:is )?)?(\d{6})$")
CODE_HELD_SECONDS = 120
CONFIRM_CODE = {"yes", "yeah", "yep", "yes please", "confirm"}


def voice_devices(bot_id: str, environ=os.environ) -> Dict[str, str]:
    """{device token: person} from <BOT>_VOICE_DEVICES="alice:<token>,bob:<token>"."""
    devices = {}
    for entry in environ.get(f"{bot_id.upper()}_VOICE_DEVICES", "").split(","):
        person, _, token = entry.strip().partition(":")
        if person and len(token) >= 16:  # a short token is guessable: such a device is not configured
            devices[token] = person
    return devices


def person_of(device_token: Optional[str], devices: Dict[str, str]) -> Optional[str]:
    found = None
    for token, person in devices.items():  # every entry compared, in constant time
        if same_secret(device_token, token):
            found = person
    return found


class VoiceInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "voice"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "VoiceInput":
        return cls()

    def __init__(self) -> None:
        self.gate = TokenGate(self.name())
        profiles = load_profiles()
        self.bot_names = [p.name for p in profiles.values()]
        self.devices = voice_devices(self.gate.profile_id)
        self.held_codes: Dict[str, tuple] = {}  # person -> (code, until): read back, not yet sent

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        voice = Blueprint("voice_webhook", __name__)

        @voice.route("/", methods=["GET"])
        async def health(request: Request):
            return response.json({"status": "ok"})

        @voice.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            return await self.receive(request, on_new_message)

        return voice

    async def receive(self, request: Request, on_new_message) -> response.HTTPResponse:
        refusal = await self.gate.token_refusal(request)
        if refusal:
            return refusal
        person = person_of(request.headers.get("x-voice-device") or request.args.get("device"), self.devices)
        if person is None or not is_plain_id(person) or (is_slack_id(person) and not self.gate.slack_ids_allowed):
            await self.gate.audit_refusal("no configured voice device token", None, request)
            return response.json({"error": "A voice device token configured for a person is required "
                                           "(X-Voice-Device: <token>)."}, status=HTTPStatus.UNAUTHORIZED)
        body = request.body or b""
        try:
            recording = read_recording(body, raw=request.headers.get("content-type", "").startswith("audio/l16"))
        except AudioError as problem:
            status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if len(body) > MAX_BYTES else HTTPStatus.BAD_REQUEST
            return response.json({"error": str(problem)}, status=status)
        recognizer = recognizer_for(Path(DEFAULT_CATALOG_PATH), self.bot_names, load_catalog)
        heard = await asyncio.to_thread(recognizer.hear, recording.pcm)
        log.info("voice from %s: heard %r (confidence %.2f, %s)", person, heard.text, heard.confidence,
                 "accepted" if heard.accepted else "not acted on")
        if not heard.accepted:
            replies = [heard.answer]
        else:
            text, replies = self.code_step(person, heard.text)
            if text:
                collector = CollectingOutputChannel()
                await on_new_message(UserMessage(text, collector, person, input_channel=self.name()))
                replies = [m["text"] for m in collector.messages if m.get("text")]
        answer = {"heard": heard.text, "understood": heard.accepted, "confidence": heard.confidence,
                  "replies": replies}
        if request.args.get("speak") in ("1", "true", "yes"):
            wav = await asyncio.to_thread(speak, " ".join(replies))
            answer["speech"] = base64.b64encode(wav).decode() if wav else None
        return response.json(answer)

    def code_step(self, person: str, text: str) -> tuple:
        """(text to pass on, or None; replies instead). A spoken code is held and read back; a
        spoken yes right after sends it; anything else drops it."""
        held = self.held_codes.pop(person, None)
        code = CODE.match(text)
        if code:
            self.held_codes[person] = (code.group(1), time.monotonic() + CODE_HELD_SECONDS)
            digits = " ".join(code.group(1))
            return None, [f"I heard the code {digits}. Say yes to send it, or say the code again, or type it."]
        if held and held[1] > time.monotonic() and text in CONFIRM_CODE:
            return held[0], []
        return text, []
