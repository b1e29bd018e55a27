"""What Jenkins answers about queue items and builds, as deploybot reads it: their states,
their parameters, and whether a build is the one deploybot asked for."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional
from urllib.parse import quote


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
    )


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
