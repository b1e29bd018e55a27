"""Assistant profiles (assistants/<id>.yml): who a bot is, where it deploys, who may use it."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deploybot.domain.config_files import read_mapping
from deploybot.domain.digest_schedule import DigestSchedule, parse_schedule

DEFAULT_PROFILES_DIR = Path("assistants")
# The action server learns which bot it serves from this variable (set by deploybot.cli.stack).
ASSISTANT_ENV = "DEPLOYBOT_ASSISTANT"
DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h)?\s*$")
DURATION_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


class ProfileError(ValueError):
    """A profile is missing or malformed; the message says where."""


@dataclass(frozen=True)
class AssistantProfile:
    id: str
    name: str
    environments: Tuple[str, ...]
    rasa_ports: Tuple[int, ...]      # one per Rasa replica: "<ID>_PORT=5005,5105" runs two
    actions_ports: Tuple[int, ...]   # one per action-server replica
    who_may_deploy: str
    allow_list: Tuple[str, ...]
    configured_admins: Tuple[str, ...]
    management_channel: Optional[str]
    confirmation_timeout_seconds: int
    trusted_build_systems: Tuple[str, ...]
    build_systems_skip_confirmation: bool
    # Following builds: how often Jenkins is polled, and when a build counts as hung.
    poll_seconds: float = 5.0
    build_timeout_seconds: int = 1800
    # Bender offers what this environment runs when asked for an app without a version.
    promote_from: Optional[str] = None
    # Slack: whether a top-level request starts a thread for the replies and reports.
    slack_start_threads: bool = True
    # Slack: the workspaces (team ids) whose events count; empty: any (set it in production).
    slack_team_ids: Tuple[str, ...] = ()
    # Input channels where the caller names the sender (REST, callback): on unless switched off
    # (<BOT>_REST_CHANNEL=on|off overrides the profile's rest).
    channels: Mapping[str, bool] = field(default_factory=dict)
    # What a token channel (REST, callback, the HTTP API: whoever holds the bot's API token)
    # may do of TOKEN_CHANNEL_ACTS; nothing unless listed (<BOT>_TOKEN_CHANNELS_MAY overrides;
    # `make run` lists them all for its terminal chat). See actions/token_channels.py.
    token_channels_may: Tuple[str, ...] = ()
    # Test stacks only (DEPLOYBOT_TOKEN_SENDERS_MAY_BE_SLACK_IDS): a token channel may name
    # senders of Slack's shape, so the tests can drive Slack users' conversations over REST.
    token_senders_may_be_slack_ids: bool = False
    # Whether the profile named its admins; a profile that does not gets the others' admins.
    admins_given: bool = True
    # The Slack user ids of admins given by handle, resolved when the action server starts
    # (actions/context.py): they count as admins, and the admins are still shown as given.
    resolved_admins: Tuple[str, ...] = ()
    personality: Mapping[str, object] = field(default_factory=dict)
    # The bot's local time: the days of "this week" in chat and the weekly digest's schedule.
    time_zone: str = "UTC"
    # When the weekly digest goes to the management channel; None: never (deploybot.ledger.digest).
    digest: Optional[DigestSchedule] = None
    # Production safeguards (deploybot.policy.step_up): whether a deploy needs a code from the
    # requester's authenticator app after the yes; apps.yml may override per environment and app.
    two_factor: str = "off"
    # Four-eyes approvals (deploybot.policy.approvals): how many approvals a deploy needs unless
    # apps.yml says otherwise (<BOT>_APPROVALS overrides), and how long they may take.
    approvals: int = 0
    approval_timeout_seconds: int = 1800
    # The deploy queue (issue 24): how long a "You're next" turn waits for its answer.
    queue_turn_seconds: int = 600
    # Whether an approval counts only with the approver's own code (<BOT>_APPROVER_TWO_FACTOR overrides).
    approver_two_factor: bool = False

    @property
    def rasa_port(self) -> int:
        """The first replica's port: where reports and the terminal chat go."""
        return self.rasa_ports[0]

    @property
    def actions_port(self) -> int:
        return self.actions_ports[0]

    @property
    def default_environment(self) -> str:
        return self.environments[0]

    def serves(self, environment: str) -> bool:
        return environment in self.environments

    def channel_enabled(self, channel: str) -> bool:
        return bool(self.channels.get(channel, True))

    def token_channel_may(self, act: str) -> bool:
        return act in self.token_channels_may

    def admins(self, environ: Mapping[str, str] = os.environ) -> Tuple[str, ...]:
        """Admins from the profile plus DEPLOYBOT_ADMINS (comma-separated user ids)."""
        extra = [a.strip() for a in environ.get("DEPLOYBOT_ADMINS", "").split(",") if a.strip()]
        return tuple(dict.fromkeys(self.configured_admins + tuple(extra)))

    def is_admin(self, user: str) -> bool:
        return user in self.admins() or user in self.resolved_admins

    def lines(self, key: str) -> Tuple[str, ...]:
        """The bot's own wording for small talk (greet, goodbye, thank, ...)."""
        value = self.personality.get(key, ())
        return (value,) if isinstance(value, str) else tuple(value)


def parse_duration(value, where: str) -> int:
    """Seconds from 600, "600s", "10m" or "1h"."""
    match = DURATION.match(str(value))
    if not match or int(match.group(1)) <= 0:
        raise ProfileError(f"{where}: expected a duration like 10m, 600s or 1h, got {value!r}")
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


TWO_FACTOR_SETTINGS = ("required", "off")
# The acts that make someone count for others: never done over a token channel unless the
# profile lists them in token_channels_may (`all` lists every one).
TOKEN_CHANNEL_ACTS = ("approve", "enrol", "reset_two_factor", "grant", "break_glass", "admin", "dashboard")
SLACK_IDS_OVER_TOKEN_ENV = "DEPLOYBOT_TOKEN_SENDERS_MAY_BE_SLACK_IDS"


def token_channel_acts(value, where: str) -> Tuple[str, ...]:
    """A list (or comma-separated text) of TOKEN_CHANNEL_ACTS; `all`, or none/empty."""
    items = [str(v).strip() for v in (value.split(",") if isinstance(value, str) else value or ())]
    items = [v for v in items if v and v != "none"]
    if items == ["all"]:
        return TOKEN_CHANNEL_ACTS
    unknown = [v for v in items if v not in TOKEN_CHANNEL_ACTS]
    if unknown:
        raise ProfileError(f"{where}: token_channels_may lists {', '.join(TOKEN_CHANNEL_ACTS)} or all, got {unknown!r}")
    return tuple(items)


def two_factor_setting(value, where: str) -> str:
    """required or off (YAML reads a bare off as False: that counts as off)."""
    value = "off" if value is False else value
    if value not in TWO_FACTOR_SETTINGS:
        raise ProfileError(f"{where}: is 'required' or 'off', got {value!r}")
    return value


def flag(value, where: str) -> bool:
    """true or false (an environment variable: true/false, on/off, 1/0)."""
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "1", "yes", "on"):
        return True
    if str(value).strip().lower() in ("false", "0", "no", "off", ""):
        return False
    raise ProfileError(f"{where}: is true or false, got {value!r}")


def approvals_setting(value, where: str) -> int:
    """How many approvals: a whole number from 0 (none) to 5."""
    if isinstance(value, bool) or not str(value).strip().isdigit() or int(value) > 5:
        raise ProfileError(f"{where}: is a number of approvals from 0 to 5, got {value!r}")
    return int(value)


def _ports(raw: dict, key: str, env_name: str, where: str, environ: Mapping[str, str]) -> Tuple[int, ...]:
    """The ports of a bot's replicas: the environment's comma-separated list, or the profile's port."""
    value = environ.get(env_name) or (raw.get("ports") or {}).get(key)
    ports = []
    for part in str(value).split(","):
        try:
            port = int(part)
        except (TypeError, ValueError):
            raise ProfileError(f"{where}: ports.{key} (or {env_name}) must be port numbers, got {value!r}") from None
        if not 0 < port < 65536:
            raise ProfileError(f"{where}: {port} is not a port number")
        ports.append(port)
    return tuple(ports)


def _time_zone(value, where: str) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ProfileError(f"{where}: time_zone must be a zone like Europe/Berlin or UTC, got {value!r}") from None
    return str(value)


def _digest(raw, time_zone: str, where: str, environ: Mapping[str, str]) -> Optional[DigestSchedule]:
    try:
        return parse_schedule(raw, time_zone, where, environ)
    except ValueError as error:
        raise ProfileError(str(error)) from None


def load_profile(path: Path | str, environ: Mapping[str, str] = os.environ) -> AssistantProfile:
    path = Path(path)
    where = str(path)
    raw = read_mapping(path, ProfileError, "assistant profile")
    assistant_id = path.stem
    environments = tuple(raw.get("environments") or ())
    if not raw.get("name") or not environments:
        raise ProfileError(f"{where}: needs a 'name' and at least one environment")
    who = raw.get("who_may_deploy", "everyone")
    if who not in ("everyone", "granted"):
        raise ProfileError(f"{where}: who_may_deploy is 'everyone' or 'granted', got {who!r}")
    build_systems = raw.get("build_systems") or {}
    jenkins = raw.get("jenkins") or {}
    slack = raw.get("slack") or {}
    channels = raw.get("channels") or {}
    if not isinstance(channels, dict) or not all(isinstance(v, bool) for v in channels.values()):
        raise ProfileError(f"{where}: channels is a mapping like {{rest: false}}, got {channels!r}")
    prefix = assistant_id.upper()
    if environ.get(f"{prefix}_REST_CHANNEL"):
        channels = {**channels, "rest": flag(environ[f"{prefix}_REST_CHANNEL"], f"{prefix}_REST_CHANNEL")}
    return AssistantProfile(
        id=assistant_id,
        name=str(raw["name"]),
        environments=environments,
        rasa_ports=_ports(raw, "rasa", f"{prefix}_PORT", where, environ),
        actions_ports=_ports(raw, "actions", f"{prefix}_ACTIONS_PORT", where, environ),
        who_may_deploy=who,
        allow_list=tuple(str(u) for u in raw.get("allow_list") or ()),
        configured_admins=tuple(str(u) for u in raw.get("admins") or ()),
        management_channel=raw.get("management_channel"),
        confirmation_timeout_seconds=parse_duration(raw.get("confirmation_timeout", "10m"), f"{where}: confirmation_timeout"),
        queue_turn_seconds=parse_duration(raw.get("queue_turn", "10m"), f"{where}: queue_turn"),
        trusted_build_systems=tuple(str(b) for b in build_systems.get("trusted") or ())
        + tuple(b.strip() for b in environ.get(f"{prefix}_TRUSTED_BUILD_SYSTEMS", "").split(",") if b.strip()),
        build_systems_skip_confirmation=bool(build_systems.get("skip_confirmation", False)),
        poll_seconds=float(environ.get("DEPLOYBOT_POLL_SECONDS") or parse_duration(jenkins.get("poll_interval", "5s"), f"{where}: jenkins.poll_interval")),
        build_timeout_seconds=int(environ.get("DEPLOYBOT_BUILD_TIMEOUT_SECONDS") or parse_duration(jenkins.get("build_timeout", "30m"), f"{where}: jenkins.build_timeout")),
        promote_from=raw.get("promote_from"),
        slack_start_threads=bool(slack.get("start_threads", True)),
        slack_team_ids=tuple(str(t) for t in slack.get("team_ids") or ())
        + tuple(t.strip() for t in environ.get(f"{prefix}_SLACK_TEAM_IDS", "").split(",") if t.strip()),
        channels=channels,
        token_channels_may=token_channel_acts(environ.get(f"{prefix}_TOKEN_CHANNELS_MAY", raw.get("token_channels_may")),
                                              f"{where}: token_channels_may"),
        token_senders_may_be_slack_ids=flag(environ.get(SLACK_IDS_OVER_TOKEN_ENV, False), SLACK_IDS_OVER_TOKEN_ENV),
        admins_given="admins" in raw,
        personality=raw.get("personality") or {},
        time_zone=_time_zone(raw.get("time_zone", "UTC"), where),
        digest=_digest(raw.get("digest"), _time_zone(raw.get("time_zone", "UTC"), where), where, environ),
        approvals=approvals_setting(environ.get(f"{prefix}_APPROVALS") or raw.get("approvals", 0), f"{where}: approvals"),
        approval_timeout_seconds=parse_duration(environ.get(f"{prefix}_APPROVAL_TIMEOUT") or raw.get("approval_timeout", "30m"),
                                                f"{where}: approval_timeout"),
        approver_two_factor=flag(environ.get(f"{prefix}_APPROVER_TWO_FACTOR", raw.get("approver_two_factor", False)),
                                 f"{where}: approver_two_factor"),
        two_factor=two_factor_setting(environ.get(f"{prefix}_TWO_FACTOR") or raw.get("two_factor", "off"), f"{where}: two_factor"),
    )


def load_profiles(directory: Path | str = DEFAULT_PROFILES_DIR, environ: Mapping[str, str] = os.environ) -> Dict[str, AssistantProfile]:
    """Every profile in the directory, by id (the file name without .yml)."""
    paths = sorted(Path(directory).glob("*.yml"))
    if not paths:
        raise ProfileError(f"{directory}: no assistant profiles (*.yml)")
    profiles = {path.stem: load_profile(path, environ) for path in paths}
    # A bot without its own admins (Marvin) is run by the admins of the others (Bender's).
    everyones_admins = tuple(dict.fromkeys(a for p in profiles.values() if p.admins_given for a in p.configured_admins))
    profiles = {key: p if p.admins_given else replace(p, configured_admins=everyones_admins) for key, p in profiles.items()}
    owners: Dict[str, str] = {}
    for profile in profiles.values():
        for environment in profile.environments:
            if environment in owners:
                raise ProfileError(f"{environment} is served by both {owners[environment]} and {profile.id}")
            owners[environment] = profile.id
    return profiles


def bot_serving(environment: str, profiles: Mapping[str, AssistantProfile]) -> Optional[AssistantProfile]:
    """The bot that deploys to an environment, if any."""
    return next((p for p in profiles.values() if p.serves(environment)), None)


def rasa_urls(profiles: Mapping[str, AssistantProfile], environ: Mapping[str, str] = os.environ) -> Dict[str, str]:
    """Each bot's Rasa server: <ID>_RASA_URL, or its port on loopback."""
    return {
        p.id: environ.get(f"{p.id.upper()}_RASA_URL") or f"http://127.0.0.1:{p.rasa_port}"
        for p in profiles.values()
    }


def current_assistant_id(environ: Mapping[str, str] = os.environ) -> str:
    assistant_id = environ.get(ASSISTANT_ENV)
    if not assistant_id:
        raise ProfileError(f"{ASSISTANT_ENV} is not set: the action server cannot tell which bot it serves")
    return assistant_id
