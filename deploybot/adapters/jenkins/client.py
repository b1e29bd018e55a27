"""The only code that talks to Jenkins: a thin, synchronous wrapper over python-jenkins.

Every failure comes out as a JenkinsError whose text can go to a chat user as it is.
Callers in async code run these methods with asyncio.to_thread. The errors are in errors.py,
the settings in settings.py, the states and parameters of builds in builds.py.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, NoReturn, Optional, TypeVar

import jenkins
import requests

# The names callers use, importable from here as before.
from deploybot.adapters.jenkins.builds import (BuildState, QueueState, build_state, job_url_path,  # noqa: F401
                                      raw_parameters_of, sent_parameters_match)
from deploybot.adapters.jenkins.errors import TRANSIENT_KINDS, JenkinsError, connection_problem, failure, status_in  # noqa: F401
from deploybot.adapters.jenkins.settings import DEFAULT_TIMEOUT_SECONDS, JenkinsSettings, public_url  # noqa: F401

T = TypeVar("T")
# How much of a console's end is read for its last lines (ten lines of a build log fit many times).
CONSOLE_TAIL_BYTES = 64 * 1024
# Jenkins starting up or restarting (503), or the proxy in front of it without an answer
# (502, 504). python-jenkins' getters report these as "does not exist", like a 404: so
# deploybot reads the HTTP status itself and never takes them for a missing item.
UNAVAILABLE_STATUSES = (502, 503, 504)
# A proxy's 502 or 504 on a build request: the request may have reached Jenkins.
MAYBE_DONE_STATUSES = (502, 504)


class JenkinsClient:
    def __init__(self, settings: JenkinsSettings):
        self.settings = settings
        self._where = public_url(settings.url)
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
        """The queue item's state, or None when Jenkins no longer knows it (about 5 min after it
        left, or after a restart).

        None only for a 404 from a Jenkins that otherwise answers: a 404 from a proxy or a
        Jenkins half started must not make a deployment look dropped.
        """
        item = self._get_json(f"queue/item/{int(queue_id)}/api/json?depth=0",
                              doing=f"reading queue item {queue_id}", missing=lambda: None)
        if item is None:
            self.check_available()
            return None
        executable = item.get("executable") or {}
        return QueueState(
            cancelled=bool(item.get("cancelled")),
            build_number=executable.get("number"),
            build_url=executable.get("url"),
            why=item.get("why"),
        )

    def check_available(self) -> None:
        """Raises JenkinsError unless Jenkins itself answers its front page (GET / with the
        X-Jenkins header), as python-jenkins' get_version checks it."""
        response = self._call(
            lambda: self._jenkins.jenkins_request(requests.Request("GET", self._url("")), add_crumb=False),
            doing="checking that Jenkins is up",
            missing=lambda: None,
        )
        if response is None or "X-Jenkins" not in response.headers:
            raise JenkinsError("unavailable", f"Jenkins at {self._where} is unavailable right now (its front page"
                                              " does not answer as Jenkins); try again in a few minutes.")

    def build(self, job: str, number: int) -> BuildState:
        return build_state(self._build_info(job, number))

    def find_build_by_queue_id(self, job: str, queue_id: int, look_back: int = 10) -> Optional[BuildState]:
        """The build that came from this queue item, among the job's last builds.

        For queue items Jenkins has forgotten: the build records its queueId.
        """
        info = self._job_info(job)
        for summary in (info.get("builds") or [])[:look_back]:
            build = self.build(job, summary["number"])
            if build.queue_id == queue_id:
                return build
        return None

    def queued_with_parameters(self, job: str, parameters: Mapping[str, str]) -> Optional[int]:
        """The id of a queue item of this job waiting with these parameters (and any others
        the job has), if any."""
        queue = self._get_json("queue/api/json?depth=0", doing="reading the queue", missing=lambda: {})
        for item in queue.get("items") or []:
            task_url = (item.get("task") or {}).get("url") or ""
            if task_url.endswith(job_url_path(job)) and sent_parameters_match(parameters, raw_parameters_of(item)):
                return int(item["id"])
        return None

    def builds_with_parameters(self, job: str, parameters: Mapping[str, str], since_ms: int,
                               look_back: int = 10) -> List[BuildState]:
        """The job's recent builds (newest first) that started at or after since_ms with these
        parameters (and any others the job has): how a build whose queue id never reached us
        is found."""
        info = self._job_info(job)
        found = []
        for summary in (info.get("builds") or [])[:look_back]:
            info = self._build_info(job, summary["number"])
            build = build_state(info)
            if build.timestamp_ms >= since_ms and sent_parameters_match(parameters, raw_parameters_of(info)):
                found.append(build)
        return found

    def console_tail(self, job: str, number: int, lines: int = 10) -> List[str]:
        """The last lines of the build's console output, read as a bounded range: a real
        deploy's console is often megabytes. Jenkins' progressiveText sends the text from byte
        `start` on and its whole size in X-Text-Size; a start past the end would count as text
        that rolled over and bring all of it, so the size is asked first (HEAD, no body)."""
        url = self._url(f"{job_url_path(job)}{int(number)}/logText/progressiveText")

        def read_tail() -> List[str]:
            head = self._jenkins.jenkins_request(requests.Request("HEAD", url, params={"start": "0"}))
            start = max(0, int(head.headers.get("X-Text-Size") or 0) - CONSOLE_TAIL_BYTES)
            text = self._jenkins.jenkins_open(requests.Request("GET", url, params={"start": str(start)}))
            read = text.splitlines()
            return read[1:] if start > 0 else read  # a range's first line may be cut

        found = self._call(read_tail, doing=f"reading the console of {job} #{number}",
                           missing=lambda: self._no_build(job, number))
        return found[-lines:] if lines > 0 else []

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
            raise JenkinsError("unreachable", f"Jenkins at {self._where} is unreachable ({connection_problem(error)}).") from None
        except jenkins.NotFoundException:  # only ever a 404
            return missing()
        except jenkins.JenkinsException as error:
            status = status_in(str(error))
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
        raise self._failure_while(doing, status)

    def _get_json(self, path: str, doing: str, missing: Callable[[], T]) -> Any:
        """GET path (below the Jenkins root) as JSON, through python-jenkins' session (auth,
        crumb) but not its getters, which report every HTTP error as "does not exist"."""
        text = self._call(lambda: self._jenkins.jenkins_open(requests.Request("GET", self._url(path))),
                          doing=doing, missing=lambda: None)
        if text is None:
            return missing()
        try:
            return json.loads(text)
        except ValueError:
            raise JenkinsError("error", f"Jenkins gave an unexpected answer while {doing}.") from None

    def _job_info(self, job: str) -> dict:
        return self._get_json(f"{job_url_path(job)}api/json?depth=0", doing=f"reading the job {job}",
                              missing=lambda: self._no_job(job))

    def _build_info(self, job: str, number: int) -> dict:
        return self._get_json(f"{job_url_path(job)}{int(number)}/api/json?depth=0", doing=f"reading {job} #{number}",
                              missing=lambda: self._no_build(job, number))

    def _url(self, path: str) -> str:
        return f"{self.settings.url.rstrip('/')}/{path}"

    def _failure_while(self, doing: str, status: Optional[int]) -> JenkinsError:
        if status in UNAVAILABLE_STATUSES:
            return self._unavailable(status)
        return failure(doing, status)

    def _unavailable(self, status: int) -> JenkinsError:
        why = "it is starting up or restarting" if status == 503 else "the proxy in front of it got no answer from it"
        return JenkinsError("unavailable", f"Jenkins at {self._where} is unavailable right now (HTTP {status}: {why});"
                                           " try again in a few minutes.")

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
        if status in MAYBE_DONE_STATUSES:
            # The proxy gave up waiting, but Jenkins may have queued the build: like a timeout,
            # the deployment's fate is unknown until the build is looked for.
            raise JenkinsError("timeout", f"Jenkins at {self._where} did not answer in time (HTTP {status} from the"
                                          " proxy in front of it).")
        raise self._failure_while(f"starting {job}", status)

    def _takes_parameters(self, job: str) -> bool:
        info = self._job_info(job)
        return any(prop.get("parameterDefinitions") for prop in info.get("property") or [])

    def _cancel_failed(self, queue_id: int, status: Optional[int]) -> NoReturn:
        # Jenkins answers 422 when the item has already left the queue.
        if status == 422:
            raise JenkinsError("queue_missing", f"Queue item {queue_id} has already left the Jenkins queue, so it cannot be cancelled.")
        raise self._failure_while(f"cancelling queue item {queue_id}", status)

    @staticmethod
    def _no_job(job: str) -> NoReturn:
        raise JenkinsError("job_missing", f"Jenkins has no job called {job}.")

    @staticmethod
    def _no_build(job: str, number: int) -> NoReturn:
        raise JenkinsError("job_missing", f"Jenkins has no build #{number} of {job}.")
