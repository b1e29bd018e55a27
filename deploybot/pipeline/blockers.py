"""The rules that block a deploy before the gate's own (issue 24, item 4), as gate Checks: the
grant, a lock, another deployment of the app (busy) and the requester's own request still
waiting for approvals. With the gate's checks (actions/context.py gate_checks) they are every
rule that "why can't I?" names and every refusal lists (actions/why.py), in the order of
gate.RULES, each with when it next opens where that is known.

Each check reads the same sources the dialogue's checks read (Permissions, Locks,
DeploymentStore, ApprovalStore); none changes anything.
"""
from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import List, Optional

from deploybot.domain.deploy_request import DeployRequest, RequestRejected
from deploybot.domain.deployments import DeploymentStore, ago, utc
from deploybot.domain.locks import Locks, clock
from deploybot.pipeline.gate import Block, Check
from deploybot.policy.approvals import ApprovalStore, approved_by
from deploybot.policy.permissions import Permissions


def sentence(text: str) -> str:
    """A rule's own refusal as a reason among others: without its full stop."""
    return text.rstrip().rstrip(".")


def grant_check(permissions: Permissions) -> Check:
    """No grant for the app (Bender), or not on the allow list (a bot that has one)."""
    def check(app: str, environment: str, requester: str, now: datetime) -> Optional[Block]:
        try:
            permissions.check_may_deploy(requester, DeployRequest(app, "", environment))
        except RequestRejected as rejection:
            return Block("grant", sentence(str(rejection)))  # an admin opens it: no time known
        return None
    return check


def lock_check(locks: Locks, zone: tzinfo = timezone.utc) -> Check:
    """The environment's lock, or the app's there; it opens at its expiry when it has one."""
    def check(app: str, environment: str, requester: str, now: datetime) -> Optional[Block]:
        covering = locks.covering(environment, app)
        if not covering:
            return None
        lock = covering[0]
        what = f"{lock.app} on {lock.environment}" if lock.app else lock.environment
        since = utc(lock.locked_at)
        # Said like a lock's refusal ("production is locked by theresa since ..."); the expiry is the Block's.
        reason = f"{what} is locked by {lock.locked_by} since {clock(since, zone)} ({ago(since, now)} ago): {lock.reason}"
        return Block("lock", reason, opens_at=utc(lock.expires_at))
    return check


def busy_check(store: DeploymentStore) -> Check:
    """Another deployment of the app to the environment is under way; it opens when its build ends."""
    def check(app: str, environment: str, requester: str, now: datetime) -> Optional[Block]:
        active = store.active_for(app, environment)
        return Block("busy", sentence(store.describe_active(active))) if active is not None else None
    return check


def approvals_pending_check(approvals: ApprovalStore, assistant: str, zone: tzinfo = timezone.utc) -> Check:
    """The requester's own deploy of the app to the environment waits for approvals: it starts
    when they are given, and waits until its expiry at the latest. Only the requester's own
    requests count: someone else's is theirs to tell."""
    def check(app: str, environment: str, requester: str, now: datetime) -> Optional[Block]:
        waiting = [row for row in approvals.pending_for(assistant, requester, app, environment) if utc(row.expires_at) > now]
        if not waiting:
            return None
        row = waiting[0]
        missing = max(1, row.needed - len(approved_by(row)))
        reason = (f"your deploy of {app} {row.version} to {environment} waits for {missing} more"
                  f" approval{'s' if missing > 1 else ''}; it starts once approved")
        return Block("approvals pending", reason, opens_at=utc(row.expires_at))
    return check


def checks(permissions: Permissions, locks: Locks, store: DeploymentStore, approvals: ApprovalStore, assistant: str,
           gate_checks: List[Check], zone: tzinfo = timezone.utc, with_approvals: bool = True) -> List[Check]:
    """Every check, the gate's included. A refusal leaves the approvals out: a request waiting
    for approvals is no reason to refuse another (it was not before the gate); "why can't I?" says it."""
    own = [grant_check(permissions), lock_check(locks, zone), busy_check(store)]
    pending = [approvals_pending_check(approvals, assistant, zone)] if with_approvals else []
    return own + list(gate_checks) + pending
