"""When a deploy needs a second factor, and what a typed code looks like.

The setting is read from the most specific place that gives it: the app in apps.yml (for
that environment), then the environment in apps.yml, then the bot's profile
(`two_factor: required|off`, <BOT>_TWO_FACTOR overrides). The mechanism (secrets, codes,
lockout) is deploybot.two_factor; the dialogue is actions/safeguards.py.
"""
from __future__ import annotations

import os
import re
from typing import Mapping, Optional

from deploybot.catalog import Catalog
from deploybot.profiles import AssistantProfile
from deploybot.two_factor import SECRET_KEY_ENV, TwoFactorUnavailable, cipher_from

# A message that is a one-time code: six digits, perhaps split 3+3 as apps show them.
CODE_MESSAGE = re.compile(r"^\s*\d{3}\s?\d{3}\s*$")
CODE_INTENT = "two_factor_code"


def two_factor_setting(profile: AssistantProfile, catalog: Catalog, app_id: str, environment: str) -> str:
    app = catalog.app(app_id)
    from_app = app.two_factor_in(environment) if app else None
    place = catalog.environments.get(environment)
    return from_app or (place.two_factor if place else None) or profile.two_factor


def two_factor_required(profile: AssistantProfile, catalog: Catalog, app_id: str, environment: str) -> bool:
    return two_factor_setting(profile, catalog, app_id, environment) == "required"


def anywhere_required(profile: AssistantProfile, catalog: Catalog) -> bool:
    """Whether any deploy through this bot may need a code."""
    return any(two_factor_required(profile, catalog, app.id, environment)
               for app in catalog.apps.values() for environment in app.environments if profile.serves(environment))


def startup_problem(profile: AssistantProfile, catalog: Catalog, environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """What the action server says at start when deploys need a code it cannot check."""
    if not anywhere_required(profile, catalog):
        return None
    try:
        cipher_from(environ)
    except TwoFactorUnavailable as problem:
        return (f"{profile.name} requires two-factor codes for deploys, but {problem} "
                "Such deploys are refused until it is set.")
    return None


def looks_like_code(text: object) -> bool:
    return isinstance(text, str) and bool(CODE_MESSAGE.match(text))


def code_parse_data(text: str) -> dict:
    """What Rasa stores for a typed code: the intent two_factor_code, no entities."""
    intent = {"name": CODE_INTENT, "confidence": 1.0}
    return {"text": text, "intent": intent, "entities": [], "intent_ranking": [intent]}


__all__ = ["SECRET_KEY_ENV", "CODE_MESSAGE", "CODE_INTENT", "code_parse_data", "two_factor_setting", "two_factor_required",
           "anywhere_required", "startup_problem", "looks_like_code"]
