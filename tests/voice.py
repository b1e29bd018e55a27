"""Synthetic speech for the voice tests and bench/voice.py: espeak-ng speaks, sox converts to
16 kHz mono 16-bit and mixes in noise. Nothing is downloaded; every clip is made on the spot."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Optional

import pytest

# espeak-ng and sox make the synthetic speech; `make test` installs them (scripts/ensure-services).
# Missing, the voice tests fail (the `speech_tools` fixture in tests/conftest.py), never skip.
needs_speech_tools = pytest.mark.usefixtures("speech_tools")


def spoken_wav(text: str, voice: str = "en-us", speed: int = 160, noise: float = 0.0, reverse: bool = False) -> bytes:
    """A 16 kHz WAV of espeak-ng saying text; noise is white noise's amplitude (0..1) mixed in."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, wav = Path(tmp) / "raw.wav", Path(tmp) / "clip.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
        effects = ["reverse"] if reverse else []
        subprocess.run(["sox", "-q", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav), *effects], check=True)
        if noise:
            mixed = Path(tmp) / "mixed.wav"
            subprocess.run(["sox", "-q", "-m", str(wav), "|sox -q " + str(wav) + f" -p synth whitenoise vol {noise}",
                            "-b", "16", str(mixed)], check=True)
            wav = mixed
        return wav.read_bytes()


def noise_wav(seconds: float = 2.0, kind: str = "pinknoise", volume: float = 0.3) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "noise.wav"
        subprocess.run(["sox", "-q", "-n", "-r", "16000", "-c", "1", "-b", "16", str(wav),
                        "synth", str(seconds), kind, "vol", str(volume)], check=True)
        return wav.read_bytes()


def silence_wav(seconds: float = 2.0) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "silence.wav"
        subprocess.run(["sox", "-q", "-n", "-r", "16000", "-c", "1", "-b", "16", str(wav), "trim", "0", str(seconds)],
                       check=True)
        return wav.read_bytes()


