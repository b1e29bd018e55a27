"""A deploy request as the dialogue builds it, and the checks it must pass before a yes."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional

from deploybot.domain.catalog import Catalog
from deploybot.domain.profiles import AssistantProfile, bot_serving
from deploybot.domain.versions import VERSION_EXAMPLES, normalize_version


@dataclass(frozen=True)
class DeployRequest:
    app: str
    version: str
    environment: str


class RequestRejected(ValueError):
    """The request cannot go to confirmation; the message tells the user why, in plain words."""


# Shell and path syntax has no place in a deploy request. The NLU would pick the clean
# version out of "1.0.2; rm -rf /", but such a message is refused, not repaired.
INJECTION = re.compile(r"[;|&$`]|\.\./")
INJECTION_REFUSED = ("That message holds characters that have no place in a deploy request (; | & $ ` or ../), "
                     "so I did nothing with it. Nothing was run or deployed.")


def check_not_injection(text: str) -> None:
    if INJECTION.search(text or ""):
        raise RequestRejected(INJECTION_REFUSED)


def check_environment(environment: str, profile: AssistantProfile, profiles: Mapping[str, AssistantProfile], catalog: Catalog) -> None:
    if environment not in catalog.environments:
        known = ", ".join(profile.environments)
        raise RequestRejected(f"I don't know an environment called “{environment}”. I deploy to {known}.")
    if not profile.serves(environment):
        other = bot_serving(environment, profiles)
        mine = " and ".join(profile.environments)
        where = f"Ask {other.name} for {environment}." if other else f"No bot here deploys to {environment}."
        raise RequestRejected(f"I only deploy to {mine}. {where}")


def check_app(app: str, environment: str, catalog: Catalog) -> None:
    found = catalog.app(app)
    if found is None:
        raise RequestRejected(f"I don't know an app called “{app}”. I know: {catalog.describe_apps()}.")
    if environment not in found.environments:
        allowed = " and ".join(found.environments)
        raise RequestRejected(f"{found.name} can't be deployed to {environment}, only to {allowed}.")


def check_version(version: str) -> str:
    normalized = normalize_version(version)
    if normalized is None:
        raise RequestRejected(f"“{version}” isn't a version I can deploy. A version looks like {VERSION_EXAMPLES}.")
    return normalized


def build_request(
    app: Optional[str],
    version: Optional[str],
    environment: Optional[str],
    profile: AssistantProfile,
    profiles: Mapping[str, AssistantProfile],
    catalog: Catalog,
) -> DeployRequest:
    """The complete, checked request; RequestRejected says what is wrong."""
    environment = environment or profile.default_environment
    check_environment(environment, profile, profiles, catalog)
    if not app:
        raise RequestRejected("Which app? I need an app to deploy.")
    check_app(app, environment, catalog)
    if not version:
        raise RequestRejected("Which version? I need a version to deploy.")
    return DeployRequest(app, check_version(version), environment)


def confirmation_is_stale(asked_at: Optional[float], now: float, timeout_seconds: int) -> bool:
    """A yes counts only within the profile's confirmation timeout."""
    return asked_at is None or now - asked_at > timeout_seconds
