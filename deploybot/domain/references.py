"""Requests that name a version by reference instead of by number (issue 16):

    redeploy cms                              what runs on the environment now
    deploy the cms version that's on staging  what staging runs (to Bender: a promotion)
    roll back cms to 1.0.1                    an earlier successful version, named

The words are few and fixed, so they are matched here, not learnt; the NLU still decides
that the message is a deploy or rollback request and finds the app and environment.
"""
from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple

from deploybot.domain.deploy_request import RequestRejected

REDEPLOY = re.compile(r"\bre-?deploy\b|\b(?:deploy|ship|push)\s+(?:it\s+|that\s+|\w+\s+)?again\b", re.IGNORECASE)
# "the version that's on staging", "what runs in staging", "whatever is running on stage"
# ("the new version on staging" is no reference: it says where to, not what runs there)
SOURCE_BEFORE = re.compile(r"\b(?:version|one|build|what(?:ever)?)(?:'s|\b[\w\s']{0,20}?(?:'s|\bis|\bthat|\bwhich|\brunning|"
                           r"\bruns|\bcurrently|\bnow))\b[\w\s]{0,15}?\b(?:on|in|from)\s+(?:the\s+)?$", re.IGNORECASE)


def is_redeploy(text: str) -> bool:
    return bool(REDEPLOY.search(text or ""))


def source_environment(text: str, environments: Sequence[Tuple[str, int]]) -> Optional[str]:
    """The environment the message takes the version from ("... that's on staging"), if any.
    environments: (value, start offset) of each environment the NLU found."""
    for value, start in environments:
        if SOURCE_BEFORE.search((text or "")[:start]):
            return value
    return None


def rollback_target(successes: List[str], wanted: Optional[str], app: str, environment: str) -> Tuple[str, str]:
    """(current, target) for a rollback. successes: the versions that succeeded there, newest
    first. Without a wanted version: the last one before the current that differs from it."""
    if not successes:
        raise RequestRejected(f"I have no successful deployment of {app} to {environment}, so there is nothing to roll back.")
    current = successes[0]
    if wanted is None:
        previous = next((version for version in successes[1:] if version != current), None)
        if previous is None:
            raise RequestRejected(f"I have no earlier successful deployment of {app} to {environment} to roll back to.")
        return current, previous
    if wanted == current:
        raise RequestRejected(f"{app} {wanted} is what runs on {environment} now: there is nothing to roll back to.")
    if wanted not in successes[1:]:
        raise RequestRejected(f"{app} {wanted} has not run on {environment} as far as I know, so I can't roll back to it."
                              f" To deploy it anyway, say “deploy {app} {wanted}”.")
    return current, wanted
