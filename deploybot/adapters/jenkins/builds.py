"""What Jenkins answers about queue items and builds, as deploybot reads it: their states,
their parameters, and whether a build is the one deploybot asked for."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional
from urllib.parse import quote


# A commit time past 2100 is not one (and would not fit a datetime everywhere): left out.
LATEST_MS = 4_102_444_800_000


@dataclass(frozen=True)
class QueueState:
    cancelled: bool
    build_number: Optional[int]
    build_url: Optional[str]
    why: Optional[str]


@dataclass(frozen=True)
class BuildState:
    number: int
    url: str
    building: bool
    result: Optional[str]
    duration_ms: int
    estimated_duration_ms: Optional[int]  # None when Jenkins has no estimate (-1 or 0)
    timestamp_ms: int
    queue_id: Optional[int]
    parameters: Dict[str, str] = field(default_factory=dict)
    oldest_commit: Optional["Commit"] = None   # of its change sets; None when Jenkins lists none


@dataclass(frozen=True)
class Commit:
    id: str
    timestamp_ms: int   # the commit's date (the git plugin's author or committer time), ms since 1970


def build_state(info: dict) -> BuildState:
    estimate = info.get("estimatedDuration")
    return BuildState(
        number=int(info["number"]),
        url=info.get("url") or "",
        building=bool(info.get("building")),
        result=info.get("result"),
        duration_ms=int(info.get("duration") or 0),
        estimated_duration_ms=int(estimate) if estimate and estimate > 0 else None,
        timestamp_ms=int(info.get("timestamp") or 0),
        queue_id=info.get("queueId") or None,
        parameters=_parameters_of(info),
        oldest_commit=oldest_commit(info),
    )


def oldest_commit(info: dict) -> Optional[Commit]:
    """The oldest commit a build's change sets list: "changeSets" (a list of change logs, on
    Pipeline runs) or "changeSet" (one, on freestyle builds), each with "items" carrying
    "commitId" and "timestamp" (ms; the git plugin gives -1 for a date it cannot read).
    The changes since the job's previous build, so the oldest is the oldest commit not yet
    deployed by this job. None when none is listed with a time: the commit time is unknown."""
    logs = info.get("changeSets")
    if not isinstance(logs, list):
        logs = [info.get("changeSet")]
    found: Optional[Commit] = None
    for log in logs:
        items = log.get("items") if isinstance(log, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            stamp, commit_id = item.get("timestamp"), item.get("commitId") or item.get("id")
            if isinstance(stamp, bool) or not isinstance(stamp, int) or not 0 < stamp < LATEST_MS \
                    or not isinstance(commit_id, str):
                continue
            if found is None or stamp < found.timestamp_ms:
                found = Commit(commit_id[:64], stamp)
    return found


def raw_parameters_of(item: dict) -> Dict[str, Any]:
    """The parameters of a build or queue item (its hudson.model.ParametersAction) as Jenkins
    lists them: every parameter of the job, booleans as JSON booleans, and a password
    parameter without a value (MISSING_VALUE)."""
    for action in item.get("actions") or []:
        if action and "parameters" in action:
            return {p["name"]: p.get("value", MISSING_VALUE) for p in action["parameters"] if "name" in p}
    return {}


def _parameters_of(item: dict) -> Dict[str, str]:
    """The parameters with a value, as text: booleans as "true"/"false", as they are sent."""
    return {name: _as_text(value) for name, value in raw_parameters_of(item).items()
            if value is not MISSING_VALUE and value is not None}


# Stands for the value Jenkins leaves out of the API (password parameters).
MISSING_VALUE = object()


def sent_parameters_match(sent: Mapping[str, Any], listed: Mapping[str, Any]) -> bool:
    """Whether a build or queue item listing `listed` can be the one deploybot asked for with
    `sent`: every sent parameter is listed with the value Jenkins made of it. The job's other
    parameters (defaults, booleans, masked passwords) do not matter."""
    return all(name in listed and _same_value(value, listed[name]) for name, value in sent.items())


def _same_value(sent: Any, listed: Any) -> bool:
    if listed is MISSING_VALUE or listed is None:
        return False  # a masked value cannot be compared
    if isinstance(listed, bool):
        # Jenkins makes a boolean parameter of the text the way Java's Boolean.parseBoolean does.
        return listed == (_as_text(sent).strip().lower() == "true")
    return _as_text(sent) == _as_text(listed)


def _as_text(value: Any) -> str:
    """A parameter value as it travels in the query string (python-jenkins would send True as "True")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def job_url_path(job: str) -> str:
    """The job's path below the Jenkins root (how its URL ends): folder/name is
    job/folder/job/name/, each name URL-quoted as Jenkins and python-jenkins do."""
    return "".join(f"job/{quote(part, safe='')}/" for part in job.split("/"))
