"""The stages of a deploy request, in order: what each needs, and what may end the request there.

    understood -> checked -> gate -> asked -> confirmed -> second factor -> approvals
               -> started -> watched -> reported -> summed up

A request that passes `confirmed`, `second factor` and `approvals` gets a Clearance
(deploybot/pipeline/clearance.py); `started` hands it to Deployer.start, which refuses a
deployment its clearance does not cover. So a path that skips a stage cannot reach Jenkins.

The environment gate (issue 24: freeze windows, a queue) comes after the checks, before
anything is asked; its door checks are Rules.gate, which Deployer.start applies again when it
starts, so a request confirmed before a freeze began cannot start into it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Stage:
    name: str
    needs: str
    may_end_with: str
    where: str  # the code that runs it today


STAGES: Tuple[Stage, ...] = (
    Stage("understood", "a message (NLU: app, version, environment; several apps make a batch)",
          "a refusal of several versions or environments, shell syntax, an unknown environment",
          "actions/deploy.py ActionStartDeploy, the deploy form; actions/batches.py start"),
    Stage("checked", "the catalog, the requester's channel identity, their grant, the locks, active deployments",
          "a refusal, said and audited (per app of a batch: the others go on)",
          "actions/deploy.py ActionConfirmDeploy; actions/batches.py checked/confirm"),
    Stage("gate", "no freeze window over the app and environment, nobody ahead in its queue "
                  "(deploybot/pipeline/gate.py: the checks actions/context.gate_checks lists)",
          "a refusal naming every rule that blocks and when it opens (an admin's break glass passes a freeze)",
          "actions/context.py check_gate, from actions/deploy.py ActionConfirmDeploy and actions/batches.py checked; "
          "again at the door: Rules.gate"),
    Stage("asked", "a restatement of exactly what would start",
          "no (nothing deployed), a newer request (replaced), silence (the question goes stale)",
          "actions/questions.py ask"),
    Stage("confirmed", "the request-bound yes, in time; or a trusted build system where the profile "
                       "lets it skip the question; or an admin's break glass with a reason",
          "a stale yes (asked again), a yes to nothing, a build system where a code is needed",
          "actions/deploy.py ActionDeploy, ActionConfirmDeploy; actions/break_glass.py"),
    Stage("second factor", "the requester's code, in a direct message, when step_up.two_factor_required "
                           "(always for break glass)",
          "no key, not enrolled, locked out, a late code, no (withdrawn), a newer held request",
          "actions/safeguards.py hold_before_jenkins -> actions/code_holds.py; actions/codes.py release"),
    Stage("approvals", "approvals.approvals_needed other people's approvals (an admin's break glass skips them)",
          "a rejection, expiry, withdrawal",
          "actions/approvals.py ask_for_approval, decide, ActionApprovalDecided"),
    Stage("started", "a Clearance that covers the item; the grant again; no lock, no active deployment",
          "a refusal (audited), a lock set meanwhile, another deployment, Jenkins refusing",
          "deploybot/pipeline/start.py start -> deploybot/delivery/deployer.py Deployer.start"),
    Stage("watched", "the Jenkins queue item or build", "the build's end, or Jenkins losing it",
          "deploybot/delivery/watcher.py"),
    Stage("reported", "the deployment's reply_to and output channel", "(nothing: reports are retried from the outbox)",
          "deploybot/delivery/reports.py, deploybot/domain/outbox.py"),
    Stage("summed up", "a batch whose apps have all ended", "(nothing)",
          "deploybot/pipeline/summary.py; deploybot/delivery/watcher.py for a batch with a deployment to carry it"),
)

NAMES = tuple(stage.name for stage in STAGES)
# The stages a Clearance stands for: none of them may be skipped on the way to Jenkins.
CLEARED_BY = ("confirmed", "second factor", "approvals")
