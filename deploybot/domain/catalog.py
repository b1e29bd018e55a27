"""The app catalog (apps.yml): which apps exist, what people call them, where they may go."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from rapidfuzz.distance import DamerauLevenshtein

from deploybot.domain.config_files import read_mapping

DEFAULT_CATALOG_PATH = Path("apps.yml")
CATALOG_ENV = "DEPLOYBOT_APPS"   # another apps.yml for the action servers (the tests' approver groups)
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")
# The Jenkins job parameters a deployment passes, under these names unless an app renames them.
DEFAULT_JOB_PARAMETERS = {"version": "VERSION", "environment": "ENVIRONMENT", "requested_by": "REQUESTED_BY"}
PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# approvers entries that name Slack user groups: a group id, or a handle with its @ (Slack's
# handles are lowercase letters, digits, hyphens, periods and underscores).
GROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")
GROUP_HANDLE = re.compile(r"^@([a-z0-9][a-z0-9._-]{0,79})$")


def is_group(entry: str) -> bool:
    """Whether an approvers entry names a Slack user group (by handle with its @, or id)."""
    return bool(GROUP_ID.match(entry) or entry.startswith("@"))


class CatalogError(ValueError):
    """apps.yml is missing or malformed; the message says where."""


@dataclass(frozen=True)
class Environment:
    id: str
    aliases: Tuple[str, ...]
    two_factor: Optional[str] = None  # required | off; None: the bot's profile decides
    approvals: Optional[int] = None   # four-eyes approvals; None: the bot's profile decides


@dataclass(frozen=True)
class App:
    id: str
    name: str
    aliases: Tuple[str, ...]
    jenkins_job: str
    environments: Tuple[str, ...]
    # {"version": ..., "environment": ..., "requested_by": ...}: the job's parameter names
    jenkins_parameters: Tuple[Tuple[str, str], ...] = tuple(DEFAULT_JOB_PARAMETERS.items())
    # Production safeguards: required | off per environment id (None: the environment or profile decides)
    two_factor: Tuple[Tuple[str, str], ...] = ()

    # Four-eyes approvals per environment id, and who may approve (user ids; empty: anyone
    # granted the app, or an admin)
    approvals: Tuple[Tuple[str, int], ...] = ()
    approvers: Tuple[str, ...] = ()

    def two_factor_in(self, environment: str) -> Optional[str]:
        return dict(self.two_factor).get(environment)

    def approvals_in(self, environment: str) -> Optional[int]:
        return dict(self.approvals).get(environment)

    def job_parameters(self, version: str, environment: str, requested_by: str) -> Dict[str, str]:
        """The parameters of one deployment, under this job's parameter names."""
        values = {"version": version, "environment": environment, "requested_by": requested_by}
        return {name: values[key] for key, name in self.jenkins_parameters}


def normalize_name(text: str) -> str:
    """How names are compared: case, surrounding punctuation and spacing do not matter."""
    return " ".join(text.lower().strip(" \t.,;:!?\"'`()[]").split())


def typo_budget(text: str) -> int:
    """How many edits a written name may be away from a known one and still count.

    Short names get none: "cms" and "crm" are one edit apart. Damerau-Levenshtein
    counts a swap of two neighbouring letters as one edit.
    """
    length = len(text)
    if length < 4:
        return 0
    return 1 if length < 8 else 2


def resolve_name(text: str, names: Dict[str, str], lenient: bool = False) -> Optional[str]:
    """Maps a written name to the id it stands for, allowing small typos.

    names maps every known spelling (normalized) to its id. lenient allows one edit in
    three-letter words too ("shp"), for text already known to be a name. Returns None
    when nothing is close enough or when two different ids are equally close: never guess.
    """
    written = normalize_name(text)
    if not written:
        return None
    if written in names:
        return names[written]
    budget = typo_budget(written)
    if lenient and len(written) == 3:
        budget = 1
    if budget == 0:
        return None
    best_distance, best_ids = budget + 1, set()
    for spelling, target in names.items():
        distance = DamerauLevenshtein.distance(written, spelling, score_cutoff=budget)
        if distance > budget:
            continue
        if distance < best_distance:
            best_distance, best_ids = distance, {target}
        elif distance == best_distance:
            best_ids.add(target)
    return best_ids.pop() if len(best_ids) == 1 else None


class Catalog:
    def __init__(self, apps: Iterable[App], environments: Iterable[Environment]):
        self.apps: Dict[str, App] = {app.id: app for app in apps}
        self.environments: Dict[str, Environment] = {env.id: env for env in environments}
        self._app_names = _spellings((a.id, a.aliases + (a.name,)) for a in self.apps.values())
        self._environment_names = _spellings((e.id, e.aliases) for e in self.environments.values())

    def app(self, app_id: str) -> Optional[App]:
        return self.apps.get(app_id)

    def resolve_app(self, text: str) -> Optional[str]:
        """The id of the app the text names (id, alias, display name or a small typo)."""
        return resolve_name(text, self._app_names)

    def resolve_environment(self, text: str) -> Optional[str]:
        return resolve_name(text, self._environment_names)

    def app_spellings(self) -> Dict[str, str]:
        """Every exact spelling of every app, normalized, mapped to its id."""
        return dict(self._app_names)

    def environment_spellings(self) -> Dict[str, str]:
        return dict(self._environment_names)

    def describe_apps(self) -> str:
        """"cms (Content Management System), shop (Web Shop), ...": for replies."""
        return ", ".join(f"{app.id} ({app.name})" for app in self.apps.values())


def _spellings(entries: Iterable[Tuple[str, Tuple[str, ...]]]) -> Dict[str, str]:
    spellings: Dict[str, str] = {}
    for target, others in entries:
        for spelling in (target,) + tuple(others):
            key = normalize_name(spelling)
            if spellings.get(key, target) != target:
                raise CatalogError(f"'{spelling}' names both {spellings[key]} and {target}")
            spellings[key] = target
    return spellings


def load_catalog(path: Path | str = DEFAULT_CATALOG_PATH) -> Catalog:
    path = Path(path)
    raw = read_mapping(path, CatalogError, "app catalog")

    environments = [
        Environment(env_id, tuple(_strings(spec.get("aliases", []), f"{path}: environments.{env_id}.aliases")),
                    _two_factor(spec.get("two_factor"), f"{path}: environments.{env_id}.two_factor"),
                    _approvals(spec.get("approvals"), f"{path}: environments.{env_id}.approvals"))
        for env_id, spec in _mapping(raw.get("environments"), f"{path}: environments").items()
    ]
    known_environments = {env.id for env in environments}

    apps: List[App] = []
    for app_id, spec in _mapping(raw.get("apps"), f"{path}: apps").items():
        where = f"{path}: apps.{app_id}"
        if not ID_PATTERN.match(str(app_id)):
            raise CatalogError(f"{where}: an app id is lowercase letters, digits, '-' or '_'")
        if not isinstance(spec, dict) or not spec.get("name") or not spec.get("jenkins_job"):
            raise CatalogError(f"{where}: needs a 'name' and a 'jenkins_job'")
        app_environments = _strings(spec.get("environments", []), f"{where}.environments")
        unknown = set(app_environments) - known_environments
        if unknown or not app_environments:
            raise CatalogError(f"{where}.environments: must list known environments, got {app_environments}")
        apps.append(
            App(
                id=app_id,
                name=str(spec["name"]),
                aliases=tuple(_strings(spec.get("aliases", []), f"{where}.aliases")),
                jenkins_job=str(spec["jenkins_job"]),
                environments=tuple(app_environments),
                jenkins_parameters=_job_parameters(spec.get("jenkins_parameters"), f"{where}.jenkins_parameters"),
                two_factor=_app_two_factor(spec.get("two_factor"), app_environments, f"{where}.two_factor"),
                approvals=_app_approvals(spec.get("approvals"), app_environments, f"{where}.approvals"),
                approvers=_approvers(spec.get("approvers"), f"{where}.approvers"),
            )
        )
    if not apps:
        raise CatalogError(f"{path}: lists no apps")
    return Catalog(apps, environments)


def _approvers(value, where: str) -> Tuple[str, ...]:
    """People (ids) and Slack user groups (`@handle` or `S...` id)."""
    if value is None:
        return ()
    entries = tuple(_strings(value, where))
    for entry in entries:
        if entry.startswith("@") and not GROUP_HANDLE.match(entry):
            raise CatalogError(f"{where}: {entry!r} is not a Slack user group handle (@ and lowercase letters, digits, - . _)")
    return entries


def _job_parameters(value, where: str) -> Tuple[Tuple[str, str], ...]:
    """The defaults, with the names an app's jenkins_parameters gives instead."""
    renamed = value or {}
    if not isinstance(renamed, dict) or set(renamed) - set(DEFAULT_JOB_PARAMETERS):
        raise CatalogError(f"{where}: may rename only {', '.join(DEFAULT_JOB_PARAMETERS)}")
    names = {key: str(renamed.get(key, default)) for key, default in DEFAULT_JOB_PARAMETERS.items()}
    for name in names.values():
        if not PARAMETER_NAME.match(name):
            raise CatalogError(f"{where}: {name!r} is not a Jenkins parameter name")
    if len(set(names.values())) != len(names):
        raise CatalogError(f"{where}: two parameters share a name")
    return tuple(names.items())


TWO_FACTOR_SETTINGS = ("required", "off")


def _two_factor(value, where: str) -> Optional[str]:
    """required, off, or None when not given (YAML reads a bare off as False)."""
    if value is None:
        return None
    value = "off" if value is False else value
    if value not in TWO_FACTOR_SETTINGS:
        raise CatalogError(f"{where}: is 'required' or 'off', got {value!r}")
    return value


def _app_two_factor(value, environments: List[str], where: str) -> Tuple[Tuple[str, str], ...]:
    """An app's two_factor: one setting for all its environments, or {environment: setting}."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        setting = _two_factor(value, where)
        return tuple((environment, setting) for environment in environments)
    unknown = set(value) - set(environments)
    if unknown:
        raise CatalogError(f"{where}: names environments the app is not deployed to: {sorted(unknown)}")
    return tuple((environment, _two_factor(setting, f"{where}.{environment}")) for environment, setting in value.items())


def _approvals(value, where: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        raise CatalogError(f"{where}: is a number of approvals from 0 to 5, got {value!r}")
    return value


def _app_approvals(value, environments: List[str], where: str) -> Tuple[Tuple[str, int], ...]:
    """An app's approvals: one number for all its environments, or {environment: number}."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        return tuple((environment, _approvals(value, where)) for environment in environments)
    unknown = set(value) - set(environments)
    if unknown:
        raise CatalogError(f"{where}: names environments the app is not deployed to: {sorted(unknown)}")
    return tuple((environment, _approvals(number, f"{where}.{environment}")) for environment, number in value.items())


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict) or not value:
        raise CatalogError(f"{where}: expected a mapping")
    return value


def _strings(value, where: str) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise CatalogError(f"{where}: expected a list of names")
    return value
