"""A reply spoken as WAV by espeak-ng (Debian's package, optional): None when it is missing."""
from __future__ import annotations

import shutil
import subprocess
from typing import Optional


def speak(text: str, voice: str = "en-us") -> Optional[bytes]:
    espeak = shutil.which("espeak-ng")
    if not espeak or not text.strip():
        return None
    # The text goes on stdin, never the command line: it is the bot's reply, but may quote a user.
    result = subprocess.run([espeak, "-v", voice, "--stdout", "--stdin"], input=text.encode(),
                            capture_output=True, timeout=30)
    return result.stdout if result.returncode == 0 and result.stdout[:4] == b"RIFF" else None
