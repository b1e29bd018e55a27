"""The Slack connector the bots need: a small subclass of Rasa's own (credentials.yml names
it by module path). What it changes, and why (see ../shared/notes/rasa-3.6.md):

- Token, signing secret and API base URL come from the environment (deploybot.slack.settings),
  so GovSlack and the tests' fake work, and secrets stay out of files.
- Replies, and reports that arrive minutes later, go into the thread of the request.
  Whether a top-level request starts a thread is the profile's `slack.start_threads`.
- Messages from bots are ignored unless the profile trusts them (build systems).
- Every event and message is handled once: retries and the two events one mention can
  produce are deduplicated in the database (deploybot.slack.deliveries).
- Yes/No buttons count only for the requester; a click updates the question to show the
  decision and who made it, and removes the buttons.
- Bad signatures, stale timestamps and malformed bodies get a 4xx and are not processed;
  the log says why, never what the body held.
"""
from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from deploybot.catalog import load_catalog
from deploybot.permissions import Permissions
from deploybot.profiles import current_assistant_id, load_profiles
from deploybot.slack.deliveries import Deliveries
from deploybot.slack.events import Request as SlackRequest
from deploybot.slack.events import request_from
from deploybot.slack.settings import SlackSettings
from deploybot.slack.users import USER_ID_IN_TEXT, display_name_of
from deploybot.storage.database import Database, database_url

log = logging.getLogger(__name__)
BUTTONS_BLOCK = "deploybot-buttons:"   # + the requester's id: only their click counts
REPLY_TO_KEY = "deploybot_slack"       # in a custom message: {"channel", "thread_ts"}
# Display names by user id, for the life of the process: an output channel is made per
# message, and asking users.info on every reply would hit Slack's rate limits.
DISPLAY_NAMES: Dict[str, str] = {}


class DeploySlackBot(SlackBot):
    """Posts into one channel and thread, with user ids shown as names."""

    def __init__(self, settings: SlackSettings, channel: Optional[Text], thread_ts: Optional[Text]):
        super().__init__(settings.bot_token, channel, thread_ts)
        self.client = AsyncWebClient(settings.bot_token, base_url=settings.api_url)

    async def _humanize(self, text: Text) -> Text:
        for user_id in set(USER_ID_IN_TEXT.findall(text)) - set(DISPLAY_NAMES):
            try:
                DISPLAY_NAMES[user_id] = display_name_of((await self.client.users_info(user=user_id))["user"])
            except SlackApiError:  # an unknown id stays as it is
                continue
        return USER_ID_IN_TEXT.sub(lambda m: DISPLAY_NAMES.get(m.group(0), m.group(0)), text)

    async def _post(self, channel: Text, thread_ts: Optional[Text], text: Text, blocks: Optional[List] = None) -> None:
        arguments: Dict[str, Any] = {"channel": channel, "text": await self._humanize(text)}
        if blocks:
            arguments["blocks"] = blocks
        if thread_ts:
            arguments["thread_ts"] = thread_ts
        await self.client.chat_postMessage(**arguments)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._post(self.slack_channel or recipient_id, self.thread_id, text)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        text = await self._humanize(text)
        blocks = [
            {"type": "section", "text": {"type": "plain_text", "text": text}},
            {"type": "actions", "block_id": BUTTONS_BLOCK + recipient_id, "elements": [
                {"type": "button", "action_id": f"button-{n}", "text": {"type": "plain_text", "text": button["title"]},
                 "value": button["payload"]}
                for n, button in enumerate(buttons[:5])
            ]},
        ]
        await self._post(self.slack_channel or recipient_id, self.thread_id, text, blocks)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Reports from the watcher: {"text", "deploybot_slack": {"channel", "thread_ts"}}."""
        where = json_message.get(REPLY_TO_KEY) or {}
        channel = where.get("channel") or self.slack_channel or recipient_id
        await self._post(channel, where.get("thread_ts"), str(json_message.get("text", "")))


class DeploySlackInput(SlackInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "DeploySlackInput":
        return cls(SlackSettings.from_environ())

    def __init__(self, settings: Optional[SlackSettings]):
        # The stock checks need a signing secret; without settings this bot has no Slack app.
        super().__init__(settings.bot_token if settings else "", slack_signing_secret=settings.signing_secret if settings else "-")
        self.settings = settings
        profile = load_profiles()[current_assistant_id()]
        self.trusted = profile.trusted_build_systems
        self.start_threads = profile.slack_start_threads
        database = Database(database_url())
        self.deliveries = Deliveries(database)
        self.audit_log = Permissions(database, profile, load_catalog())

    def get_output_channel(self, channel: Optional[Text] = None, thread_id: Optional[Text] = None) -> DeploySlackBot:
        return DeploySlackBot(self.settings, channel, thread_id)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack_webhook = Blueprint("slack_webhook", __name__)

        @slack_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.settings else "Slack is not configured for this bot"})

        @slack_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if self.settings is None:
                return response.text("Slack is not configured for this bot.", status=HTTPStatus.SERVICE_UNAVAILABLE)
            if not self.is_request_from_slack_authentic(request):
                log.warning("refused a Slack request: bad signature or a timestamp older than 5 minutes")
                await asyncio.to_thread(self.audit_log.audit, "unknown", "slack_request", "refused",
                                        detail=f"bad signature or a timestamp older than 5 minutes, from {request.ip}")
                return response.text("invalid signature or stale timestamp", status=HTTPStatus.UNAUTHORIZED)
            content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            try:
                if content_type == "application/json":
                    return await self._event(request, on_new_message)
                if content_type == "application/x-www-form-urlencoded":
                    return await self._interaction(request, on_new_message)
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                log.warning("refused a malformed Slack request (%s)", type(error).__name__)
                return response.text("malformed request", status=HTTPStatus.BAD_REQUEST)
            return response.text("unsupported content type", status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE)

        return slack_webhook

    # -- Events API ------------------------------------------------------------------

    async def _event(self, request: Request, on_new_message) -> HTTPResponse:
        envelope = json.loads(request.body)
        if not isinstance(envelope, dict):
            raise ValueError("not an object")
        if envelope.get("type") == "url_verification":
            return response.json({"challenge": envelope["challenge"]})
        incoming = request_from(envelope, self.trusted)
        if incoming is None:
            return response.text("ignored")
        keys = [f"event:{envelope.get('event_id')}"] if envelope.get("event_id") else []
        keys.append(f"message:{incoming.channel}:{incoming.ts}")
        if not await asyncio.to_thread(self.deliveries.first_time, keys):
            log.info("Slack delivered %s again (retry %s); handled already", keys[0], request.headers.get("X-Slack-Retry-Num"))
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        thread = incoming.thread_ts or (incoming.ts if self.start_threads else None)
        self._handle(on_new_message, incoming.text, incoming.sender, incoming.channel, thread, incoming)
        return response.text("")

    # -- interactivity (button clicks) -------------------------------------------------

    async def _interaction(self, request: Request, on_new_message) -> HTTPResponse:
        payload = json.loads(request.form["payload"][0])
        if payload.get("type") != "block_actions" or not payload.get("actions"):
            return response.text("ignored")
        action, clicker = payload["actions"][0], payload["user"]["id"]
        channel = payload["channel"]["id"] if payload.get("channel") else payload["container"]["channel_id"]
        message = payload.get("message") or {}
        thread = (payload.get("container") or {}).get("thread_ts") or message.get("thread_ts")
        requester = str(action.get("block_id", "")).removeprefix(BUTTONS_BLOCK)
        client = AsyncWebClient(self.settings.bot_token, base_url=self.settings.api_url)
        if action.get("block_id", "").startswith(BUTTONS_BLOCK) and clicker != requester:
            arguments = {"channel": channel, "user": clicker, "text": f"Only <@{requester}> can confirm this."}
            if thread:
                arguments["thread_ts"] = thread
            await client.chat_postEphemeral(**arguments)
            await asyncio.to_thread(self.audit_log.audit, clicker, "confirm", "refused",
                                    detail=f"clicked {action.get('value')} on {requester}'s request in Slack")
            return response.text("")
        key = f"click:{channel}:{message.get('ts')}"
        if not await asyncio.to_thread(self.deliveries.first_time, [key]):
            return response.text("")  # the question was answered already
        question = next((b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section"), message.get("text", ""))
        decision = f"{question}\n→ {action.get('text', {}).get('text', '')} (<@{clicker}>)"
        await client.chat_update(channel=channel, ts=message["ts"], text=decision,
                                 blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": decision}}])
        self._handle(on_new_message, action["value"], clicker, channel, thread, None)
        return response.text("")

    # -- into Rasa -------------------------------------------------------------------

    def _handle(self, on_new_message, text: str, sender: str, channel: str, thread: Optional[str],
                incoming: Optional[SlackRequest]) -> None:
        """Answered in the background: Slack wants its HTTP answer within 3 seconds."""
        metadata = {"out_channel": channel, "thread_id": thread,
                    "build_system": incoming.build_system if incoming else None}
        message = UserMessage(text, self.get_output_channel(channel, thread), sender,
                              input_channel=self.name(), metadata=metadata)
        task = asyncio.create_task(on_new_message(message))
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)
