"""What the bot's API token may do through Rasa's HTTP API: nothing as a person.

The token opens Rasa's HTTP API (/conversations/<id>/...), and there the caller names the
conversation, so it could write into any person's conversation: trigger "approve" in a
colleague's, or "set up two-factor" in a new hire's and read the secret from the answer.
The system itself only ever triggers its own EXTERNAL_* intents there (deployment reports,
approval decisions, expired locks; each checked against deploybot's records by its action).
So, before Rasa's handlers run:

- trigger_intent takes only EXTERNAL_* intents;
- writing into a conversation (tracker/events, messages, execute) is refused for Slack's
  people (ids of Slack's shape, deploybot.policy.identity.is_slack_id): a token speaks for local
  names only. Test stacks opt out with DEPLOYBOT_TOKEN_SENDERS_MAY_BE_SLACK_IDS;
- the model cannot be replaced, unloaded or retrained: a bot runs the model it started with.

Refusals answer 403 and are audited (api_request). Reading (GET .../tracker, /model/parse)
stays open to the token. deploybot.rasa_glue.rasa_server installs this before `rasa run` starts.
"""
from __future__ import annotations

import asyncio
import logging
import os
from http import HTTPStatus
from typing import Optional

log = logging.getLogger(__name__)
SYSTEM_INTENT_PREFIX = "EXTERNAL_"
CONVERSATION_WRITES = ("tracker/events", "messages", "execute")
MODEL_CHANGES = {("PUT", "/model"), ("DELETE", "/model"), ("POST", "/model/train")}


def refusal_reason(method: str, path: str, conversation: Optional[str], intent: object, slack_ids_allowed: bool) -> Optional[str]:
    """Why a request to Rasa's HTTP API is refused, or None when it may go on."""
    from deploybot.policy.identity import is_slack_id

    if (method, path.rstrip("/")) in MODEL_CHANGES:
        return "the model cannot be changed through the API"
    if conversation is None or method not in ("POST", "PUT"):
        return None
    if path.endswith("/trigger_intent"):
        if not (isinstance(intent, str) and intent.startswith(SYSTEM_INTENT_PREFIX)):
            return f"only the system's own EXTERNAL_* intents may be triggered, not {str(intent)[:60]!r}"
        return None
    if path.endswith(CONVERSATION_WRITES) and is_slack_id(conversation) and not slack_ids_allowed:
        return "a token writes into no Slack person's conversation"
    return None


def install() -> None:
    """Adds the guard to every app rasa.server.create_app makes (idempotent)."""
    from rasa import server

    if getattr(server.create_app, "deploybot_guarded", False):
        return
    create_app = server.create_app

    def guarded_create_app(*args, **kwargs):
        app = create_app(*args, **kwargs)
        app.register_middleware(_guard, "request")
        return app

    guarded_create_app.deploybot_guarded = True
    server.create_app = guarded_create_app


async def _guard(request):
    from sanic import response

    from deploybot.policy.identity import same_secret, token_of

    if not same_secret(token_of(request.args, request.headers), os.environ.get("DEPLOYBOT_API_TOKEN")):
        return None  # without the token Rasa itself answers 401: this guard is about what the token may do
    conversation = request.match_info.get("conversation_id") if request.route else None
    intent = None
    if conversation is not None and request.path.endswith("/trigger_intent"):
        try:
            body = request.json
        except Exception:  # sanic raises on a body that is not JSON; Rasa answers that itself
            body = None
        intent = body.get("name") if isinstance(body, dict) else None
    why = refusal_reason(request.method, request.path, conversation, intent, _settings()[0])
    if why is None:
        return None
    log.warning("refused an HTTP API request %s %s from %s: %s", request.method, request.path[:120], request.ip, why)
    await asyncio.to_thread(_audit, f"HTTP API request refused: {why} ({request.method} {request.path[:120]}, from {request.ip})")
    return response.json({"error": f"Refused: {why}."}, status=HTTPStatus.FORBIDDEN)


_SETTINGS = []


def _settings():
    """(slack ids allowed, audit log) of this bot, loaded once."""
    if not _SETTINGS:
        from deploybot.domain.catalog import load_catalog
        from deploybot.policy.permissions import Permissions
        from deploybot.domain.profiles import current_assistant_id, load_profiles
        from deploybot.storage.database import Database, database_url

        profile = load_profiles()[current_assistant_id()]
        _SETTINGS.extend([profile.token_senders_may_be_slack_ids, Permissions(Database(database_url()), profile, load_catalog())])
    return _SETTINGS


def _audit(detail: str) -> None:
    _settings()[1].audit("unknown", "api_request", "refused", detail=detail[:500])
