"""The started stage: the one place that checks the requester and the grant again, builds the
deployment and hands it with its clearance to the `start` port (Deployer.start), and audits a
refusal. What it answers (Started, Refused) the dialogue says."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

from deploybot.domain.deploy_request import DeployRequest, RequestRejected
from deploybot.domain.deployments import NewDeployment
from deploybot.pipeline.clearance import Clearance
from deploybot.pipeline.request import Item, Request


@dataclass(frozen=True)
class Ports:
    """What the started stage needs from outside the domain."""
    # Deployer.start: records and triggers, or RequestRejected (a lock, another deployment,
    # no clearance, no Jenkins: the adapter turns Jenkins' own errors into RequestRejected).
    start: Callable[[NewDeployment, Optional[Clearance]], str]
    check_requester: Callable[[str, str, Optional[str]], None]    # (user, channel, build system)
    check_grant: Callable[[str, DeployRequest], None]             # (user, request)
    audit_refused: Callable[[str, Optional[str], Optional[str], str], None]  # (user, app, environment, detail)
    # A scheduled deploy's cleared request is stored here instead of started (deploybot.pipeline.
    # schedules.store): what to say, or RequestRejected. None: this bot schedules nothing.
    schedule: Optional[Callable[[Request, Item, Optional[Clearance]], str]] = None


@dataclass(frozen=True)
class Started:
    text: str


@dataclass(frozen=True)
class Scheduled(Started):
    """Cleared, and stored to start at its time (request.start_at) after one last yes."""


@dataclass(frozen=True)
class Refused:
    why: str


def new_deployment(request: Request, item: Item, clearance: Optional[Clearance]) -> NewDeployment:
    """The deployment record to begin: built here and nowhere else (without a clearance too:
    Deployer.start then refuses it, and the refusal is audited like any other)."""
    return NewDeployment(
        assistant=request.assistant, request=request.deploy_request(item), kind=item.kind or "deploy",
        requested_by=request.requester, conversation_id=request.conversation_id, output_channel=request.output_channel,
        requested_at=request.requested_at, reply_to=dict(request.reply_to) if request.reply_to else None,
        safeguards=clearance.safeguards() if clearance else None, batch_id=request.batch_id)


def why_not_allowed(ports: Ports, request: Request, item: Item, channel: Optional[str] = None, audit_as: str = "",
                    grant_needed: bool = True) -> Optional[str]:
    """Checks the requester (when `channel` is given: the channel their message came by) and
    their grant, and audits a refusal: None when the item may go on."""
    try:
        if channel is not None:
            ports.check_requester(request.requester, channel, request.via_build_system)
        if grant_needed:
            ports.check_grant(request.requester, request.deploy_request(item))
    except RequestRejected as rejection:
        ports.audit_refused(request.requester, item.app, request.environment, f"{audit_as}{rejection}")
        return str(rejection)
    return None


def start_item(ports: Ports, request: Request, item: Item, clearance: Optional[Clearance], audit_as: str = "") -> Union[Started, Refused]:
    """Records and triggers the item's deployment; a refusal (a lock, another deployment, the
    door) is audited with `audit_as` before its reason. A scheduled request (start_at) that the
    pipeline cleared is stored instead: the one branch of the started stage, so the code and
    approvals paths that lead here stay the same for it."""
    try:
        if request.start_at is not None:
            if ports.schedule is None:
                raise RequestRejected("I can't schedule deploys here. Nothing was scheduled.")
            return Scheduled(ports.schedule(request, item, clearance))
        return Started(ports.start(new_deployment(request, item, clearance), clearance))
    except RequestRejected as refusal:
        ports.audit_refused(request.requester, item.app, request.environment, f"{audit_as}{refusal}")
        return Refused(str(refusal))
