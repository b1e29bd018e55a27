"""Load test: many concurrent users per bot through full deploy conversations against the
real stack (tests.support) with the Jenkins emulator, then a check that every deployment
was started and reported exactly once.

    .venv/bin/python -m bench.load [--users-per-bot 50] [--production]

Every simulated user (a sender id of its own, its own app from apps.yml and a version no
one else uses) asks its bot "deploy <app> <version>", expects the restated question, says
"yes" and expects "OK, deploying ...". Only one deployment per app and environment may be
active, so most users first hear that the app "is already being deployed": that is the
right answer, counted as busy; the user waits a short, jittered moment and asks again.
After its "OK" the user waits for the start and outcome reports in its conversation.
Bender's users are granted their app before the measured phase.

Each chat turn (one POST to /webhooks/rest/webhook until its reply) is timed at the
client. A turn fails on a non-200 status, an exception or timeout, or a reply that is not
one of the expected texts for its step; a user stops at its first failed turn.

At the end three independent sources are compared per user: the builds the emulator
received (GET /builds), the deployments table, and the user's tracker (and, for Bender,
the management channel's post of each production success). A deployment is
lost when the bot said "OK, deploying" but no build, no succeeded record with both
reports marked, or no start or outcome report in the conversation followed; duplicated
when there is more than one of any of these. Exit status 1 on any failed turn, lost or
duplicated deployment, or unexpected build or record; else 0.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from sqlalchemy import select

from bench.report_latency import APPS, NAMES, job
from deploybot.storage.database import Database
from deploybot.storage.models import Deployment
from tests.support import Bot, Stack, grant, new_user_id, start_stack, stop_stack

BOTS = {"marvin": "staging", "bender": "production"}
# Bender is addressed as in Slack; both bots understand the plain request as well.
REQUEST = {"marvin": "deploy {app} {version}", "bender": "@bender deploy {app} {version}"}
# A deployment holds its app and environment from the "yes" until its build has ended.
JUST_STARTED = "Another deployment of that app just finished starting; try again."
# Quick builds and polling; pushes on (as Jenkins' Notification plugin would send them).
SETTINGS = {"DEPLOYBOT_POLL_SECONDS": "1", "DEPLOYBOT_BUILD_TIMEOUT_SECONDS": "300",
            "DEPLOYBOT_JENKINS_PUSH_TOKEN": "load-push-token"}


# -- one chat turn ------------------------------------------------------------------


@dataclass
class Turn:
    bot: str
    step: str       # "request" or "yes"
    seconds: float
    ok: bool
    busy: bool = False


class FailedTurn(Exception):
    pass


def post_turn(bot: Bot, sender: str, text: str, timeout: float) -> List[str]:
    """The bot's reply texts; FailedTurn on a non-200 status, an exception or a timeout."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"{bot.url}/webhooks/rest/webhook", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {bot.token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        raise FailedTurn(f"HTTP {error.code}: {error.read()[:300]!r}") from None
    except Exception as error:  # noqa: BLE001 - a failed request is what is counted here
        raise FailedTurn(f"{type(error).__name__}: {error}") from None
    try:
        return [reply.get("text", "") for reply in json.loads(raw)]
    except (ValueError, AttributeError):
        raise FailedTurn(f"not a JSON list of replies: {raw[:300]!r}") from None


# -- the simulated users ------------------------------------------------------------


@dataclass
class User:
    bot: str
    index: int
    app: str
    version: str
    id: str = field(default_factory=new_user_id)
    requests: int = 0               # how often it asked (1 + busy answers)
    busy: int = 0
    ok_at: Optional[float] = None   # when the bot said "OK, deploying" (time.time())
    failure: Optional[str] = None   # the first failed turn, or why it gave up
    reported_at: Optional[float] = None

    @property
    def environment(self) -> str:
        return BOTS[self.bot]

    @property
    def name(self) -> str:
        return NAMES[self.app]

    def question(self) -> str:
        return f"Deploy {self.name} {self.version} to {self.environment}? (yes/no)"

    def ok(self) -> str:
        return (f"OK, deploying {self.name} {self.version} to {self.environment}: Jenkins has queued it."
                " I'll report here when the build starts and when it ends.")

    def is_busy(self, text: str) -> bool:
        return text == JUST_STARTED or re.fullmatch(
            rf"{re.escape(self.app)} is already being deployed to {self.environment} by U[0-9A-F]{{10}} "
            rf"\(version [0-9.]+, [^)]+\)\.", text) is not None

    def start_prefix(self) -> str:
        return f"Deploying {self.name} {self.version} to {self.environment}: Jenkins build #"

    def outcome_prefixes(self) -> Sequence[str]:
        """Any outcome report; only the first means success."""
        what = f"version {self.version} to {self.environment}"
        return f"{self.name}: deployed {what} in ", f"{self.name}: deploying {what} "


class Run:
    """Shared state of the measured phase."""

    def __init__(self, stack: Stack, args):
        self.stack, self.args = stack, args
        self.turns: List[Turn] = []
        self.errors: List[str] = []
        self.lock = threading.Lock()
        self.deadline = 0.0          # for asking; waiting for reports may go on for the grace period
        self.reports_deadline = 0.0
        self.started_at = self.last_turn_at = time.perf_counter()
        self.builds: Dict[str, List[dict]] = {}  # by REQUESTED_BY, from the emulator
        self.builds_seen = threading.Condition()
        self.stopping = threading.Event()

    def bot_for(self, user: User, turn: int) -> Bot:
        """With several replicas, successive turns of a conversation go to different ones."""
        replicas = self.stack.replicas[user.bot]
        return replicas[(user.index + turn) % len(replicas)]

    def turn(self, user: User, step: str, text: str, expected: str, turn_number: int) -> Optional[List[str]]:
        """One timed turn; the replies, or None when it failed (recorded)."""
        started = time.perf_counter()
        try:
            texts = post_turn(self.bot_for(user, turn_number), user.id, text, self.args.turn_timeout)
            problem = None
        except FailedTurn as error:
            texts, problem = None, str(error)
        seconds = time.perf_counter() - started
        busy = step == "yes" and texts is not None and len(texts) == 1 and user.is_busy(texts[0])
        if problem is None and texts != [expected] and not busy:
            problem = f"unexpected reply {texts!r}"
        with self.lock:
            self.last_turn_at = time.perf_counter()
            self.turns.append(Turn(user.bot, step, seconds, problem is None, busy))
            if problem is not None:
                self.errors.append(f"{user.bot} {user.id} {step} {text!r}: {problem} (after {seconds:.1f} s)")
        if problem is not None:
            user.failure = f"{step}: {problem}"
            return None
        return texts

    def converse(self, user: User) -> None:
        """Request, confirm, again while busy; then wait for both reports."""
        rng, turn_number = random.Random(user.id), 0
        while True:
            if time.monotonic() > self.deadline:
                user.failure = f"still busy at the deadline after {user.requests} requests"
                return
            user.requests += 1
            text = REQUEST[user.bot].format(app=user.app, version=user.version)
            if self.turn(user, "request", text, user.question(), turn_number) is None:
                return
            replies = self.turn(user, "yes", "yes", user.ok(), turn_number + 1)
            turn_number += 2
            if replies is None:
                return
            if replies == [user.ok()]:
                user.ok_at = time.time()
                break
            user.busy += 1
            time.sleep(rng.uniform(*self.args.busy_wait))
        self.wait_for_reports(user)

    def wait_for_reports(self, user: User) -> None:
        """Until the emulator has ended the user's build, then until its tracker has both
        reports (the final check counts them again)."""
        with self.builds_seen:
            while not any(b["finished_at"] for b in self.builds.get(user.id, [])):
                if time.monotonic() > self.reports_deadline or self.stopping.is_set():
                    return
                self.builds_seen.wait(timeout=2)
        while time.monotonic() < self.reports_deadline:
            said = self.said(user)
            if said is not None and any(t.startswith(user.start_prefix()) for t in said) and any(
                    t.startswith(user.outcome_prefixes()) for t in said):
                user.reported_at = time.time()
                return
            time.sleep(1)

    def said(self, user: User) -> Optional[List[str]]:
        try:
            return self.stack.bots[user.bot].said(user.id)
        except Exception:  # noqa: BLE001 - asked again
            return None

    def follow_builds(self) -> None:
        """One reader of the emulator's /builds for every user, once a second."""
        while not self.stopping.is_set():
            try:
                builds = self.stack.jenkins.control("GET", "/builds")
            except Exception:  # noqa: BLE001 - asked again
                builds = None
            if builds is not None:
                by_user = defaultdict(list)
                for build in builds:
                    by_user[build["parameters"].get("REQUESTED_BY")].append(build)
                with self.builds_seen:
                    self.builds = dict(by_user)
                    self.builds_seen.notify_all()
            self.stopping.wait(1)


# -- figures ------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> Optional[Dict[str, float]]:
    if not values:
        return None
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 99
    return {"p50": statistics.median(ordered), "p95": cuts[94], "p99": cuts[98], "max": ordered[-1]}


def latency_line(label: str, turns: Sequence[Turn]) -> str:
    ok = [t.seconds * 1000 for t in turns if t.ok]
    failed = sum(not t.ok for t in turns)
    figures = percentiles(ok)
    shown = " ".join(f"{figures[k]:8.0f}" for k in ("p50", "p95", "p99", "max")) if figures else "       -" * 4
    return f"  {label:<16} {len(turns):6d} {failed:6d} {shown}"


@dataclass
class Verdict:
    """Per bot: the final count from the three sources."""
    requested: int = 0          # the bot said "OK, deploying"
    started: int = 0            # builds the emulator received for those users
    start_reported: int = 0     # users with exactly one start report in their conversation
    outcome_reported: int = 0   # users with exactly one success report
    recorded: int = 0           # exactly one succeeded record with both reports marked
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0         # builds or records of users the bot never said "OK" to
    problems: List[str] = field(default_factory=list)


def unsettled(database_url: str) -> int:
    """Deployments still active, or with a report not yet delivered, in the database."""
    with Database(database_url).transaction() as session:
        return sum(1 for r in session.scalars(select(Deployment)) if r.state in ("confirmed", "queued", "running")
                   or (r.build_number is not None and r.start_reported_at is None) or r.outcome_reported_at is None)


def settle(database_url: str, until: float) -> int:
    """Waits (up to the monotonic time until) for every deployment to end with both reports
    delivered; then a little longer, as a duplicate would come within a poll interval or two."""
    while (left := unsettled(database_url)) and time.monotonic() < until:
        time.sleep(2)
    time.sleep(3)
    return left


def verify(stack: Stack, users: Sequence[User], database_url: str) -> Dict[str, Verdict]:
    # The trackers first: a report is marked delivered in the database only once it was said.
    said = {user.id: stack.bots[user.bot].said(user.id) for user in users if user.ok_at is not None}
    builds = defaultdict(list)
    for build in stack.jenkins.control("GET", "/builds"):
        builds[build["parameters"].get("REQUESTED_BY")].append(build)
    with Database(database_url).transaction() as session:
        records = defaultdict(list)
        for record in session.scalars(select(Deployment)):
            records[record.requested_by].append(record)
    verdicts = {bot: Verdict() for bot in BOTS}
    for user in users:
        verdict = verdicts[user.bot]
        mine = [b for b in builds.get(user.id, []) if b["job"] == job(user.app)]
        rows = [r for r in records.get(user.id, []) if r.assistant == user.bot]
        if user.ok_at is None:
            if mine or rows:
                verdict.unexpected += 1
                verdict.problems.append(f"{user.id}: {len(mine)} build(s), {len(rows)} record(s) without an OK ({user.failure})")
            continue
        verdict.requested += 1
        starts = sum(t.startswith(user.start_prefix()) for t in said[user.id])
        outcomes = [t for t in said[user.id] if t.startswith(user.outcome_prefixes())]
        successes = sum(t.startswith(user.outcome_prefixes()[0]) for t in outcomes)
        good_builds = [b for b in mine if b["parameters"].get(
            "APP_VERSION" if user.app == "intranet" else "VERSION") == user.version and b["result"] == "SUCCESS"]
        good_rows = [r for r in rows if r.state == "succeeded" and r.version == user.version
                     and r.environment == user.environment and r.start_reported_at and r.outcome_reported_at]
        verdict.started += bool(mine)
        verdict.start_reported += starts == 1
        verdict.outcome_reported += len(outcomes) == 1 and successes == 1
        verdict.recorded += len(rows) == 1 and len(good_rows) == 1
        if len(mine) > 1 or len(rows) > 1 or starts > 1 or len(outcomes) > 1:
            verdict.duplicated += 1
            verdict.problems.append(f"{user.id} ({user.app} {user.version}) duplicated: {len(mine)} builds, "
                                    f"{len(rows)} records, {starts} start and {len(outcomes)} outcome reports")
        elif not (len(good_builds) == 1 and len(good_rows) == 1 and starts == 1 and successes == 1):
            verdict.lost += 1
            verdict.problems.append(
                f"{user.id} ({user.app} {user.version}) lost: builds {[(b['number'], b['result']) for b in mine]}, "
                f"records {[(r.id, r.state, bool(r.start_reported_at), bool(r.outcome_reported_at)) for r in rows]}, "
                f"{starts} start and {len(outcomes)} outcome reports {outcomes[:1]}")
    return verdicts


def report_delays(stack: Stack, users: Sequence[User]) -> Dict[str, List[float]]:
    """Seconds from each build's start and end in the emulator to its start and outcome
    reports in the tracker (same machine, same clock)."""
    builds = {b["parameters"].get("REQUESTED_BY"): b for b in stack.jenkins.control("GET", "/builds") if b["finished_at"]}
    delays = {"start": [], "outcome": []}
    for user in users:
        build = builds.get(user.id)
        if build is None:
            continue
        said = [(e["timestamp"], e.get("text") or "") for e in stack.bots[user.bot].tracker(user.id)["events"]
                if e["event"] == "bot"]
        for report, prefix, moment in (("start", user.start_prefix(), "started_at"),
                                       ("outcome", user.outcome_prefixes(), "finished_at")):
            reported = [at for at, text in said if text.startswith(prefix)]
            if reported:
                delays[report].append(reported[0] - build[moment])
    return delays


def management_posts(stack: Stack, users: Sequence[User]) -> Counter:
    """Bender's production successes also go to the management channel (a log file
    locally): how many posts name each of Bender's users."""
    path = stack.var_dir / "log" / "management.log"
    posts = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    senders = {u.id for u in users if u.bot == "bender"}
    found = Counter()
    for post in posts:
        for sender in re.findall(r"deployed by (U[0-9A-F]{10}) ", post["text"]):
            if sender in senders:
                found[sender] += 1
    return found


# -- the run ------------------------------------------------------------------------


def make_users(per_bot: int) -> List[User]:
    """User n of each bot deploys app n mod 6, with a version no one else has."""
    return [User(bot, n, APPS[n % len(APPS)], f"{b + 5}.{n}.0")
            for b, bot in enumerate(BOTS) for n in range(per_bot)]


def warm_up(stack: Stack) -> None:
    """One unmeasured request and "no" per Rasa server (the first turns are slow)."""
    for bot_id, replicas in stack.replicas.items():
        for bot in replicas:
            sender = new_user_id()
            if bot_id == "bender":
                grant(stack.bots["bender"], sender, "cms")
            bot.texts(sender, REQUEST[bot_id].format(app="cms", version="0.0.1"))
            bot.texts(sender, "no")


def measured_phase(stack: Stack, users: Sequence[User], args) -> (Run, float):
    run = Run(stack, args)
    follower = threading.Thread(target=run.follow_builds, daemon=True)
    follower.start()
    run.deadline = time.monotonic() + args.deadline
    run.reports_deadline = run.deadline + args.report_grace
    started = run.started_at = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=len(users)) as pool:
            for future in [pool.submit(run.converse, user) for user in users]:
                future.result()
    finally:
        run.stopping.set()
        follower.join()
    return run, time.perf_counter() - started


def print_figures(args, users: Sequence[User], run: Run, wall: float, verdicts: Dict[str, Verdict],
                  delays: Dict[str, List[float]], posts: Counter) -> None:
    replicas = ", 2 replicas per bot, PostgreSQL and Redis" if args.production else ", SQLite"
    print(f"Load test: {args.users_per_bot} concurrent users per bot ({len(users)} in all), full deploy conversations,"
          f" builds of {args.build_seconds:g} s{replicas}")
    print()
    print("Chat turns, ms at the client (a turn: POST /webhooks/rest/webhook until its reply; failed turns not in the figures)")
    print(f"  {'':<16} {'turns':>6} {'failed':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}")
    for bot in BOTS:
        for step in ("request", "yes"):
            print(latency_line(f"{bot} {step}", [t for t in run.turns if t.bot == bot and t.step == step]))
        print(latency_line(f"{bot} all", [t for t in run.turns if t.bot == bot]))
    print(latency_line("overall", run.turns))
    asking = run.last_turn_at - run.started_at
    print(f"  {len(run.turns)} turns in {asking:.1f} s from the first turn to the last: {len(run.turns) / asking:.1f} turns per second"
          f" (then {wall - asking:.1f} s more until the last reports)")
    print()
    busy = Counter(t.bot for t in run.turns if t.busy)
    most = max((u.busy for u in users), default=0)
    print("Busy answers (another deployment of the app was active; the user asked again): "
          + ", ".join(f"{bot} {busy[bot]}" for bot in BOTS) + f"; at most {most} for one user")
    print(f"Failed turns: {len(run.errors)}")
    for error in run.errors[:5]:
        print(f"  {error}")
    gave_up = [u for u in users if u.ok_at is None]
    if gave_up:
        print(f"Users without an OK: {len(gave_up)}")
        for user in gave_up[:5]:
            print(f"  {user.bot} {user.id} ({user.app} {user.version}): {user.failure}")
    print()
    print("Deployments                                          " + "".join(f"{bot:>8}" for bot in BOTS) + f"{'total':>8}")
    rows = [("requested (the bot said \"OK, deploying\")", "requested"),
            ("started (builds the Jenkins emulator received)", "started"),
            ("start reported (exactly once, in the tracker)", "start_reported"),
            ("outcome reported (exactly once, in the tracker)", "outcome_reported"),
            ("recorded (one row: succeeded, both reports marked)", "recorded"),
            ("lost (not started or not reported at the end)", "lost"), ("duplicated", "duplicated"),
            ("unexpected (a build or row without an OK)", "unexpected")]
    for label, name in rows:
        values = [getattr(verdicts[bot], name) for bot in BOTS]
        print(f"  {label:<51}" + "".join(f"{v:8d}" for v in values) + f"{sum(values):8d}")
    for verdict in verdicts.values():
        for problem in verdict.problems[:5]:
            print(f"  {problem}")
    bender_users = [u for u in users if u.bot == "bender" and u.ok_at]
    print(f"  management channel posts: {sum(posts[u.id] == 1 for u in bender_users)} of Bender's {len(bender_users)}"
          f" deployments posted exactly once, {sum(posts[u.id] > 1 for u in bender_users)} more than once")
    print()
    for report, moment in (("start", "start"), ("outcome", "end")):
        values = delays[report]
        if values:
            print(f"Build {moment} in Jenkins to its {report} report in the conversation: median {statistics.median(values):.2f} s,"
                  f" min {min(values):.2f} s, max {max(values):.2f} s over {len(values)} builds")
    waits = [u.reported_at - u.ok_at for u in users if u.reported_at and u.ok_at]
    if waits:
        print(f"\"OK, deploying\" to both reports seen: median {statistics.median(waits):.1f} s, max {max(waits):.1f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users-per-bot", type=int, default=50)
    parser.add_argument("--build-seconds", type=float, default=1.5, help="how long each emulated build runs")
    parser.add_argument("--deadline", type=float, default=420,
                        help="seconds after which users stop asking (a user still busy then has failed)")
    parser.add_argument("--report-grace", type=float, default=90,
                        help="seconds after the deadline that reports may still arrive")
    parser.add_argument("--turn-timeout", type=float, default=120, help="a turn taking longer has failed")
    parser.add_argument("--busy-wait", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
                        help="seconds a user waits after a busy answer before asking again (uniform)")
    parser.add_argument("--production", action="store_true",
                        help="PostgreSQL for deploybot and the trackers, Redis locks, 2 replicas per bot")
    parser.add_argument("--keep", action="store_true", help="keep the stack's var directory (kept anyway on failure)")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    var_dir = Path(tempfile.mkdtemp(prefix="deploybot-load-"))
    settings = {**SETTINGS, "DEPLOYBOT_EMULATOR_BUILD_SECONDS": f"{args.build_seconds:g}"}
    services, database_url = [], None
    if args.production:
        from tests.services import Postgres, Redis
        postgres, redis = Postgres(), Redis()
        services = [postgres, redis]
        postgres.start()
        redis.start()
        database_url = postgres.url("deploybot")
        settings.update({"DEPLOYBOT_DATABASE_URL": database_url, "DEPLOYBOT_REDIS_URL": redis.url,
                         "MARVIN_TRACKER_URL": postgres.url("marvin_tracker"),
                         "BENDER_TRACKER_URL": postgres.url("bender_tracker")})
    passed, exit_code = False, None
    try:
        stack = start_stack(var_dir / "var", settings, startup_timeout=600, replicas=2 if args.production else 1)
        database_url = database_url or stack.database_url()
        try:
            startup = time.perf_counter() - began
            warm_up(stack)
            users = make_users(args.users_per_bot)
            # Setup, not measured: an admin grants each of Bender's users its app.
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda u: grant(stack.bots["bender"], u.id, u.app), [u for u in users if u.bot == "bender"]))
            run, wall = measured_phase(stack, users, args)
            pending = settle(database_url, run.reports_deadline)
            verdicts = verify(stack, users, database_url)
            delays = report_delays(stack, users)
            posts = management_posts(stack, users)
        finally:
            exit_code = stop_stack(stack)
        print_figures(args, users, run, wall, verdicts, delays, posts)
        if pending:
            print(f"At the end, {pending} deployment(s) in the database were still active or had a report not yet sent")
        passed = not run.errors and all(not (v.lost or v.duplicated or v.unexpected) for v in verdicts.values()) \
            and all(u.ok_at for u in users) and all(posts[u.id] == 1 for u in users if u.bot == "bender")
        if exit_code != 0:
            print(f"The stack exited with status {exit_code} on SIGTERM")
            passed = False
        total = time.perf_counter() - began
        print(f"Wall time: {total:.0f} s ({startup:.0f} s to start the stack, {wall:.0f} s measured)")
        print("PASSED" if passed else "FAILED")
    finally:
        for service in services:
            service.stop()
        if passed and not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
        else:
            print(f"The stack's databases and logs: {var_dir / 'var'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
