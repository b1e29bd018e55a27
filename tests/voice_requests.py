"""Requests to a bot's voice channel (POST /webhooks/voice/webhook), as a voice device sends them."""
import json
import urllib.error
import urllib.request

from tests.support import VOICE_DEVICES


def say(bot, wav: bytes, person: str = "voice-alice", device_token=None, token=None, speak=False,
        content_type="audio/wav", query=""):
    """(status, JSON answer) of one spoken request; the device token is person's unless given."""
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token or bot.token}"}
    device = VOICE_DEVICES.get(person) if device_token is None else device_token
    if device:
        headers["X-Voice-Device"] = device
    url = f"{bot.url}/webhooks/voice/webhook?" + ("speak=1" if speak else "") + query
    request = urllib.request.Request(url, data=wav, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")
