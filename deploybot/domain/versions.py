"""What counts as a deployable version, and its canonical form."""
from __future__ import annotations

import re
from typing import Optional

# 1.0.2, 2.3, 10.4.12.7, with an optional pre-release (-rc1, -beta.3) and build (+build.5).
# Deliberately strict: the version ends up as a Jenkins parameter.
VERSION_PATTERN = re.compile(
    r"^(?:0|[1-9]\d{0,5})(?:\.(?:0|[1-9]\d{0,5})){1,3}"
    r"(?:-[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*)?"
    r"(?:\+[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*)?$"
)
MAX_LENGTH = 64
VERSION_EXAMPLES = "1.0.2, 2.3 or 3.2.1-rc1"


def normalize_version(text: str) -> Optional[str]:
    """The canonical version ("v1.0.2" -> "1.0.2"), or None if the text is no version."""
    if text is None:
        return None
    candidate = str(text).strip()
    if candidate[:1] in ("v", "V"):
        candidate = candidate[1:]
    if len(candidate) > MAX_LENGTH or not VERSION_PATTERN.match(candidate):
        return None
    return candidate
