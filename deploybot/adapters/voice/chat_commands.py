"""The terminal chat's voice commands: /say FILE.wav sends a recording, /listen records from a
microphone. What was understood is shown before it is sent, through the same path as typing."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Tuple

from deploybot.adapters.voice.audio import SAMPLE_RATE, AudioError, read_recording
from deploybot.adapters.voice.recognizer import Heard, recognizer_for
from deploybot.domain.catalog import DEFAULT_CATALOG_PATH, load_catalog

LISTEN_SECONDS = 5
NO_MICROPHONE = ("(no microphone here: {why}. Use /say FILE.wav with a 16 kHz mono WAV, or type.)")


def is_voice_command(line: str) -> bool:
    return line == "/listen" or line.startswith("/say")


def voice_line(line: str, bot_names: Iterable[str]) -> Tuple[str, Optional[str]]:
    """(what to show, the text to send or None) for a /say or /listen line."""
    if line == "/listen":
        pcm, problem = record_from_microphone()
        if problem:
            return NO_MICROPHONE.format(why=problem), None
    else:
        path = line[len("/say"):].strip()
        if not path:
            return "(say which recording: /say FILE.wav)", None
        try:
            pcm = read_recording(Path(path).expanduser().read_bytes()).pcm
        except OSError as error:
            return f"(cannot read {path}: {error.strerror or error})", None
        except AudioError as problem:
            return f"({problem})", None
    heard = recognizer_for(Path(DEFAULT_CATALOG_PATH), bot_names, load_catalog).hear(pcm)
    return shown(heard)


def shown(heard: Heard) -> Tuple[str, Optional[str]]:
    if not heard.accepted:
        return f"({heard.answer})", None
    if heard.text.replace("code is ", "").isdigit():  # a code is only ever sent as typed (docs/voice.md)
        return f"(heard the code {' '.join(heard.text[-6:])}: type it to send it)", None
    return f"(heard: {heard.text})", heard.text


def record_from_microphone() -> Tuple[bytes, Optional[str]]:
    try:
        import sounddevice
    except (ImportError, OSError) as error:  # OSError: the PortAudio library itself is missing
        return b"", f"sounddevice cannot be used ({error})"
    try:
        sounddevice.check_input_settings(samplerate=SAMPLE_RATE, channels=1, dtype="int16")
        print(f"(listening for {LISTEN_SECONDS} seconds...)", flush=True)
        frames = sounddevice.rec(LISTEN_SECONDS * SAMPLE_RATE, samplerate=SAMPLE_RATE, channels=1, dtype="int16")
        sounddevice.wait()
    except Exception as error:  # PortAudioError, ValueError: no input device
        return b"", f"no input device ({error})"
    return frames.tobytes(), None
