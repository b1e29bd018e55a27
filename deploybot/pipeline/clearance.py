"""The Clearance: what the pipeline issues once every stage between the yes and Jenkins has
passed for one exact item, and what Deployer.start checks before anything reaches Jenkins.

Only deploybot.pipeline.progress issues one (the constructor wants its private seal, which
dataclasses.replace cannot copy). Deployer.start
refuses a deployment without a clearance, or with one that does not cover it: another app,
version, environment or requester; no code where step_up.two_factor_required asks for one
(always for break glass); fewer approvals than approvals.approvals_needed, unless an admin
broke the glass; a closed environment gate (Rules.gate: a freeze, a queue in front), unless
it is a freeze and an admin broke the glass.
"""
from __future__ import annotations

from dataclasses import InitVar, dataclass
from enum import Enum
from typing import Callable, Optional, Tuple

from deploybot.domain.deployments import NewDeployment
from deploybot.pipeline.gate import Block, standing

_SEAL = object()  # only this package issues clearances (progress.clear)


class Confirmed(str, Enum):
    """How the request was confirmed."""
    YES = "the requester's yes"
    BUILD_SYSTEM = "a trusted build system (no question)"
    BREAK_GLASS = "an admin's emergency deploy"


@dataclass(frozen=True)
class Rules:
    """The policy the pipeline and the door apply, as ports (deploybot.policy.step_up,
    deploybot.policy.approvals and the permissions give them; see actions/context.py)."""
    needs_code: Callable[[str, str], bool]            # (app, environment)
    approvals_needed: Callable[[str, str], int]       # (app, environment)
    is_admin: Callable[[str], bool]                   # (user)
    # The environment gate's door checks (a freeze, a queue), evaluated when the deployment starts:
    # (app, environment, requester) -> the Blocks that close it (deploybot/pipeline/gate.py).
    gate: Callable[[str, str, str], Tuple[Block, ...]] = lambda app, environment, requester: ()


@dataclass(frozen=True)
class Clearance:
    app: str
    version: str
    environment: str
    requester: str
    confirmed: Confirmed
    second_factor: bool = False
    approved_by: Tuple[str, ...] = ()
    break_glass_reason: Optional[str] = None
    # Not kept: so dataclasses.replace cannot copy it onto a changed clearance either.
    seal: InitVar[object] = None

    def __post_init__(self, seal: object) -> None:
        if seal is not _SEAL:
            raise TypeError("Only the deploy pipeline issues a Clearance (deploybot.pipeline.progress).")

    def safeguards(self) -> Optional[dict]:
        """What the deployment record keeps of the safeguards passed (its columns)."""
        if self.approved_by:
            return {"approved_by": ",".join(self.approved_by), "second_factor": self.second_factor}
        if self.second_factor:
            return {"second_factor": True, "break_glass_reason": self.break_glass_reason}
        return None


def why_not_cleared(clearance: Optional[Clearance], new: NewDeployment, rules: Rules) -> Optional[str]:
    """None when the clearance covers this deployment; otherwise why not (the door refuses)."""
    if not isinstance(clearance, Clearance):
        return "it has no clearance from the deploy pipeline"
    request = new.request
    if (clearance.app, clearance.version, clearance.environment, clearance.requester) != (
            request.app, request.version, request.environment, new.requested_by):
        return "its clearance is for another deployment"
    if (clearance.break_glass_reason or rules.needs_code(request.app, request.environment)) and not clearance.second_factor:
        return "it needs a two-factor code, and none was given"
    needed = rules.approvals_needed(request.app, request.environment)
    admin_broke_glass = bool(clearance.break_glass_reason) and rules.is_admin(clearance.requester)
    if len(set(clearance.approved_by)) < needed and not admin_broke_glass:
        return f"it needs {needed} approval{'s' if needed > 1 else ''}, and has {len(set(clearance.approved_by))}"
    closed = standing(rules.gate(request.app, request.environment, new.requested_by), admin_broke_glass)
    if closed:
        return f"the gate of {request.environment} is closed ({closed[0].rule}: {closed[0].reason})"
    return None


def refusal(why: str) -> str:
    """What Deployer.start says when it refuses at the door (no path of the dialogue should see it)."""
    return f"I can't start that deployment: {why}. Nothing was deployed."


def issue(item_app: str, version: str, environment: str, requester: str, confirmed: Confirmed, second_factor: bool,
          approved_by: Tuple[str, ...], break_glass_reason: Optional[str]) -> Clearance:
    """For deploybot.pipeline.progress only."""
    return Clearance(item_app, version, environment, requester, confirmed, second_factor, tuple(approved_by),
                     break_glass_reason, seal=_SEAL)
