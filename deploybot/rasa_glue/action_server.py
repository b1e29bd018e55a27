"""One bot's action server: rasa-sdk's server with our actions, plus the deployment watcher
and the endpoint that Jenkins' Notification plugin pushes to.

    python -m deploybot.rasa_glue.action_server --port 5055     (DEPLOYBOT_ASSISTANT says which bot)

Actions run only for callers that send DEPLOYBOT_ACTIONS_TOKEN (endpoints.yml makes the bot's
Rasa send it as ?token=): without the variable the server does not start. The push
endpoint, POST /jenkins/notifications?token=..., needs DEPLOYBOT_JENKINS_PUSH_TOKEN; without
it pushes are refused and polling alone follows the builds.
"""
from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from datetime import timedelta

from rasa_sdk.endpoint import create_app
from sanic import response

from actions.approvals import watch_expiry as watch_approvals
from actions.context import catalog, deployment_store, file_freezes, jenkins_client, permissions, profile, profiles, slack_directory
from deploybot.ledger.address import public_url
from deploybot.ledger.digest import DigestSender
from deploybot.delivery.notifier import AllOf, local_notifier
from deploybot.adapters.slack.notifier import SlackNotifier
from deploybot.delivery.reports import RasaReporter
from deploybot.domain.profiles import rasa_urls
from deploybot.policy.step_up import build_system_problem, startup_problem
from deploybot.rasa_glue.rasa_server import ACTIONS_TOKEN_ENV
from deploybot.storage.database import var_dir
from deploybot.domain.freeze_file import FreezeFileError
from deploybot.domain.lock_expiry import LockExpiryAnnouncer
from deploybot.domain.deploy_queue import QueueTurns
from deploybot.delivery.schedule_announcer import ScheduleAnnouncer
from deploybot.delivery.watcher import LOST_AFTER_SECONDS, Watcher

PUSH_TOKEN_ENV = "DEPLOYBOT_JENKINS_PUSH_TOKEN"
LOST_AFTER_ENV = "DEPLOYBOT_BUILD_LOST_AFTER_SECONDS"
# rasa-sdk's routes that run or list actions; /health stays open for probes.
ACTION_ROUTES = ("/webhook", "/actions")
log = logging.getLogger("deploybot.rasa_glue.action_server")


def make_watcher() -> Watcher:
    me = profile()
    notifier = local_notifier(var_dir(), os.environ.get("DEPLOYBOT_MANAGEMENT_URL"))
    if slack_directory() is not None:
        notifier = AllOf([notifier, SlackNotifier(slack_directory())])
    return Watcher(
        store=deployment_store(), jenkins=jenkins_client(),
        reporter=RasaReporter(rasa_urls(profiles()), os.environ.get("DEPLOYBOT_API_TOKEN")),
        notifier=notifier,
        profiles=profiles(), catalog=catalog(), assistant=me.id,
        poll_seconds=me.poll_seconds, build_timeout_seconds=me.build_timeout_seconds,
        # How long a build Jenkins no longer knows is waited for before it is recorded as lost.
        lost_after_seconds=lost_after_seconds(os.environ.get(LOST_AFTER_ENV, "")),
        digest=DigestSender(deployment_store().db, me, notifier, public_url()),
    )


def lost_after_seconds(text: str) -> float:
    if not text.strip():
        return LOST_AFTER_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"{LOST_AFTER_ENV} must be a number of seconds (0 or more), not {text!r}.")
    return seconds


def make_lock_expiry_announcer() -> LockExpiryAnnouncer:
    return LockExpiryAnnouncer(deployment_store().db, rasa_urls(profiles()), os.environ.get("DEPLOYBOT_API_TOKEN"),
                               profile().id, poll_seconds=profile().poll_seconds)


def make_queue_turns() -> QueueTurns:
    """The deploy queue's loop (issue 24): turns given, passed on and said; audited as Permissions does."""
    return QueueTurns(deployment_store().db, rasa_urls(profiles()), os.environ.get("DEPLOYBOT_API_TOKEN"), profile().id,
                      turn_seconds=profile().queue_turn_seconds, audit=lambda *args, **details: permissions().audit(*args, **details),
                      may_deploy=lambda user, app: permissions().may_deploy(user, app), poll_seconds=profile().poll_seconds)


def make_schedule_announcer() -> ScheduleAnnouncer:
    """Scheduled deploys at their time (issue 24): polled as often as the builds."""
    return ScheduleAnnouncer(deployment_store().db, rasa_urls(profiles()), os.environ.get("DEPLOYBOT_API_TOKEN"),
                             profile().id, timedelta(seconds=profile().confirmation_timeout_seconds),
                             poll_seconds=profile().poll_seconds)


def same_secret(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def build_app(actions_token: str):
    app = create_app("actions")
    watcher = make_watcher()
    push_token = os.environ.get(PUSH_TOKEN_ENV, "")

    @app.on_request
    async def only_our_rasa_runs_actions(request):
        if request.path.rstrip("/") in ACTION_ROUTES and not same_secret(request.args.get("token", ""), actions_token):
            log.warning("refused %s %s from %s: no valid actions token", request.method, request.path, request.ip)
            return response.json({"error": "a valid token is required"}, status=403)

    @app.after_server_start
    async def start_watching(app, _loop):
        app.add_task(watcher.run())
        app.add_task(watch_approvals())  # four-eyes approvals expire (issue 14)
        app.add_task(make_lock_expiry_announcer().run())
        app.add_task(make_queue_turns().run())  # "you're next" (issue 24)
        app.add_task(make_schedule_announcer().run())  # scheduled deploys at their time (issue 24)

    @app.post("/jenkins/notifications")
    async def jenkins_notification(request):
        if not same_secret(request.args.get("token", ""), push_token):
            return response.json({"error": "a valid token is required"}, status=403)
        try:
            payload = request.json
        except Exception:  # sanic raises on a body that is not JSON
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("build"), dict):
            return response.json({"error": "expected a Notification plugin JSON object"}, status=400)
        watcher.wake()  # the watcher asks Jenkins itself; the push only says "now"
        return response.json({"status": "accepted"}, status=202)

    return app


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="deploybot action server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=os.environ.get("SANIC_HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    actions_token = os.environ.get(ACTIONS_TOKEN_ENV, "")
    if not actions_token:
        print(f"deploybot.rasa_glue.action_server: set {ACTIONS_TOKEN_ENV}, the secret this bot's Rasa sends "
              "(endpoints.yml); without it anyone on the host could run the actions.", file=sys.stderr)
        return 2
    refusal = build_system_problem(profile(), catalog())  # a build system never skips a code (issue 22)
    if refusal:
        print(f"deploybot.rasa_glue.action_server: {refusal}", file=sys.stderr)
        return 2
    try:
        file_freezes()  # freezes.yml read now: a wrong entry stops the start, named (issue 24)
    except FreezeFileError as wrong:
        print(f"deploybot.rasa_glue.action_server: {wrong}", file=sys.stderr)
        return 2
    problem = startup_problem(profile(), catalog())  # production safeguards (issue 14)
    if problem:
        log.warning(problem)
    app = build_app(actions_token)
    app.run(args.host, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
