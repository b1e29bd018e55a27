"""When a deploy needs a second factor, and what a typed code looks like.

The setting is read from the most specific place that gives it: the app in apps.yml (for
that environment), then the environment in apps.yml, then the bot's profile
(`two_factor: required|off`, <BOT>_TWO_FACTOR overrides). The mechanism (secrets, codes,
lockout) is deploybot.policy.two_factor; the dialogue is actions/code_holds.py and actions/codes.py.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Mapping, Optional

from deploybot.domain.catalog import Catalog
from deploybot.domain.profiles import AssistantProfile, ProfileError, load_profiles
from deploybot.policy.two_factor import SECRET_KEY_ENV, TwoFactorUnavailable, cipher_from

# A message that is a one-time code: six digits, perhaps split 3+3 as apps show them
# ("123 456"), perhaps addressed to the bot by name as the terminal chat's rule for addressing
# has people do ("bender 123456", "@bender, 123 456"; deploybot.adapters.terminal_chat).
CODE_MESSAGE = re.compile(r"^\s*(?P<code>\d{3}\s?\d{3})\s*$")
# A message that tries to be one and is not: 5 to 8 digits, perhaps split by spaces or dashes
# ("1234567", "123-456"). It goes to the code dialogue too, which says a code is awaited; dots
# stay out, so a version ("3.1.2") never looks like a code.
CODE_ATTEMPT = re.compile(r"^\s*\d[\d \-]*\d\s*$")
ADDRESS = re.compile(r"^\s*(?:(?:hey|hi)\s+)?@?(?P<name>[a-z]+)\s*[,:]?\s+", re.IGNORECASE)
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


@lru_cache(maxsize=1)
def bot_names() -> frozenset:
    """The bots' names in lowercase (assistants/*.yml), which may address a code."""
    try:
        return frozenset(profile.name.lower() for profile in load_profiles().values())
    except (ProfileError, OSError):
        return frozenset()


def unaddressed(text: str) -> str:
    """The message without a leading "bender", "@bender," or "hey bender" (a bot's name only)."""
    found = ADDRESS.match(text)
    return text[found.end():] if found and found.group("name").lower() in bot_names() else text


def code_in(text: object) -> Optional[str]:
    """The six digits of a message that is a code, else None."""
    if not isinstance(text, str):
        return None
    found = CODE_MESSAGE.match(unaddressed(text))
    return "".join(found.group("code").split()) if found else None


def build_system_problem(profile: AssistantProfile, catalog: Catalog) -> Optional[str]:
    """Why this bot must not start: its trusted build systems skip the question, and some
    deploy through it needs a code (a build system has no phone). Approvals are no problem:
    a build system's request waits for them like anyone's."""
    if not (profile.build_systems_skip_confirmation and profile.trusted_build_systems):
        return None
    needing = sorted({f"{app.id} on {environment}" for app in catalog.apps.values() for environment in app.environments
                      if profile.serves(environment) and two_factor_required(profile, catalog, app.id, environment)})
    if not needing:
        return None
    return (f"{profile.name} does not start: its build_systems.skip_confirmation is true and it trusts build systems "
            f"({', '.join(profile.trusted_build_systems)}), but deploys of {', '.join(needing[:5])}"
            f"{' and more' if len(needing) > 5 else ''} need a two-factor code, which a build system cannot give. "
            "Set skip_confirmation to false, trust no build systems on this bot, or turn two_factor off there "
            "(the profile, apps.yml).")


def looks_like_code(text: object) -> bool:
    """Whether a message goes to the code dialogue: a code, or something that tries to be one."""
    if not isinstance(text, str):
        return False
    body = unaddressed(text)
    digits = sum(character.isdigit() for character in body)
    return code_in(text) is not None or (bool(CODE_ATTEMPT.match(body)) and 5 <= digits <= 8)


def code_parse_data(text: str) -> dict:
    """What Rasa stores for a typed code: the intent two_factor_code, no entities."""
    intent = {"name": CODE_INTENT, "confidence": 1.0}
    return {"text": text, "intent": intent, "entities": [], "intent_ranking": [intent]}


__all__ = ["SECRET_KEY_ENV", "CODE_MESSAGE", "CODE_INTENT", "code_parse_data", "two_factor_setting", "two_factor_required",
           "anywhere_required", "startup_problem", "looks_like_code", "code_in", "build_system_problem"]
