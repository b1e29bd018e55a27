"""Recordings the voice channel accepts: 16 kHz, mono, 16-bit PCM, as WAV or raw, within limits."""
from __future__ import annotations

import io
import wave
from dataclasses import dataclass

SAMPLE_RATE = 16000
MAX_SECONDS = 30          # a spoken command takes a few seconds; longer is not a command
MAX_BYTES = 2 * 1024 * 1024


class AudioError(ValueError):
    """The recording cannot be used; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class Recording:
    pcm: bytes  # 16 kHz mono signed 16-bit little-endian

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE


def read_recording(body: bytes, raw: bool = False) -> Recording:
    """The PCM of a WAV file (or of raw PCM when raw), or AudioError saying what is wrong."""
    if len(body) > MAX_BYTES:
        raise AudioError(f"The recording is larger than {MAX_BYTES // 1024 // 1024} MB: "
                         f"say one command of at most {MAX_SECONDS} seconds.")
    if raw:
        pcm = body[: len(body) // 2 * 2]
    else:
        pcm = _wav_pcm(body)
    recording = Recording(pcm)
    if recording.seconds > MAX_SECONDS:
        raise AudioError(f"The recording is {recording.seconds:.0f} seconds long: "
                         f"say one command of at most {MAX_SECONDS} seconds.")
    if recording.seconds < 0.1:
        raise AudioError("The recording is empty.")
    return recording


def _wav_pcm(body: bytes) -> bytes:
    if body[:4] != b"RIFF" or body[8:12] != b"WAVE":
        raise AudioError("This is not a WAV file: send a 16 kHz mono 16-bit WAV, "
                         "or raw 16 kHz 16-bit PCM with Content-Type: audio/l16.")
    try:
        with wave.open(io.BytesIO(body)) as wav:
            shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
            if shape != (SAMPLE_RATE, 1, 2):
                raise AudioError(f"The WAV is {shape[0]} Hz, {shape[1]} channel(s), {shape[2] * 8}-bit: "
                                 "send 16000 Hz, mono, 16-bit.")
            return wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as error:
        raise AudioError(f"The WAV file cannot be read ({error}).") from None


def to_wav(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return out.getvalue()
