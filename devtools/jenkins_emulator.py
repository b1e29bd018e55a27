"""A Jenkins emulator for tests, benchmarks and local runs: a real HTTP server that answers
the part of the Jenkins 2.440 REST API deploybot uses, the way python-jenkins 1.8.3 sees it
(basic auth with an API token, crumbs bound to a session cookie, queue items that leave
the queue and are forgotten, builds, console text, stop and cancel, Notification plugin
pushes), plus a control API on a second port that steers builds and reports what Jenkins
received.

    JENKINS_EMULATOR_API_TOKEN=T python -m devtools.jenkins_emulator --port 8080 --control-port 8081 --user bot

The API token and the push URLs (which carry the push token) are read from the environment
(JENKINS_EMULATOR_API_TOKEN, JENKINS_EMULATOR_NOTIFY_URL), so that `ps` does not show them;
--api-token and --notify-url are for runs by hand.

It follows Jenkins' documented behaviour, not what deploybot happens to send:
- Like a job with concurrent builds disabled (the Jenkins default), a job runs one build at a
  time: a second queue item is blocked until the first build ends.
- A build request identical to a queue item still waiting (same job, same parameters) is
  merged into it: Jenkins answers with the same queue item's Location.
- Builds and queue items list every parameter of the job: what was sent, the defaults of
  the rest, booleans as JSON booleans, password parameters without their value. The
  catalog's jobs take a few such parameters beyond what deploybot passes
  (CATALOG_EXTRA_PARAMETERS).
- With a limited number of executors (setting "executors"), ready items wait with "Waiting
  for next available executor".
- A restart (control POST /restart) answers every API request with 503 for a while; queued
  items survive it, the web sessions (and so the crumbs) and the left items do not.
- Faults (control POST /faults) fail the next requests to a path, for one HTTP method if
  given (a proxy refusing HEAD: {"method": "HEAD", "status": 405}); POST /forget makes Jenkins
  forget a build (deleted or rotated away): it and its queue item answer 404.
- Change sets (control POST /next-build {"commits": [...], "pipeline": true}): a freestyle
  build lists its git commits under "changeSet" (an EmptyChangeLogSet when none), a Pipeline
  run (WorkflowRun) under "changeSets" (an empty list when none), each item with "commitId"
  and "timestamp" in ms (-1 for a date the git plugin cannot read), as the git plugin does.
- A stop (setting "stop_seconds") takes a while: the build runs on, then ends ABORTED, or
  with its own result if it finished first.
"""
from __future__ import annotations

import argparse
import base64
import hmac
import json
import logging
import math
import os
import queue
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.request
from datetime import datetime
from dataclasses import asdict, dataclass, field, replace
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from deploybot.domain.catalog import DEFAULT_CATALOG_PATH, Catalog, load_catalog

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
JENKINS_VERSION = "2.440.3"
RESULTS = ("SUCCESS", "FAILURE", "UNSTABLE", "ABORTED")
CRUMB_FIELD = "Jenkins-Crumb"
# Jenkins estimates a build's duration from the job's last three successful builds.
ESTIMATE_SAMPLE = 3
# Jenkins lists at most this many builds in a job's api/json.
LISTED_BUILDS = 100
# How often queue items and builds move on (and pushes go out) between requests.
TICK_SECONDS = 0.02
PUSH_TIMEOUT_SECONDS = 5.0
COLORS = {"SUCCESS": "blue", "FAILURE": "red", "UNSTABLE": "yellow", "ABORTED": "aborted"}
# What Jenkins calls a successful build (lastSuccessfulBuild, estimates): unstable counts.
SUCCESSFUL = ("SUCCESS", "UNSTABLE")
WAITING_FOR_EXECUTOR = "Waiting for next available executor"
# The page Jenkins shows (with 503) while it starts up or restarts.
RESTARTING_PAGE = "Please wait while Jenkins is getting ready to work"
# How Jenkins writes a password parameter's value where it shows one at all.
MASKED = "****"


# ---------------------------------------------------------------------------- state


@dataclass
class Settings:
    build_seconds: float = 3.0
    queue_seconds: float = 0.5
    forget_seconds: float = 300.0
    push: bool = True
    notify_url: Optional[str] = None
    estimates: Dict[str, int] = field(default_factory=dict)  # job -> estimatedDuration (ms)
    # The API token Jenkins accepts; tests rotate it to check how wrong credentials read.
    api_token: str = field(default="", repr=False)
    executors: Optional[int] = None  # None: every ready item gets one at once
    stop_seconds: float = 0.0  # how long a build runs on after a stop


PARAMETER_TYPES = ("string", "boolean", "password")


@dataclass(frozen=True)
class Parameter:
    """One parameter definition of a job: a string, boolean or password parameter."""

    name: str
    type: str = "string"
    default: Any = ""  # a bool for a boolean parameter

    def value_of(self, given: Optional[str]) -> Any:
        """The value Jenkins makes of the submitted text (None: not submitted, the default)."""
        if given is None:
            return self.default
        if self.type == "boolean":
            return given.lower() == "true"  # Java's Boolean.parseBoolean
        return given

    def shown(self, value: Any) -> str:
        """The value as text where Jenkins prints it (console, queue item params)."""
        if self.type == "password":
            return MASKED
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


def parameter_from(spec: Any) -> Parameter:
    """A parameter from a name (a string parameter with an empty default) or from
    {"name", "type", "default"}."""
    if isinstance(spec, Parameter):
        return spec
    if isinstance(spec, str):
        return Parameter(spec)
    if not isinstance(spec, dict) or not spec.get("name") or set(spec) - {"name", "type", "default"}:
        raise ControlError(400, "a parameter is a name or {name, type, default}")
    kind = spec.get("type", "string")
    if kind not in PARAMETER_TYPES:
        raise ControlError(400, f"a parameter's type is one of {', '.join(PARAMETER_TYPES)}")
    default = spec.get("default", False if kind == "boolean" else "")
    return Parameter(str(spec["name"]), kind, bool(default) if kind == "boolean" else str(default))


# The catalog's jobs take these too, as real deploy jobs do: deploybot never sends them, and
# Jenkins lists them in every build (a boolean, a string with a default, a password).
CATALOG_EXTRA_PARAMETERS = (
    Parameter("DRY_RUN", "boolean", False),
    Parameter("CHANGE_TICKET", "string", ""),
    Parameter("DEPLOY_KEY", "password", "emulated-deploy-key"),
)


@dataclass
class Job:
    name: str  # the full name: "folder/job"
    parameters: List[Parameter]
    concurrent: bool = False
    next_number: int = 1

    @property
    def short_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def path(self) -> str:
        """"job/folder/job/name/": the job's URL below the Jenkins root."""
        return "".join(f"job/{quote(part)}/" for part in self.name.split("/"))


@dataclass(frozen=True)
class Override:
    """How one coming build behaves (control: POST /next-build)."""

    result: str = "SUCCESS"
    seconds: Optional[float] = None
    hang: bool = False
    console: Optional[Tuple[str, ...]] = None
    job: Optional[str] = None
    # The commits the build's SCM checkout brought (the changes since the job's previous
    # build), as the git plugin lists them: {"id", "date" ("2026-12-07 10:00:00 +0100", git's
    # %ci; its time is "timestamp"), "msg", "author"}. None or empty: no change set.
    commits: Tuple[Mapping[str, str], ...] = ()
    # A Pipeline job's run (WorkflowRun: "changeSets", a list) instead of a freestyle build
    # ("changeSet", one).
    pipeline: bool = False


@dataclass
class Fault:
    """How the next `count` API requests whose path contains `path` (and, if given, whose
    HTTP method is `method`, HEAD included) misbehave: answered after `delay` seconds (the work
    is still done, as a slow Jenkins does it), and/or refused with an HTTP `status` instead
    (nothing is done). A proxy that refuses HEAD is {"method": "HEAD", "status": 405}."""

    count: int
    path: str = ""
    delay: float = 0.0
    status: Optional[int] = None
    method: Optional[str] = None


# The pages Jenkins (or the proxy in front of it) shows with these statuses.
FAULT_PAGES = {403: "Access Denied", 405: "Method Not Allowed", 500: "Oops!", 502: "Bad Gateway",
               503: "Jenkins is getting ready to work"}


@dataclass
class Run:
    """One triggered build: a queue item first, then (unless cancelled) a build."""

    queue_id: int
    job: Job
    parameters: Dict[str, Any]  # every parameter of the job, in its definition order
    definitions: Tuple[Parameter, ...]  # the job's parameters when it was triggered
    user: str
    override: Override
    requested_at: float
    ready_at: float  # when the quiet period ends
    number: Optional[int] = None
    started_at: Optional[float] = None
    seconds: float = 0.0  # how long the build runs unless it hangs
    finished_at: Optional[float] = None
    result: Optional[str] = None
    cancelled_at: Optional[float] = None
    stopped_by: Optional[str] = None
    stop_at: Optional[float] = None  # a stop was asked for: the build ends ABORTED then
    stop_asked_by: Optional[str] = None
    requests: int = 1  # identical build requests merged into this queue item
    console_bytes_sent: int = 0  # how much of its console went over the wire
    forgotten: bool = False  # deleted from Jenkins (control POST /forget): its build and queue item answer 404

    @property
    def left_at(self) -> Optional[float]:
        return self.started_at if self.started_at is not None else self.cancelled_at

    @property
    def building(self) -> bool:
        return self.started_at is not None and self.finished_at is None

    def planned_end(self) -> float:
        """When the build ends by itself (never, if it hangs)."""
        return math.inf if self.override.hang else self.started_at + self.seconds

    def duration_ms(self) -> int:
        if self.started_at is None or self.finished_at is None:
            return 0  # Jenkins reports 0 while a build runs
        return round((self.finished_at - self.started_at) * 1000)

    def record(self) -> dict:
        """What control GET /builds reports."""
        return {
            "job": self.job.name, "number": self.number, "queue_id": self.queue_id,
            "parameters": dict(self.parameters), "requested_at": self.requested_at,
            "started_at": self.started_at, "finished_at": self.finished_at, "result": self.result,
            "cancelled": self.cancelled_at is not None, "requests": self.requests,
            "console_bytes_sent": self.console_bytes_sent,
        }


class Model:
    """Jobs, the queue and builds. Callers hold .lock; time moves on in advance()."""

    def __init__(self, jobs: Mapping[str, Sequence[str]], settings: Settings):
        self.lock = threading.RLock()
        self.root = ""  # "http://127.0.0.1:P", set once the API port is known
        self.jobs: Dict[str, Job] = {name: Job(name, [parameter_from(p) for p in params]) for name, params in jobs.items()}
        self.runs: List[Run] = []  # in queue id order
        self.overrides: List[Override] = []
        self.faults: List[Fault] = []
        self.initial_settings = settings
        self.settings = _copy_settings(settings)
        self.restart_started_at = 0.0
        self.restart_ends_at = 0.0
        self.pushes: "queue.Queue[Optional[Tuple[str, dict]]]" = queue.Queue()

    # jobs

    def put_job(self, name: str, parameters: Sequence[Parameter], concurrent: bool) -> Job:
        """Adds a job, or reconfigures it keeping its builds, as saving a job's config does."""
        job = self.jobs.setdefault(name, Job(name, []))
        job.parameters, job.concurrent = list(parameters), concurrent
        return job

    def delete_job(self, name: str) -> bool:
        job = self.jobs.pop(name, None)
        if job is None:
            return False
        for run in self.waiting(job):
            run.cancelled_at = time.time()
        return True

    def builds_of(self, job: Job) -> List[Run]:
        """The job's builds, newest first (`is`: a re-created job starts afresh)."""
        return [run for run in reversed(self.runs) if run.job is job and run.number is not None and not run.forgotten]

    def build(self, job: Job, reference: str) -> Optional[Run]:
        """A build by number or permalink (lastBuild, lastSuccessfulBuild, lastCompletedBuild)."""
        builds = self.builds_of(job)
        wanted: Dict[str, Callable[[Run], bool]] = {
            "lastBuild": lambda run: True,
            "lastSuccessfulBuild": lambda run: run.result in SUCCESSFUL,
            "lastCompletedBuild": lambda run: run.result is not None,
        }
        if reference in wanted:
            return next(filter(wanted[reference], builds), None)
        return next((run for run in builds if str(run.number) == reference), None)

    def waiting(self, job: Optional[Job] = None) -> List[Run]:
        return [run for run in self.runs if run.left_at is None and (job is None or run.job is job)]

    # the queue

    def trigger(self, job: Job, given: Mapping[str, str], user: str) -> Run:
        """Queues a build; a request identical to an item still waiting is merged into it."""
        # Unknown names are dropped and missing ones take their default, as in Jenkins.
        parameters = {p.name: p.value_of(given.get(p.name)) for p in job.parameters}
        same = next((run for run in self.waiting(job) if run.parameters == parameters), None)
        if same is not None:
            same.requests += 1
            return same
        now = time.time()
        run = Run(
            queue_id=len(self.runs) + 1, job=job, parameters=parameters, definitions=tuple(job.parameters),
            user=user, override=self._take_override(job), requested_at=now,
            ready_at=now + self.settings.queue_seconds,
        )
        self.runs.append(run)
        return run

    def _take_override(self, job: Job) -> Override:
        for override in self.overrides:
            if override.job in (None, job.name):
                self.overrides.remove(override)
                return override
        return Override()

    def queue_item(self, queue_id: int) -> Optional[Run]:
        """The run behind a queue id, unless Jenkins would have forgotten it by now."""
        if not 1 <= queue_id <= len(self.runs):
            return None
        run = self.runs[queue_id - 1]
        if run.forgotten:
            return None
        if run.left_at is not None and time.time() - run.left_at > self.settings.forget_seconds:
            return None
        if run.left_at is not None and run.left_at < self.restart_started_at:
            return None  # left items live in memory only: a restart forgets them
        return run

    def cancel(self, queue_id: int) -> int:
        """The HTTP status Jenkins answers to cancelItem."""
        run = self.queue_item(queue_id)
        if run is None:
            return 404
        if run.left_at is not None:
            return 422
        run.cancelled_at = time.time()
        return 204

    def blocker(self, run: Run) -> Optional[Run]:
        """The build that keeps this queue item waiting, if any."""
        if run.job.concurrent:
            return None
        return next((other for other in self.builds_of(run.job) if other.building), None)

    def executor_free(self) -> bool:
        limit = self.settings.executors
        return limit is None or sum(run.building for run in self.runs) < limit

    # restarts

    def restart(self, seconds: float) -> bool:
        """From now on for `seconds`, Jenkins is restarting: the API answers 503 and nothing
        starts. During a restart this only moves its end (0: it ends now); returns whether
        this began a new restart."""
        now = time.time()
        began = not self.restarting()
        if began:
            self.restart_started_at = now
        self.restart_ends_at = now + seconds
        return began

    def restarting(self) -> bool:
        return time.time() < self.restart_ends_at

    # builds

    def advance(self) -> None:
        """Ends builds and starts queue items whose time has come, at the exact times they were due.
        While Jenkins restarts, no executor takes anything: the queue waits (it survives restarts)."""
        now = time.time()
        while self._end_due(now) or (not self.restarting() and self._start_due(now)):
            pass

    def _end_due(self, now: float) -> bool:
        due = [run for run in self.runs if run.building and min(run.planned_end(), run.stop_at or math.inf) <= now]
        for run in due:
            if run.planned_end() <= (run.stop_at or math.inf):
                # A build that finishes before the stop takes effect keeps its own result.
                self.end(run, run.override.result, at=run.planned_end())
            else:
                self.end(run, "ABORTED", at=run.stop_at, stopped_by=run.stop_asked_by)
        return bool(due)

    def _start_due(self, now: float) -> bool:
        started = False
        for run in self.waiting():
            if run.ready_at <= now and self.blocker(run) is None and self.executor_free():
                self._start(run, at=max(run.ready_at, self._free_since(run.job), self._executor_free_since(),
                                        self.restart_ends_at))
                started = True
        return started

    def _executor_free_since(self) -> float:
        """With few executors, when one last became free (a close approximation: when any build ended)."""
        if self.settings.executors is None:
            return 0.0
        return max((run.finished_at for run in self.runs if run.finished_at), default=0.0)

    def stop(self, run: Run, user: str) -> None:
        """Asks a running build to stop: at once, or after stop_seconds, as a pipeline reacts."""
        if not run.building or run.stop_at is not None:
            return
        if self.settings.stop_seconds <= 0:
            self.end(run, "ABORTED", stopped_by=user)
            return
        run.stop_at, run.stop_asked_by = time.time() + self.settings.stop_seconds, user

    def _free_since(self, job: Job) -> float:
        """When the job's last build ended: a blocked item starts then, not at the next tick."""
        if job.concurrent:
            return 0.0
        return max((run.finished_at for run in self.builds_of(job) if run.finished_at), default=0.0)

    def _start(self, run: Run, at: float) -> None:
        run.number, run.job.next_number = run.job.next_number, run.job.next_number + 1
        run.started_at = at
        run.seconds = run.override.seconds if run.override.seconds is not None else self.settings.build_seconds
        # The Notification plugin sends QUEUED and STARTED together when the build starts.
        self._push(run, "QUEUED")
        self._push(run, "STARTED")

    def end(self, run: Run, result: str, at: Optional[float] = None, stopped_by: Optional[str] = None) -> None:
        run.finished_at = time.time() if at is None else at
        run.result, run.stopped_by = result, stopped_by
        self._push(run, "COMPLETED")
        self._push(run, "FINALIZED")

    def estimate_ms(self, run: Run) -> int:
        """estimatedDuration: a configured one, else the mean of the last successful builds before it."""
        if run.job.name in self.settings.estimates:
            return int(self.settings.estimates[run.job.name])
        earlier = [other.duration_ms() for other in self.builds_of(run.job)
                   if other.result in SUCCESSFUL and other.number < run.number][:ESTIMATE_SAMPLE]
        return int(sum(earlier) / len(earlier)) if earlier else -1

    # pushes

    def _push(self, run: Run, phase: str) -> None:
        # Like the plugin's list of endpoints: notify_url may hold several, space-separated.
        if self.settings.push and self.settings.notify_url:
            for url in self.settings.notify_url.split():
                self.pushes.put((url, self.notification(run, phase)))

    def notification(self, run: Run, phase: str) -> dict:
        """The Notification plugin's JSON for one phase of a build."""
        # The plugin sends the parameters as environment variables (text), leaving out sensitive ones.
        parameters = {p.name: p.shown(run.parameters[p.name]) for p in run.definitions if p.type != "password"}
        build = {
            "full_url": f"{self.root}/{run.job.path}{run.number}/", "number": run.number,
            "queue_id": run.queue_id, "phase": phase, "duration": run.duration_ms(),
            "url": f"{run.job.path}{run.number}/", "parameters": parameters,
        }
        if run.result is not None:
            build["status"] = run.result
        return {"name": run.job.short_name, "url": run.job.path, "build": build}

    def take_fault(self, method: str, path: str) -> Optional[Fault]:
        for fault in self.faults:
            if fault.path in path and fault.method in (None, method):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def reset(self) -> None:
        self.overrides.clear()
        self.faults.clear()
        self.settings = _copy_settings(self.initial_settings)
        self.restart_ends_at = min(self.restart_ends_at, time.time())


def _copy_settings(settings: Settings) -> Settings:
    return replace(settings, estimates=dict(settings.estimates))


# ---------------------------------------------------------------------------- console


def console_lines(run: Run, build_seconds: float) -> List[str]:
    """The build's console text so far, the way a freestyle deploy job writes it."""
    lines = [
        f"Started by user {run.user}",
        f"Building in workspace /var/jenkins_home/workspace/{run.job.name}",
        f"[{run.job.short_name}] $ /bin/sh -xe /tmp/jenkins{run.queue_id}.sh",
    ]
    script = list(run.override.console) if run.override.console is not None else _script_output(run)
    lines += script[:_shown(run, len(script), build_seconds)]
    if run.result is None:
        return lines
    if run.override.console is None and run.stopped_by is None:
        lines += _result_lines(run.result)
    if run.result == "ABORTED":
        lines.append("Build was aborted")
    if run.stopped_by:
        lines.append(f"Aborted by {run.stopped_by}")
    return lines + [f"Finished: {run.result}"]


def _script_output(run: Run) -> List[str]:
    lines = ["+ ./deploy.sh"] + [f"deploy: {p.name}={p.shown(run.parameters[p.name])}" for p in run.definitions]
    return lines + [
        "deploy: fetching the release artifact",
        "deploy: stopping the old instances",
        "deploy: starting the new instances",
        "deploy: running the smoke tests",
    ]


def _shown(run: Run, total: int, build_seconds: float) -> int:
    """How many script lines a running build has written: its share of the planned time."""
    if run.result is not None and run.stopped_by is None:
        return total
    planned = build_seconds if run.override.hang else run.seconds
    elapsed = (run.finished_at or time.time()) - run.started_at
    return total if planned <= 0 else min(total, math.ceil(total * elapsed / planned))


def _result_lines(result: str) -> List[str]:
    return {
        "SUCCESS": ["deploy: all instances are healthy"],
        "FAILURE": [
            "deploy: ERROR: smoke test failed: GET /health answered 503",
            "deploy: rolling back to the previous release",
            "+ exit 1",
            "Build step 'Execute shell' marked build as failure",
        ],
        "UNSTABLE": [
            "deploy: WARNING: 1 of 12 smoke tests was skipped",
            "Build step 'Execute shell' marked build as unstable",
        ],
        "ABORTED": [],
    }[result]


def time_span(seconds: float) -> str:
    """Jenkins' way of writing a duration: "2.4 sec", "15 sec", "1 min 3 sec"."""
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f} sec"
    if seconds < 60:
        return f"{int(seconds)} sec"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} sec"


# ---------------------------------------------------------------------------- HTTP plumbing


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    head: bool = False  # a HEAD, answered as the GET it is (method) without the body

    @property
    def parts(self) -> List[str]:
        return [unquote(part) for part in self.path.strip("/").split("/") if part]

    def json(self) -> dict:
        data = json.loads(self.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/html;charset=utf-8"
    headers: Dict[str, str] = field(default_factory=dict)
    console_of: Optional["Run"] = None  # a build whose console this body is


def json_reply(status: int, data: Any, headers: Optional[Dict[str, str]] = None) -> Reply:
    return Reply(status, json.dumps(data).encode(), "application/json;charset=utf-8", headers or {})


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, text.encode(), "text/plain;charset=utf-8")


def console_reply(body: bytes, run: "Run") -> Reply:
    """Console text; the bytes sent are counted on the build (tests check a tail stays a tail)."""
    return Reply(200, body, "text/plain;charset=utf-8", console_of=run)


def html_reply(status: int, title: str) -> Reply:
    page = f"<!DOCTYPE html><html><head><title>{title} [Jenkins]</title></head><body><h1>{title}</h1></body></html>"
    return Reply(status, page.encode())


class Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its open connections, so closing it cuts them too:
    a stopped Jenkins does not keep serving on kept-alive connections."""

    daemon_threads = True

    def __init__(self, port: int, answer: Callable[[Request], Reply]):
        self.answer = answer
        self.connections: set = set()
        self.connections_lock = threading.Lock()
        super().__init__((HOST, port), Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self.connections_lock:
            (self.connections.add if is_open else self.connections.discard)(connection)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone

    def answered_bytes(self, reply: Reply) -> None:
        if reply.console_of is not None:
            with self.connections_lock:  # handlers run on threads of their own
                reply.console_of.console_bytes_sent += len(reply.body)

    def handle_error(self, request, client_address) -> None:
        # Cut connections end their handlers with errors that mean nothing.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Jenkins (Jetty) does
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        # Jetty answers HEAD as GET without the body (the headers, Content-Length included, stay).
        self._handle(send_body=False)

    def _handle(self, send_body: bool = True) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        url = urlsplit(self.path)
        method = "GET" if self.command == "HEAD" else self.command
        request = Request(method, url.path, dict(parse_qsl(url.query)), self.headers, self.rfile.read(length),
                          head=self.command == "HEAD")
        reply = self.server.answer(request)
        self.send_response(reply.status)
        for name, value in {**reply.headers, "Content-Type": reply.content_type}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(reply.body)
            self.server.answered_bytes(reply)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


# ---------------------------------------------------------------------------- the Jenkins API


class JenkinsApi:
    """Jenkins' REST API over the model: auth, crumbs, routes and JSON shapes."""

    def __init__(self, model: Model, user: str):
        self.model = model
        self.user = user
        self.cookie_name = "JSESSIONID." + secrets.token_hex(4)
        self.instance = secrets.token_hex(4)
        self.crumbs: Dict[str, str] = {}  # session id -> crumb

    def restart(self, seconds: float) -> None:
        """Jenkins restarts for `seconds` (see Model.restart): web sessions, and so crumbs, are
    gone afterwards (a new instance id says so)."""
        with self.model.lock:
            if self.model.restart(seconds):
                self.crumbs.clear()
                self.instance = secrets.token_hex(4)

    def answer(self, request: Request) -> Reply:
        with self.model.lock:
            fault = self.model.take_fault("HEAD" if request.head else request.method, request.path)
        if fault and fault.delay:
            time.sleep(fault.delay)  # outside the lock: other requests go on meanwhile
        with self.model.lock:
            self.model.advance()
            if fault and fault.status:
                reply = html_reply(fault.status, FAULT_PAGES.get(fault.status, "Error"))
            elif self.model.restarting():
                reply = html_reply(503, RESTARTING_PAGE)  # before authentication, as Jenkins starting up does
            else:
                reply = self._refusal(request) or self._route(request)
        reply.headers.update({"X-Jenkins": JENKINS_VERSION, "X-Jenkins-Session": self.instance})
        return reply

    def _refusal(self, request: Request) -> Optional[Reply]:
        if not self._authenticated(request):
            reply = html_reply(401, "Unauthorized")
            reply.headers["WWW-Authenticate"] = 'Basic realm="Jenkins"'
            return reply
        if request.method == "POST" and not self._crumb_valid(request):
            return text_reply(403, "No valid crumb was included in the request")
        return None

    def _authenticated(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, token = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return hmac.compare_digest(user.encode(), self.user.encode()) and hmac.compare_digest(
            token.encode(), self.model.settings.api_token.encode())

    def _session(self, request: Request) -> Optional[str]:
        cookie = SimpleCookie(request.headers.get("Cookie", ""))
        morsel = cookie.get(self.cookie_name)
        return morsel.value if morsel and morsel.value in self.crumbs else None

    def _crumb_valid(self, request: Request) -> bool:
        # Crumbs are bound to the web session, as Jenkins does since 2.176.
        session = self._session(request)
        sent = request.headers.get(CRUMB_FIELD, "")
        return session is not None and hmac.compare_digest(self.crumbs[session], sent)

    def _route(self, request: Request) -> Reply:
        parts, method = request.parts, request.method
        if parts[:1] == ["job"]:
            return self._job_route(request, parts)
        if method == "GET" and parts == []:
            return html_reply(200, "Dashboard")
        if method == "GET" and parts == ["me", "api", "json"]:
            return json_reply(200, self._me())
        if method == "GET" and parts == ["crumbIssuer", "api", "json"]:
            return self._issue_crumb(request)
        if method == "GET" and len(parts) == 5 and parts[:2] == ["queue", "item"] and parts[3:] == ["api", "json"]:
            return self._queue_item(parts[2])
        if method == "GET" and parts == ["queue", "api", "json"]:
            return json_reply(200, {"_class": "hudson.model.Queue", "discoverableItems": [],
                                    "items": [self._queue_item_json(run) for run in self.model.waiting()]})
        if method == "POST" and parts == ["queue", "cancelItem"]:
            return self._cancel(request.query.get("id", ""))
        return html_reply(404, "Not Found")

    def _me(self) -> dict:
        return {"_class": "hudson.model.User", "absoluteUrl": f"{self.model.root}/user/{self.user}",
                "description": None, "fullName": self.user, "id": self.user, "property": []}

    def _issue_crumb(self, request: Request) -> Reply:
        session = self._session(request)
        headers = {}
        if session is None:
            session = "node0" + secrets.token_hex(12) + ".node0"
            self.crumbs[session] = secrets.token_hex(32)
            headers["Set-Cookie"] = f"{self.cookie_name}={session}; Path=/; HttpOnly"
        crumb = {"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": self.crumbs[session],
                 "crumbRequestField": CRUMB_FIELD}
        return json_reply(200, crumb, headers)

    def _queue_item(self, text: str) -> Reply:
        run = self.model.queue_item(int(text)) if text.isdigit() else None
        if run is None:
            return html_reply(404, "Not Found")
        return json_reply(200, self._queue_item_json(run))

    def _cancel(self, text: str) -> Reply:
        status = self.model.cancel(int(text)) if text.isdigit() else 404
        return Reply(status) if status == 204 else html_reply(status, "Cannot cancel")

    # jobs

    def _job_route(self, request: Request, parts: List[str]) -> Reply:
        names, rest = _split_job_path(parts)
        job = self.model.jobs.get("/".join(names))
        if job is None:
            return html_reply(404, "Not Found")
        method = request.method
        if method == "GET" and rest == []:
            return html_reply(200, job.name)
        if method == "GET" and rest == ["api", "json"]:
            return json_reply(200, self._job_json(job))
        if method == "POST" and rest == ["build"]:
            return self._build_without_parameters(job)
        if method == "POST" and rest == ["buildWithParameters"]:
            return self._build_with_parameters(job, request)
        run = self.model.build(job, rest[0]) if rest else None
        if run is None:
            return html_reply(404, "Not Found")
        return self._build_route(method, rest[1:], run, request)

    def _build_without_parameters(self, job: Job) -> Reply:
        if job.parameters:
            return html_reply(400, "Nothing is submitted")
        return self._queued(self.model.trigger(job, {}, self.user))

    def _build_with_parameters(self, job: Job, request: Request) -> Reply:
        if not job.parameters:
            return html_reply(500, "java.lang.IllegalStateException: This build is not parameterized!")
        given = {**request.query, **_form(request)}
        return self._queued(self.model.trigger(job, given, self.user))

    def _queued(self, run: Run) -> Reply:
        return Reply(201, headers={"Location": f"{self.model.root}/queue/item/{run.queue_id}/"})

    def _build_route(self, method: str, rest: List[str], run: Run, request: Request) -> Reply:
        if method == "GET" and rest == []:
            return html_reply(200, f"{run.job.name} #{run.number}")
        if method == "GET" and rest == ["api", "json"]:
            return json_reply(200, self._build_json(run))
        if method == "GET" and rest == ["consoleText"]:
            return console_reply(self._console(run), run)
        if method == "GET" and rest == ["logText", "progressiveText"]:
            # Jenkins' LargeText: the text from byte `start` on, its whole size in X-Text-Size; a
            # start past the end counts as text that rolled over, and the whole text is sent.
            text = self._console(run)
            start = int(request.query.get("start") or 0)
            reply = console_reply(text[start if 0 <= start <= len(text) else 0:], run)
            reply.headers.update({"X-Text-Size": str(len(text)), **({"X-More-Data": "true"} if run.building else {})})
            return reply
        if method == "POST" and rest == ["stop"]:
            self.model.stop(run, self.user)
            # Jenkins redirects back to the build page, which python-jenkins follows.
            return Reply(302, headers={"Location": self._build_url(run)})
        return html_reply(404, "Not Found")

    def _console(self, run: Run) -> bytes:
        return ("\n".join(console_lines(run, self.model.settings.build_seconds)) + "\n").encode()

    # JSON shapes

    def _job_url(self, job: Job) -> str:
        return f"{self.model.root}/{job.path}"

    def _build_url(self, run: Run) -> str:
        return f"{self._job_url(run.job)}{run.number}/"

    def _build_ref(self, run: Optional[Run]) -> Optional[dict]:
        if run is None:
            return None
        return {"_class": "hudson.model.FreeStyleBuild", "number": run.number, "url": self._build_url(run)}

    def _job_json(self, job: Job) -> dict:
        builds = self.model.builds_of(job)
        waiting = self.model.waiting(job)
        return {
            "_class": "hudson.model.FreeStyleProject",
            "name": job.short_name, "fullName": job.name, "displayName": job.short_name,
            "fullDisplayName": job.name.replace("/", " » "), "url": self._job_url(job),
            "buildable": True, "color": _color(builds), "concurrentBuild": job.concurrent,
            "builds": [self._build_ref(run) for run in builds[:LISTED_BUILDS]],
            "firstBuild": self._build_ref(builds[-1] if builds else None),
            "lastBuild": self._build_ref(self.model.build(job, "lastBuild")),
            "lastCompletedBuild": self._build_ref(self.model.build(job, "lastCompletedBuild")),
            "lastSuccessfulBuild": self._build_ref(self.model.build(job, "lastSuccessfulBuild")),
            "inQueue": bool(waiting), "queueItem": self._queue_item_json(waiting[0]) if waiting else None,
            "nextBuildNumber": job.next_number,
            "property": [_parameters_property(job)] if job.parameters else [],
        }

    def _build_json(self, run: Run) -> dict:
        if run.override.pipeline:
            # A WorkflowRun lists one change log per checkout, none at all without changes.
            logs = [_git_change_log(run.override.commits)] if run.override.commits else []
            changes = {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "changeSets": logs}
        else:
            changes = {"_class": "hudson.model.FreeStyleBuild",
                       "changeSet": _git_change_log(run.override.commits) if run.override.commits
                       else {"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None}}
        return {
            **changes,
            "actions": self._actions(run), "artifacts": [], "building": run.building,
            "description": None, "displayName": f"#{run.number}", "duration": run.duration_ms(),
            "estimatedDuration": self.model.estimate_ms(run),
            "fullDisplayName": f"{run.job.name.replace('/', ' » ')} #{run.number}",
            "id": str(run.number), "keepLog": False, "number": run.number, "queueId": run.queue_id,
            "result": run.result, "timestamp": int(run.started_at * 1000), "url": self._build_url(run),
            "builtOn": "",
        }

    def _actions(self, run: Run) -> List[dict]:
        cause = {"_class": "hudson.model.Cause$UserIdCause", "shortDescription": f"Started by user {run.user}",
                 "userId": run.user, "userName": run.user}
        actions = [{"_class": "hudson.model.CauseAction", "causes": [cause]}]
        if run.definitions:
            values = [_parameter_value(p, run.parameters[p.name]) for p in run.definitions]
            actions.insert(0, {"_class": "hudson.model.ParametersAction", "parameters": values})
        return actions

    def _queue_item_json(self, run: Run) -> dict:
        item = {
            "actions": self._actions(run), "blocked": False, "buildable": False, "id": run.queue_id,
            "inQueueSince": int(run.requested_at * 1000), "stuck": False,
            "params": "".join(f"\n{p.name}={p.shown(run.parameters[p.name])}" for p in run.definitions),
            "task": {"_class": "hudson.model.FreeStyleProject", "name": run.job.short_name,
                     "url": self._job_url(run.job), "color": _color(self.model.builds_of(run.job))},
            "url": f"queue/item/{run.queue_id}/",
        }
        if run.left_at is None:
            return {**item, **self._waiting_state(run)}
        executable = self._build_ref(run) if run.number is not None else None
        return {**item, "_class": "hudson.model.Queue$LeftItem", "why": None,
                "cancelled": run.cancelled_at is not None, "executable": executable}

    def _waiting_state(self, run: Run) -> dict:
        """_class and why of an item still in the queue: in its quiet period, blocked by a
        running build of its job, or waiting for an executor (after advance() an item with
        none of these reasons has always started)."""
        now = time.time()
        if now < run.ready_at:
            return {"_class": "hudson.model.Queue$WaitingItem", "timestamp": int(run.ready_at * 1000),
                    "why": f"In the quiet period. Expires in {time_span(run.ready_at - now)}"}
        blocker = self.model.blocker(run)
        if blocker is None:
            return {"_class": "hudson.model.Queue$BuildableItem", "buildable": True, "pending": False,
                    "buildableStartMilliseconds": int(run.ready_at * 1000), "why": WAITING_FOR_EXECUTOR}
        estimate = self.model.estimate_ms(blocker)
        eta = time_span(estimate / 1000 - (now - blocker.started_at)) if estimate > 0 else "N/A"
        return {"_class": "hudson.model.Queue$BlockedItem", "blocked": True,
                "why": f"Build #{blocker.number} is already in progress (ETA:{eta})"}


def _split_job_path(parts: List[str]) -> Tuple[List[str], List[str]]:
    """["job", "a", "job", "b", "3", "api", "json"] -> (["a", "b"], ["3", "api", "json"])."""
    names, index = [], 0
    while index + 1 < len(parts) and parts[index] == "job":
        names.append(parts[index + 1])
        index += 2
    return names, parts[index:]


def _form(request: Request) -> Dict[str, str]:
    if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(request.body.decode()))
    return {}


def _color(builds: List[Run]) -> str:
    """The job's ball color: the last completed result, "_anime" while a build runs."""
    completed = next((run.result for run in builds if run.result is not None), None)
    color = COLORS.get(completed, "notbuilt")
    return color + "_anime" if any(run.building for run in builds) else color


def _parameters_property(job: Job) -> dict:
    definitions = [
        {"_class": f"hudson.model.{_java_type(p)}Definition", "name": p.name, "type": f"{_java_type(p)}Definition",
         "description": "", "defaultParameterValue": _parameter_value(p, p.default)}
        for p in job.parameters
    ]
    return {"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": definitions}


def _java_type(parameter: Parameter) -> str:
    return {"string": "StringParameter", "boolean": "BooleanParameter", "password": "PasswordParameter"}[parameter.type]


def _parameter_value(parameter: Parameter, value: Any) -> dict:
    """A parameter value as Jenkins' API shows it: a password's value is not exported at all."""
    shown = {"_class": f"hudson.model.{_java_type(parameter)}Value", "name": parameter.name}
    if parameter.type != "password":
        shown["value"] = value
    return shown


# ---------------------------------------------------------------------------- the control API


class ControlError(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ControlApi:
    """Steers the emulator: build outcomes, settings, outages, jobs; reports what Jenkins received."""

    def __init__(self, emulator: "JenkinsEmulator"):
        self.emulator = emulator
        self.model = emulator.model

    def answer(self, request: Request) -> Reply:
        try:
            return self._route(request)
        except ControlError as error:
            return json_reply(error.status, {"error": str(error)})
        except (ValueError, TypeError, KeyError) as error:
            return json_reply(400, {"error": f"bad request: {error}"})

    def _route(self, request: Request) -> Reply:
        method, parts = request.method, request.parts
        if method == "DELETE" and parts[:1] == ["jobs"] and len(parts) > 1:
            return self._delete_job("/".join(parts[1:]))
        if method == "GET" and parts == ["builds"]:
            with self.model.lock:
                self.model.advance()
                return json_reply(200, [run.record() for run in self.model.runs])
        if method == "POST" and parts == ["refuse-connections"]:
            seconds = float(request.json().get("seconds", 0))
            self.emulator.refuse_connections(seconds)
            return json_reply(200, {"refusing_seconds": seconds})
        if method == "POST" and parts == ["restart"]:
            return self._restart(request.json())
        actions = {"next-build": self._next_build, "finish": self._finish, "settings": self._settings,
                   "jobs": self._put_job, "reset": self._reset, "faults": self._add_fault, "forget": self._forget}
        if method == "POST" and len(parts) == 1 and parts[0] in actions:
            with self.model.lock:
                self.model.advance()
                return actions[parts[0]](request.json())
        raise ControlError(404, f"no control endpoint {method} {request.path}")

    def _next_build(self, body: dict) -> Reply:
        _known_keys(body, ("result", "seconds", "hang", "console", "job", "commits", "pipeline"))
        console = body.get("console")
        commits = body.get("commits") or []
        if not isinstance(commits, list) or not all(isinstance(c, dict) and isinstance(c.get("id"), str)
                                                    for c in commits):
            raise ControlError(400, "commits is a list of {id, date, msg, author}")
        override = Override(
            result=_result(body.get("result", "SUCCESS")),
            seconds=float(body["seconds"]) if body.get("seconds") is not None else None,
            hang=bool(body.get("hang", False)),
            console=tuple(str(line) for line in console) if console is not None else None,
            job=body.get("job"),
            commits=tuple({k: str(c.get(k, "")) for k in ("id", "date", "msg", "author")} for c in commits),
            pipeline=bool(body.get("pipeline", False)),
        )
        if override.job is not None and override.job not in self.model.jobs:
            raise ControlError(404, f"no job {override.job}")
        self.model.overrides.append(override)
        return json_reply(200, {"pending_overrides": len(self.model.overrides)})

    def _add_fault(self, body: dict) -> Reply:
        _known_keys(body, ("count", "path", "delay", "status", "method"))
        fault = Fault(count=int(body.get("count", 1)), path=str(body.get("path", "")),
                      delay=float(body.get("delay", 0)),
                      status=int(body["status"]) if body.get("status") is not None else None,
                      method=str(body["method"]).upper() if body.get("method") else None)
        if fault.count < 1 or fault.delay < 0 or (fault.status is not None and not 400 <= fault.status < 600):
            raise ControlError(400, "a fault needs count >= 1, delay >= 0 and an HTTP error status")
        self.model.faults.append(fault)
        return json_reply(200, {"pending_faults": len(self.model.faults)})

    def _forget(self, body: dict) -> Reply:
        """Jenkins no longer knows a build (deleted, discarded by log rotation, a job re-created):
        its pages and its queue item answer 404 from now on."""
        _known_keys(body, ("job", "number"))
        job = self.model.jobs.get(body["job"])
        run = self.model.build(job, str(body["number"])) if job else None
        if run is None:
            raise ControlError(404, f"no build {body['job']} #{body['number']}")
        run.forgotten = True
        return json_reply(200, {"forgotten": f"{run.job.name} #{run.number}"})

    def _restart(self, body: dict) -> Reply:
        _known_keys(body, ("seconds",))
        seconds = float(body.get("seconds", 0))
        if seconds < 0:
            raise ControlError(400, "a restart takes seconds >= 0")
        self.emulator.api.restart(seconds)
        return json_reply(200, {"restarting_seconds": seconds})

    def _finish(self, body: dict) -> Reply:
        _known_keys(body, ("job", "number", "result"))
        job = self.model.jobs.get(body["job"])
        run = self.model.build(job, str(body["number"])) if job else None
        if run is None:
            raise ControlError(404, f"no build {body['job']} #{body['number']}")
        if not run.building:
            raise ControlError(409, f"{run.job.name} #{run.number} has already finished")
        self.model.end(run, _result(body.get("result", "SUCCESS")))
        return json_reply(200, run.record())

    def _settings(self, body: dict) -> Reply:
        _known_keys(body, ("build_seconds", "queue_seconds", "forget_seconds", "push", "notify_url", "estimates",
                           "api_token", "executors", "stop_seconds"))
        settings = self.model.settings
        for name in ("build_seconds", "queue_seconds", "forget_seconds", "stop_seconds"):
            if name in body:
                setattr(settings, name, float(body[name]))
        if "executors" in body:
            settings.executors = int(body["executors"]) if body["executors"] is not None else None
            if settings.executors is not None and settings.executors < 1:
                raise ControlError(400, "executors is a number >= 1, or null for as many as needed")
        if "push" in body:
            settings.push = bool(body["push"])
        if "notify_url" in body:
            settings.notify_url = body["notify_url"] or None
        if "estimates" in body:
            settings.estimates.update({job: int(ms) for job, ms in body["estimates"].items()})
        if "api_token" in body:
            settings.api_token = str(body["api_token"])
        shown = asdict(settings)
        shown.pop("api_token")
        return json_reply(200, shown)

    def _put_job(self, body: dict) -> Reply:
        _known_keys(body, ("name", "parameters", "concurrent"))
        name = str(body["name"]).strip("/")
        if not name:
            raise ControlError(400, "a job needs a name")
        status = 200 if name in self.model.jobs else 201
        parameters = [parameter_from(p) for p in body.get("parameters", [])]
        job = self.model.put_job(name, parameters, bool(body.get("concurrent")))
        return json_reply(status, {"name": job.name, "parameters": [p.name for p in job.parameters],
                                   "definitions": [asdict(p) for p in job.parameters], "concurrent": job.concurrent})

    def _delete_job(self, name: str) -> Reply:
        with self.model.lock:
            if not self.model.delete_job(name):
                raise ControlError(404, f"no job {name}")
        return Reply(204)

    def _reset(self, body: dict) -> Reply:
        self.model.reset()
        self.emulator.refuse_connections(0)
        return json_reply(200, asdict(self.model.settings))


def _git_change_log(commits: Sequence[Mapping[str, str]]) -> dict:
    """A hudson.plugins.git.GitChangeSetList as the API shows it: each entry's "timestamp" is
    its "date" in ms, at second precision, or -1 when the date cannot be read (the git
    plugin's GitChangeSet.getTimestamp)."""
    return {"_class": "hudson.plugins.git.GitChangeSetList", "kind": "git", "items": [
        {"_class": "hudson.plugins.git.GitChangeSet", "affectedPaths": [], "commitId": c["id"], "id": c["id"],
         "timestamp": _git_timestamp_ms(c.get("date", "")), "date": c.get("date", ""),
         "author": {"absoluteUrl": f"http://{HOST}/user/{quote(c.get('author', ''))}", "fullName": c.get("author", "")},
         "authorEmail": f"{c.get('author', '')}@example.com", "comment": c.get("msg", "") + "\n",
         "msg": c.get("msg", ""), "paths": []} for c in commits]}


def _git_timestamp_ms(date: str) -> int:
    for pattern in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return int(datetime.strptime(date, pattern).timestamp()) * 1000
        except ValueError:
            pass
    return -1


def _known_keys(body: dict, known: Sequence[str]) -> None:
    # A misspelt setting must not pass silently and leave a test running on defaults.
    unknown = set(body) - set(known)
    if unknown:
        raise ControlError(400, f"unknown keys {sorted(unknown)}; known: {', '.join(known)}")


def _result(value: Any) -> str:
    if value not in RESULTS:
        raise ControlError(400, f"result must be one of {', '.join(RESULTS)}")
    return value


# ---------------------------------------------------------------------------- the emulator


class JenkinsEmulator:
    """The emulator in-process: start() serves in background threads, stop() ends them.

    jobs maps each job's full name ("folder/job") to its parameters ([] for a job without
    parameters): names of string parameters, Parameter or {"name", "type", "default"}.
    Port 0 picks a free port.
    """

    def __init__(self, user: str, api_token: str, jobs: Mapping[str, Sequence[Any]], *, port: int = 0,
                 control_port: int = 0, notify_url: Optional[str] = None, build_seconds: float = 3.0,
                 queue_seconds: float = 0.5, forget_seconds: float = 300.0):
        settings = Settings(build_seconds=build_seconds, queue_seconds=queue_seconds,
                            forget_seconds=forget_seconds, notify_url=notify_url, api_token=api_token)
        self.model = Model(jobs, settings)
        self.api = JenkinsApi(self.model, user)
        self.port, self.control_port = port, control_port
        self._api_server: Optional[Server] = None
        self._control_server: Optional[Server] = None
        self._servers_lock = threading.Lock()
        self._reopen_timer: Optional[threading.Timer] = None
        self._stopping = threading.Event()
        self._threads: List[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def control_url(self) -> str:
        return f"http://{HOST}:{self.control_port}"

    def start(self) -> None:
        self._control_server = Server(self.control_port, ControlApi(self).answer)
        self.control_port = self._control_server.server_address[1]
        self._open_api()
        self.model.root = self.url
        for target in (self._tick, self._send_pushes):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self.model.pushes.put(None)
        with self._servers_lock:
            if self._reopen_timer:
                self._reopen_timer.cancel()
            self._close_api()
        if self._control_server:
            self._control_server.close()
        for thread in self._threads:
            thread.join(timeout=PUSH_TIMEOUT_SECONDS + 1)

    def refuse_connections(self, seconds: float) -> None:
        """Closes the API port (clients get "connection refused") and reopens it after seconds."""
        with self._servers_lock:
            if self._reopen_timer:
                self._reopen_timer.cancel()
            if seconds <= 0:
                self._open_api()
                return
            self._close_api()
            self._reopen_timer = threading.Timer(seconds, self.refuse_connections, args=(0,))
            self._reopen_timer.daemon = True
            self._reopen_timer.start()

    def _open_api(self) -> None:
        if self._api_server is None and not self._stopping.is_set():
            self._api_server = Server(self.port, self.api.answer)
            self.port = self._api_server.server_address[1]  # the same port when it reopens

    def _close_api(self) -> None:
        if self._api_server is not None:
            self._api_server.close()
            self._api_server = None

    def _tick(self) -> None:
        # Without requests, time must still move on: builds end and pushes go out.
        while not self._stopping.wait(TICK_SECONDS):
            with self.model.lock:
                self.model.advance()

    def _send_pushes(self) -> None:
        # One sender keeps the phases of a build in order; a failed push is dropped, as the plugin does.
        while (item := self.model.pushes.get()) is not None:
            url, payload = item
            try:
                _post_json(url, payload)
            except (OSError, ValueError) as error:
                log.warning("Notification to %s failed, dropped: %s", _for_log(url), error)


def _post_json(url: str, payload: dict) -> None:
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if parts.username is not None:
        # The plugin takes basic auth from the URL's user:password@ part.
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    request = urllib.request.Request(_without_userinfo(url), json.dumps(payload).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=PUSH_TIMEOUT_SECONDS) as response:
        response.read()


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _for_log(url: str) -> str:
    # The query may carry a token (?token=...), like the userinfo a password.
    return urlsplit(_without_userinfo(url))._replace(query="").geturl()


def jobs_from_catalog(catalog: Catalog, extras: Sequence[Parameter] = CATALOG_EXTRA_PARAMETERS) -> Dict[str, List[Parameter]]:
    """One job per app, taking the parameters the app's deployments pass, then the extras."""
    return {app.jenkins_job: [Parameter(name) for _, name in app.jenkins_parameters] + list(extras)
            for app in catalog.apps.values()}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.jenkins_emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--api-token", default=os.environ.get("JENKINS_EMULATOR_API_TOKEN"))
    parser.add_argument("--catalog", default=str(DEFAULT_CATALOG_PATH))
    parser.add_argument("--notify-url", default=os.environ.get("JENKINS_EMULATOR_NOTIFY_URL") or None,
                        help="where to push notifications; several URLs separated by spaces")
    parser.add_argument("--build-seconds", type=float, default=3.0)
    parser.add_argument("--queue-seconds", type=float, default=0.5)
    parser.add_argument("--forget-seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    if not args.api_token:
        parser.error("set JENKINS_EMULATOR_API_TOKEN (or --api-token): the token the emulator accepts")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    emulator = JenkinsEmulator(
        args.user, args.api_token, jobs_from_catalog(load_catalog(args.catalog)), port=args.port,
        control_port=args.control_port, notify_url=args.notify_url, build_seconds=args.build_seconds,
        queue_seconds=args.queue_seconds, forget_seconds=args.forget_seconds,
    )
    # Handlers first: whoever reads the line below may send SIGTERM at once.
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    emulator.start()
    print(f"Jenkins emulator on {emulator.url} (control on :{emulator.control_port})", flush=True)
    while not stopping.wait(0.5):
        pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
