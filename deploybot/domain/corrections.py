"""Corrections to a request ("make it 1.0.4", "I meant the shop", "to production instead"):
a correction changes only what it names and keeps the rest of the request it corrects."""
from __future__ import annotations

import re
from typing import Dict, Mapping, Optional, Sequence

from deploybot.domain.deploy_request import RequestRejected

FIELDS = ("app", "version", "environment")
# "not cms", "instead of 1.0.2", "rather than the shop": the words before a value the correction replaces.
NEGATED = re.compile(r"\b(?:not|instead of|rather than)(?:\s+(?:the|a|an|app|version|environment))?\s*$", re.IGNORECASE)
NOTHING_NAMED = ("I can tell you want to change something, but not what: name the new app, version or "
                 "environment, for example “make it 1.0.4”, “I meant the shop” or “to staging instead”.")


class UnclearCorrection(RequestRejected):
    """The correction names nothing to change, or several values for one part."""


def named_parts(text: str, entities: Sequence[Mapping]) -> Dict[str, str]:
    """The parts a correction names, one value each; UnclearCorrection otherwise.
    What it names as wrong ("not cms", "instead of 1.0.2") is no new value."""
    named: Dict[str, list] = {field: [] for field in FIELDS}
    for entity in entities:
        field, value, start = entity.get("entity"), entity.get("value"), entity.get("start")
        if field not in named or not value or value in named[field]:
            continue
        if isinstance(start, int) and NEGATED.search(text[:start]):
            continue
        named[field].append(value)
    for field, values in named.items():
        if len(values) > 1:
            raise UnclearCorrection(f"You named several {field}s ({', '.join(values)}): "
                                    f"which one should the request have? Name only that one.")
    changes = {field: values[0] for field, values in named.items() if values}
    if not changes:
        raise UnclearCorrection(NOTHING_NAMED)
    return changes


def corrected(base: Mapping[str, Optional[str]], changes: Mapping[str, str]) -> Dict[str, Optional[str]]:
    """The request with what the correction names replaced, everything else kept."""
    return {field: changes.get(field, base.get(field)) for field in FIELDS}
