"""The only code that talks to Jenkins: a thin, synchronous wrapper over python-jenkins.

Every failure comes out as a JenkinsError whose text can go to a chat user as it is.
Callers in async code run these methods with asyncio.to_thread.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, NoReturn, Optional, TypeVar
from urllib.parse import urlsplit, urlunsplit

import jenkins
import requests

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 10.0
# python-jenkins reports 401/403/500 only inside its message: "... failed [403]: Forbidden".
STATUS_IN_MESSAGE = re.compile(r"\[(\d{3})\]")
# What python-jenkins' getters say when Jenkins answered 404 (they re-wrap NotFoundException).
DOES_NOT_EXIST = "does not exist"


class JenkinsError(Exception):
    """A failed Jenkins call. kind is one of config, unreachable, timeout, auth, job_missing,
    not_parameterized, queue_missing, error; str(error) is a plain sentence for chat users."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class JenkinsSettings:
    url: str
    user: str
    api_token: str = field(repr=False)  # kept out of repr() so logging settings cannot leak it
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> "JenkinsSettings":
        url = environ.get("JENKINS_URL", "").strip()
        if not url:
            raise JenkinsError("config", "JENKINS_URL is not set, so deploybot does not know where Jenkins is.")
        if urlsplit(url).scheme not in ("http", "https"):
            raise JenkinsError("config", "JENKINS_URL must start with http:// or https://.")
        return cls(
            url=url.rstrip("/"),
            user=environ.get("JENKINS_USER", ""),
            api_token=environ.get("JENKINS_API_TOKEN", ""),
            timeout=_timeout_from(environ.get("JENKINS_TIMEOUT", "")),
        )


def _timeout_from(text: str) -> float:
    if not text.strip():
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise JenkinsError("config", f"JENKINS_TIMEOUT must be a number of seconds, not {text!r}.")
    return seconds


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


class JenkinsClient:
    def __init__(self, settings: JenkinsSettings):
        self.settings = settings
        self._where = _public_url(settings.url)
        self._jenkins = self._connect()

    def _connect(self) -> jenkins.Jenkins:
        # No request is made here; python-jenkins fetches its crumb on the first call.
        return jenkins.Jenkins(
            self.settings.url,
            username=self.settings.user or None,
            password=self.settings.api_token or None,
            timeout=self.settings.timeout,
        )

    def trigger(self, job: str, parameters: Dict[str, str]) -> int:
        """Queues a build with these parameters; returns the queue item id."""
        return self._call(
            lambda: self._jenkins.build_job(job, parameters),
            doing=f"starting {job}",
            missing=lambda: self._no_job(job),
            failed=lambda status: self._trigger_failed(job, status),
        )

    def queue_item(self, queue_id: int) -> Optional[QueueState]:
        """The queue item's state, or None when Jenkins no longer knows it (about 5 min after it left)."""
        item = self._call(
            lambda: self._jenkins.get_queue_item(queue_id),
            doing=f"reading queue item {queue_id}",
            missing=lambda: None,
        )
        if item is None:
            return None
        executable = item.get("executable") or {}
        return QueueState(
            cancelled=bool(item.get("cancelled")),
            build_number=executable.get("number"),
            build_url=executable.get("url"),
            why=item.get("why"),
        )

    def build(self, job: str, number: int) -> BuildState:
        info = self._call(
            lambda: self._jenkins.get_build_info(job, number),
            doing=f"reading {job} #{number}",
            missing=lambda: self._no_build(job, number),
        )
        return _build_state(info)

    def find_build_by_queue_id(self, job: str, queue_id: int, look_back: int = 10) -> Optional[BuildState]:
        """The build that came from this queue item, among the job's last builds.

        For queue items Jenkins has forgotten: the build records its queueId.
        """
        info = self._call(
            lambda: self._jenkins.get_job_info(job),
            doing=f"reading the job {job}",
            missing=lambda: self._no_job(job),
        )
        for summary in (info.get("builds") or [])[:look_back]:
            build = self.build(job, summary["number"])
            if build.queue_id == queue_id:
                return build
        return None

    def queued_with_parameters(self, job: str, parameters: Mapping[str, str]) -> Optional[int]:
        """The id of a queue item of this job waiting with exactly these parameters, if any."""
        items = self._call(lambda: self._jenkins.get_queue_info(), doing="reading the queue", missing=lambda: [])
        for item in items:
            task_url = (item.get("task") or {}).get("url") or ""
            if task_url.endswith(_job_path(job)) and _parameters_of(item) == dict(parameters):
                return int(item["id"])
        return None

    def builds_with_parameters(self, job: str, parameters: Mapping[str, str], since_ms: int,
                               look_back: int = 10) -> List[BuildState]:
        """The job's recent builds (newest first) that started at or after since_ms with
        exactly these parameters: how a build whose queue id never reached us is found."""
        info = self._call(
            lambda: self._jenkins.get_job_info(job),
            doing=f"reading the job {job}",
            missing=lambda: self._no_job(job),
        )
        found = []
        for summary in (info.get("builds") or [])[:look_back]:
            build = self.build(job, summary["number"])
            if build.timestamp_ms >= since_ms and build.parameters == dict(parameters):
                found.append(build)
        return found

    def console_tail(self, job: str, number: int, lines: int = 10) -> List[str]:
        """The last lines of the build's console output."""
        text = self._call(
            lambda: self._jenkins.get_build_console_output(job, number),
            doing=f"reading the console of {job} #{number}",
            missing=lambda: self._no_build(job, number),
        )
        return text.splitlines()[-lines:] if lines > 0 else []

    def stop_build(self, job: str, number: int) -> None:
        """Aborts a running build; a finished one stays as it is."""
        self._call(
            lambda: self._jenkins.stop_build(job, number),
            doing=f"stopping {job} #{number}",
            missing=lambda: self._no_build(job, number),
        )

    def cancel_queue(self, queue_id: int) -> None:
        """Takes a waiting item out of the queue.

        An id Jenkins does not know passes silently: python-jenkins ignores the 404
        because older Jenkins answered 404 even on success.
        """
        self._call(
            lambda: self._jenkins.cancel_queue(queue_id),
            doing=f"cancelling queue item {queue_id}",
            missing=lambda: None,
            failed=lambda status: self._cancel_failed(queue_id, status),
        )

    def _call(
        self,
        action: Callable[[], T],
        doing: str,
        missing: Callable[[], T],
        failed: Optional[Callable[[Optional[int]], T]] = None,
        retry_on_403: bool = True,
    ) -> T:
        """Runs one python-jenkins call and turns its many failure types into JenkinsError.

        missing() answers a 404; failed(status) may explain other failures before the
        generic message applies.
        """
        try:
            return action()
        except (jenkins.TimeoutException, requests.Timeout):
            raise JenkinsError("timeout", f"Jenkins at {self._where} did not answer within {self.settings.timeout:g} sec.") from None
        except requests.ConnectionError as error:
            raise JenkinsError("unreachable", f"Jenkins at {self._where} is unreachable ({_connection_problem(error)}).") from None
        except jenkins.NotFoundException:
            return missing()
        except jenkins.JenkinsException as error:
            status = _status_in(str(error))
            if status is None and DOES_NOT_EXIST in str(error):
                return missing()
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if status == 404:
                return missing()
        if status == 403 and retry_on_403:
            # A crumb from before a Jenkins restart is refused with 403 too: once more with a
            # fresh session, which fetches a new crumb. (A 403 means nothing was done.)
            self._jenkins = self._connect()
            return self._call(action, doing, missing, failed, retry_on_403=False)
        if status in (401, 403):
            self._refused(status)
        if failed is not None:
            return failed(status)
        raise _failure(doing, status)

    def _refused(self, status: int) -> NoReturn:
        if status == 403:
            raise JenkinsError("auth", f"Jenkins denied {self.settings.user or 'the anonymous user'} permission (HTTP 403):"
                                       " that Jenkins user needs Job/Read and Job/Build on the deploy jobs.")
        raise JenkinsError("auth", f"Jenkins refused the credentials in JENKINS_USER/JENKINS_API_TOKEN (HTTP {status}).")

    def _trigger_failed(self, job: str, status: Optional[int]) -> NoReturn:
        # Jenkins answers 500 to buildWithParameters on a job that takes no parameters.
        if status == 500 and not self._takes_parameters(job):
            raise JenkinsError(
                "not_parameterized",
                f"The Jenkins job {job} takes no parameters, so it cannot be told which version to deploy.",
            )
        raise _failure(f"starting {job}", status)

    def _takes_parameters(self, job: str) -> bool:
        info = self._call(lambda: self._jenkins.get_job_info(job), doing=f"reading the job {job}", missing=lambda: self._no_job(job))
        return any(prop.get("parameterDefinitions") for prop in info.get("property") or [])

    @staticmethod
    def _cancel_failed(queue_id: int, status: Optional[int]) -> NoReturn:
        # Jenkins answers 422 when the item has already left the queue.
        if status == 422:
            raise JenkinsError("queue_missing", f"Queue item {queue_id} has already left the Jenkins queue, so it cannot be cancelled.")
        raise _failure(f"cancelling queue item {queue_id}", status)

    @staticmethod
    def _no_job(job: str) -> NoReturn:
        raise JenkinsError("job_missing", f"Jenkins has no job called {job}.")

    @staticmethod
    def _no_build(job: str, number: int) -> NoReturn:
        raise JenkinsError("job_missing", f"Jenkins has no build #{number} of {job}.")


def _build_state(info: dict) -> BuildState:
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


def _parameters_of(item: dict) -> Dict[str, str]:
    """The parameters of a build or queue item (its hudson.model.ParametersAction)."""
    for action in item.get("actions") or []:
        if action and "parameters" in action:
            return {p["name"]: str(p.get("value")) for p in action["parameters"] if "name" in p}
    return {}


def _job_path(job: str) -> str:
    """How a job's URL ends: folder/name is job/folder/job/name/."""
    return "".join(f"job/{part}/" for part in job.split("/"))


def _failure(doing: str, status: Optional[int]) -> JenkinsError:
    if status is None:
        return JenkinsError("error", f"Jenkins gave an unexpected answer while {doing}.")
    return JenkinsError("error", f"Jenkins failed while {doing} (HTTP {status}).")


def _status_in(message: str) -> Optional[int]:
    match = STATUS_IN_MESSAGE.search(message)
    return int(match.group(1)) if match else None


def _connection_problem(error: requests.ConnectionError) -> str:
    text = str(error)
    if "refused" in text.lower():
        return "connection refused"
    if "resolve" in text.lower() or "name or service not known" in text.lower():
        return "its host name does not resolve"
    return "the connection failed"


def _public_url(url: str) -> str:
    """The URL without any user:password@ part, fit for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
