"""What every action needs: this bot's profile, all profiles, the catalog and the database,
loaded once per action server."""
import logging
import os
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache
from typing import Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from deploybot.policy.approvals import approvals_needed
from deploybot.domain.catalog import CATALOG_ENV, DEFAULT_CATALOG_PATH, Catalog, load_catalog
from deploybot.delivery.deployer import Deployer
from deploybot.domain.deploy_request import RequestRejected
from deploybot.domain.deployments import DeploymentStore, NewDeployment
from deploybot.policy.identity import check_requester
from deploybot.adapters.jenkins.client import JenkinsClient, JenkinsError, JenkinsSettings
from deploybot.domain.chat_freezes import ChatFreezes
from deploybot.domain.freeze_file import load_freezes
from deploybot.domain.freezes import Freeze, covering
from deploybot.domain.locks import Locks
from deploybot.policy.permissions import Permissions
from deploybot.pipeline.clearance import Clearance, Rules
from deploybot.pipeline.gate import Block, Check, blocks, why_closed
from deploybot.pipeline.queue_gate import queue_check
from deploybot.pipeline.request import Item, Request, at, reply_target
from deploybot.pipeline.start import Ports
from deploybot.pipeline import schedules
from deploybot.domain.schedule_times import on_day, scheduled as scheduled_text
from deploybot.domain.profiles import AssistantProfile, current_assistant_id, load_profiles
from deploybot.adapters.slack import web_api
from deploybot.adapters.slack.settings import SlackSettings
from deploybot.adapters.slack.usergroups import UserGroups
from deploybot.adapters.slack.users import USER_ID, SlackDirectory
from deploybot.policy.step_up import two_factor_required
from deploybot.storage.database import Database, database_url, migrate


log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """apps.yml, or the file DEPLOYBOT_APPS names (the model must know the same apps)."""
    return load_catalog(os.environ.get(CATALOG_ENV) or DEFAULT_CATALOG_PATH)


@lru_cache(maxsize=1)
def profiles() -> Dict[str, AssistantProfile]:
    return load_profiles()


@lru_cache(maxsize=1)
def profile() -> AssistantProfile:
    """This bot's profile. On Slack, admins given by handle are resolved to their user ids
    once, at start (an entry that names no one is a warning); ids work as they are."""
    configured = profiles()[current_assistant_id()]
    directory = slack_directory()
    handles = [entry for entry in configured.admins() if not USER_ID.match(entry)]
    if directory is None or not handles:
        return configured
    ids, unknown = directory.resolve_handles(handles)
    for entry in unknown:
        log.warning("%s's admin %r is no Slack user's handle: it gives nobody admin rights on Slack", configured.name, entry)
    return replace(configured, resolved_admins=ids)


@lru_cache(maxsize=1)
def database() -> Database:
    url = database_url()
    migrate(url)  # a no-op when deploybot.cli.stack has migrated already
    return Database(url)


def permissions() -> Permissions:
    return Permissions(database(), profile(), catalog())


def deployment_store() -> DeploymentStore:
    return DeploymentStore(database(), catalog())


def time_zone() -> ZoneInfo:
    """This bot's time zone (its profile's time_zone): how lock times are read and said."""
    return ZoneInfo(profile().time_zone)


def locks() -> Locks:
    return Locks(database(), time_zone())


@lru_cache(maxsize=1)
def jenkins_client() -> JenkinsClient:
    """JENKINS_URL, JENKINS_USER, JENKINS_API_TOKEN; JenkinsError when JENKINS_URL is unset."""
    return JenkinsClient(JenkinsSettings.from_environ())


@lru_cache(maxsize=1)
def file_freezes() -> Tuple[Freeze, ...]:
    """freezes.yml (or DEPLOYBOT_FREEZES), read once; times default to this bot's time zone."""
    return load_freezes(None, profile().time_zone, catalog().environments, catalog().apps)


def chat_freezes() -> ChatFreezes:
    return ChatFreezes(database(), time_zone())


def all_freezes(now: datetime) -> List[Freeze]:
    """freezes.yml's and the chat's standing ones."""
    return list(file_freezes()) + chat_freezes().standing(now)


def freeze_check(app: str, environment: str, requester: str, now: datetime) -> Optional[Block]:
    """A freeze over the app and environment now: its reason and when deployments open again."""
    found = covering(all_freezes(now), app, environment, now)
    if found is None:
        return None
    return Block("freeze", f"{found.freeze.reason} ({found.freeze.what()} is frozen, {found.freeze.source})",
                 opens_at=found.end, break_glass_passes=True)


def gate_checks() -> List[Check]:
    """The environment gate's checks (deploybot/pipeline/gate.py), in the order they are said:
    each is also a rule of the door (Rules.gate)."""
    # No deploy into a freeze; nobody jumps the deploy queue (deploybot/pipeline/queue_gate.py).
    return [freeze_check, queue_check(database())]


def gate_blocks(app: str, environment: str, user: str) -> Tuple[Block, ...]:
    return blocks(gate_checks(), app, environment, user, datetime.now(timezone.utc))


def check_gate(app: str, environment: str, user: str) -> None:
    """The gate stage: RequestRejected naming every rule that blocks, and when it opens."""
    found = gate_blocks(app, environment, user)
    if found:
        named = catalog().app(app)
        raise RequestRejected(why_closed(f"{named.name if named else app} to {environment}", found, time_zone()))


def clearance_rules() -> Rules:
    """This bot's safeguards, as the deploy pipeline and Deployer.start apply them."""
    return Rules(needs_code=lambda app, environment: two_factor_required(profile(), catalog(), app, environment),
                 approvals_needed=lambda app, environment: approvals_needed(profile(), catalog(), app, environment),
                 is_admin=lambda user: permissions().is_admin(user), gate=gate_blocks)


def deployer() -> Deployer:
    return Deployer(deployment_store(), jenkins_client(), catalog(), time_zone(), clearance_rules())


def start_in_jenkins(new: NewDeployment, clearance: Clearance) -> str:
    """The pipeline's start port: Deployer.start; no Jenkins configured is a refusal like a lock."""
    try:
        return deployer().start(new, clearance)
    except JenkinsError as error:
        raise RequestRejected(str(error)) from None


def audit_refused(user: str, app: Optional[str], environment: Optional[str], detail: str) -> None:
    permissions().audit(user, "deploy", "refused", app=app, environment=environment, detail=detail[:500])


def schedule_deploy(request: Request, item: Item, clearance: Optional[Clearance]) -> str:
    """The pipeline's schedule port (issue 24): a cleared request with a start_at is stored
    (deploybot.pipeline.schedules), audited, and said; RequestRejected as Deployer.start would."""
    row = schedules.store(database(), request, item, clearance, clearance_rules())
    named = catalog().app(item.app)
    what = f"Deploy {named.name if named else item.app} {item.version} to {request.environment}"
    permissions().audit(request.requester, "schedule", "scheduled", app=item.app, environment=request.environment,
                        detail=f"{what} on {on_day(request.start_at, time_zone())} ({row.id})"[:500])
    return scheduled_text(what, request.start_at, time_zone())


def pipeline_ports() -> Ports:
    return Ports(start=start_in_jenkins, check_requester=check_requester,
                 check_grant=lambda user, request: permissions().check_may_deploy(user, request),
                 audit_refused=audit_refused, schedule=schedule_deploy)


@lru_cache(maxsize=1)
def slack_directory() -> Optional[SlackDirectory]:
    """This bot's Slack workspace users, when it has a Slack app."""
    settings = SlackSettings.from_environ()
    if settings is None:
        return None
    return SlackDirectory(web_api.web_client(settings))


@lru_cache(maxsize=1)
def slack_usergroups() -> Optional[UserGroups]:
    """Members of Slack user groups (approvers), kept briefly across actions; None without Slack."""
    directory = slack_directory()
    return UserGroups(directory.client) if directory is not None else None


def from_slack(tracker: Tracker) -> bool:
    return tracker.get_latest_input_channel() == "slack"


def message_metadata(tracker: Tracker) -> dict:
    return tracker.latest_message.get("metadata") or {}


def where_asked(tracker: Tracker) -> dict:
    """Where a request's reports go: the input channel, and on Slack the request's thread."""
    return {"output_channel": tracker.get_latest_input_channel() or "rest",
            "reply_to": reply_target(from_slack(tracker), message_metadata(tracker))}


def pipeline_request(tracker: Tracker, items: List[Item], environment: str, asked_at: float, **how) -> Request:
    """The deploy pipeline's request for what this conversation asked (at `asked_at`), reported
    where it was asked."""
    return Request(assistant=profile().id, environment=environment, items=tuple(items), requester=requester(tracker),
                   conversation_id=tracker.sender_id, requested_at=at(asked_at), **{**where_asked(tracker), **how})


def requester(tracker: Tracker) -> str:
    """Who is asking: the sender id the channel gives, never a name in the message text."""
    return tracker.sender_id


def entity_values(tracker: Tracker, entity: str) -> list:
    """The distinct normalized values of an entity in the latest message, in order."""
    values = [e.get("value") for e in tracker.latest_message.get("entities", []) if e.get("entity") == entity]
    return list(dict.fromkeys(v for v in values if v))


def first_entity(tracker: Tracker, entity: str) -> Optional[str]:
    values = entity_values(tracker, entity)
    return values[0] if values else None
