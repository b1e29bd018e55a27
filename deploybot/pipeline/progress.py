"""After the yes: the stage a request's item waits at, or its clearance.

    confirmed -> second factor (a code, when needed) -> approvals (when needed) -> Cleared

The dialogue asks what `next_stage` says (a code, approvals) and comes back with what was
given; only Cleared carries a Clearance, and only Deployer.start takes one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple, Union

from deploybot.pipeline.clearance import Clearance, Confirmed, Rules, issue
from deploybot.pipeline.request import Item, Request


@dataclass(frozen=True)
class Passed:
    """What the request has passed so far."""
    confirmed: Confirmed
    second_factor: bool = False
    approved_by: Tuple[str, ...] = ()


@dataclass(frozen=True)
class NeedsCode:
    """The second factor stage: hold it for the requester's code."""


@dataclass(frozen=True)
class NeedsApprovals:
    """The approvals stage: ask for `needed` approvals (an approval request and its card)."""
    needed: int


@dataclass(frozen=True)
class Cleared:
    clearance: Clearance


Next = Union[NeedsCode, NeedsApprovals, Cleared]


def needs_code(request: Request, item: Item, rules: Rules) -> bool:
    """A break-glass deploy always needs a code; otherwise step_up decides."""
    return bool(request.break_glass_reason) or rules.needs_code(item.app, request.environment)


def approvals_to_ask(request: Request, item: Item, rules: Rules) -> int:
    """How many approvals the item waits for: none after an admin's break glass."""
    if request.break_glass_reason and rules.is_admin(request.requester):
        return 0
    return rules.approvals_needed(item.app, request.environment)


def next_stage(request: Request, item: Item, passed: Passed, rules: Rules) -> Next:
    if needs_code(request, item, rules) and not passed.second_factor:
        return NeedsCode()
    needed = approvals_to_ask(request, item, rules)
    if len(set(passed.approved_by)) < needed:
        return NeedsApprovals(needed)
    return Cleared(issue(item.app, item.version, request.environment, request.requester, passed.confirmed,
                         passed.second_factor, passed.approved_by, request.break_glass_reason))


def clearance_for(request: Request, item: Item, passed: Passed, rules: Rules) -> Optional[Clearance]:
    stage = next_stage(request, item, passed, rules)
    return stage.clearance if isinstance(stage, Cleared) else None
