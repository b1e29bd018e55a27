"""Rasa's REST and callback channels, open only to callers that hold the bot's API token.

On these channels the caller names the sender, so the sender is only as trustworthy as the
caller. A request counts only with this bot's API token (DEPLOYBOT_API_TOKEN of its Rasa
server: `Authorization: Bearer <token>` or `?token=<token>`, compared in constant time).
Without it the answer is 401: nothing reaches the conversation, nothing is said, and the
refusal is in the audit log. The terminal chat, the tests and the benchmarks send it.

Also, unlike Rasa's own channels:
- the sender must be a plain id (deploybot.policy.identity): it may end up as a Jenkins parameter;
- the sender must be a local name, never of Slack's shape (U…, W…, B…, A…): a token is no
  person, and Slack's people speak only through Slack, so nothing granted to, waiting for or
  enrolled by a Slack person is reachable here (test stacks opt out with
  DEPLOYBOT_TOKEN_SENDERS_MAY_BE_SLACK_IDS, and only they);
- the caller cannot choose the input channel's name or pass metadata: both would let it
  pose as Slack (reports into any Slack channel) or as a trusted build system (no yes);
- a profile can switch either channel off (`channels: {rest: false}`): 404 for everything.

credentials.yml names these classes by module path.
"""
from __future__ import annotations

import asyncio
import logging
import os
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.callback import CallbackInput
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from deploybot.rasa_glue import payloads
from deploybot.domain.catalog import load_catalog
from deploybot.policy.identity import is_plain_id, is_slack_id, same_secret, token_of
from deploybot.policy.permissions import Permissions
from deploybot.domain.profiles import current_assistant_id, load_profiles
from deploybot.rasa_glue.rasa_server import API_TOKEN_ENV
from deploybot.storage.database import Database, database_url

log = logging.getLogger(__name__)


class TokenGate:
    """The checks both channels make before a request reaches the conversation."""

    def __init__(self, channel: str):
        self.channel = channel
        self.token = os.environ.get(API_TOKEN_ENV, "")
        profile = load_profiles()[current_assistant_id()]
        self.profile_id = profile.id
        self.enabled = profile.channel_enabled(channel)
        self.slack_ids_allowed = profile.token_senders_may_be_slack_ids
        self.bot_name = profile.name
        self.audit_log = Permissions(Database(database_url()), profile, load_catalog())

    def install(self, blueprint: Blueprint) -> Blueprint:
        @blueprint.middleware("request")
        async def only_with_the_token(request: Request):
            return await self.refusal(request)

        return blueprint

    async def refusal(self, request: Request) -> Optional[response.HTTPResponse]:
        """None when the request may go on; otherwise the answer, and the audit entry."""
        if not self.enabled:
            return response.json({"error": f"The {self.channel} channel is switched off for {self.bot_name}."},
                                 status=HTTPStatus.NOT_FOUND)
        if request.method == "GET":  # the channel's health check says nothing about anyone
            return None
        claimed, message = _sender_and_message(request)
        if not same_secret(token_of(request.args, request.headers), self.token):
            log.warning("refused a %s request without a valid API token from %s", self.channel, request.ip)
            await self._audit("no valid API token", claimed, request)
            return response.json({"error": "A valid API token is required (Authorization: Bearer <token>)."},
                                 status=HTTPStatus.UNAUTHORIZED)
        if not is_plain_id(claimed):
            await self._audit("the sender is not a plain id", claimed, request)
            return response.json({"error": "The sender must be a plain id: letters, digits and . _ @ + - only, "
                                           "at most 64 characters."}, status=HTTPStatus.BAD_REQUEST)
        if is_slack_id(claimed) and not self.slack_ids_allowed:
            await self._audit("the sender is a Slack id, and a token speaks for no Slack person", claimed, request)
            return response.json({"error": f"{claimed} is a Slack id: Slack's people speak to {self.bot_name} only through "
                                           "Slack, which proves who they are. A token channel speaks for local names."},
                                 status=HTTPStatus.FORBIDDEN)
        if not isinstance(message, str):
            return response.json({"error": "The message must be text."}, status=HTTPStatus.BAD_REQUEST)
        if payloads.is_typed_intent(message):  # let through as plain text (deploybot.rasa_glue.payloads), but noted
            await asyncio.to_thread(self.audit_log.audit, claimed, "typed_intent", "refused",
                                    detail=f"read as plain text: {message[:200]}")
        return None

    async def token_refusal(self, request: Request) -> Optional[response.HTTPResponse]:
        """For channels whose sender is not in the body (channels/voice.py): only the switch and
        the token."""
        if not self.enabled:
            return response.json({"error": f"The {self.channel} channel is switched off for {self.bot_name}."},
                                 status=HTTPStatus.NOT_FOUND)
        if not same_secret(token_of(request.args, request.headers), self.token):
            await self._audit("no valid API token", None, request)
            return response.json({"error": "A valid API token is required (Authorization: Bearer <token>)."},
                                 status=HTTPStatus.UNAUTHORIZED)
        return None

    async def audit_refusal(self, why: str, claimed: Any, request: Request) -> None:
        await self._audit(why, claimed, request)

    async def _audit(self, why: str, claimed: Any, request: Request) -> None:
        detail = f"{self.channel} request refused: {why} (from {request.ip}, claimed sender {str(claimed)[:80]!r})"
        await asyncio.to_thread(self.audit_log.audit, "unknown", f"{self.channel}_request", "refused", detail=detail)


def _sender_and_message(request: Request) -> tuple:
    try:
        body = request.json
    except Exception:  # sanic raises on a body that is not JSON
        return None, None
    return (body.get("sender"), body.get("message")) if isinstance(body, dict) else (None, None)


class AuthenticatedRestInput(RestInput):
    """POST /webhooks/rest/webhook {"sender", "message"} with the bot's API token."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "AuthenticatedRestInput":
        return cls()

    def __init__(self) -> None:
        self.gate = TokenGate(self.name())

    def _extract_input_channel(self, request: Request) -> Text:
        return self.name()  # never what the caller says

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None  # metadata is what trusted channels (Slack) say about a message, not a caller

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        return self.gate.install(super().blueprint(on_new_message))


class AuthenticatedCallbackInput(CallbackInput):
    """POST /webhooks/callback/webhook {"sender", "message"} with the bot's API token; the
    replies go to the callback URL (the terminal chat)."""

    @classmethod
    def name(cls) -> Text:
        return "callback"

    def __init__(self, endpoint) -> None:
        super().__init__(endpoint)
        self.gate = TokenGate(self.name())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return self.gate.install(super().blueprint(on_new_message))
