"""The Slack connector the bots need: a small subclass of Rasa's own (credentials.yml names
it by module path). What it changes, and why (see ../shared/notes/rasa-3.6.md):

- Token, signing secret and API base URL come from the environment (deploybot.adapters.slack.settings),
  so GovSlack and the tests' fake work, and secrets stay out of files.
- Replies, and reports that arrive minutes later, go into the thread of the request.
  Whether a top-level request starts a thread is the profile's `slack.start_threads`.
- In a thread where the bot posted for someone (asked them something, answered them), that
  person's plain replies count as if they had mentioned the bot; other people's do not.
  Each post into a thread records (channel, thread, person) in the database
  (deploybot.adapters.slack.deliveries), so replicas and restarts agree.
- An edited request is not acted on: it gets "I act on new messages, not edits: send it
  again." in its thread, once per edit (deploybot.adapters.slack.events says what is an edit).
- Messages from bots are ignored unless the profile trusts them (build systems).
- Every event and message is handled once: retries and the two events one mention can
  produce are deduplicated in the database (deploybot.adapters.slack.deliveries).
- Yes/No buttons count only for the requester and carry the id of their question; more than
  MAX_BUTTONS choices (the app picker) are a menu, whose options carry the same payloads
  and are checked the same way. A click goes in as that button's or option's payload,
  sealed as a real click (deploybot.rasa_glue.payloads: anything typed that looks like a payload is
  read as plain text). The action that handles the click rewrites the question to say
  what was clicked, by whom and what came of it.
- Events from a workspace that is not the profile's (`slack.team_ids`), such as a Slack
  Connect channel shared with another company, are refused and audited.
- Bad signatures, stale timestamps and malformed bodies get a 4xx and are not processed;
  the log says why, never what the body held.
"""
from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from deploybot.rasa_glue import payloads
from deploybot.domain.catalog import load_catalog
from deploybot.policy.permissions import Permissions
from deploybot.domain.profiles import current_assistant_id, load_profiles
from deploybot.adapters.slack import code_modal
from deploybot.adapters.slack.custom_messages import OPEN_VIEW_KEY, REPLY_TO_KEY, UPDATE_KEY
from deploybot.adapters.slack.deliveries import Deliveries
from deploybot.adapters.slack.events import Request as SlackRequest, foreign_teams, request_from
from deploybot.adapters.slack import web_api
from deploybot.adapters.slack.settings import SlackSettings
from deploybot.adapters.slack.users import USER_ID_IN_TEXT, display_name_of
from deploybot.storage.database import Database, database_url

log = logging.getLogger(__name__)
BUTTONS_BLOCK = "deploybot-buttons:"   # + the requester's id: only their click counts
MAX_BUTTONS = 5                        # more choices are a menu: a longer row of buttons is hard to read
MAX_OPTIONS = web_api.MAX_OPTIONS      # Block Kit: options in one static_select
EDIT_ANSWER = "I act on new messages, not edits: send it again."
# Display names by user id, for the life of the process: an output channel is made per
# message, and asking users.info on every reply would hit Slack's rate limits.
DISPLAY_NAMES: Dict[str, str] = {}


class DeploySlackBot(SlackBot):
    """Posts into one channel and thread, with user ids shown as names. Every call goes
    through deploybot.adapters.slack.web_api: rate limits are waited out, messages fitted to Slack's
    limits, and a failure never raises (Rasa would lose the turn); where a person must act
    (invite the bot, unarchive a channel), the requester is told, in the thread or a DM."""

    def __init__(self, settings: SlackSettings, channel: Optional[Text], thread_ts: Optional[Text],
                 deliveries: Optional[Deliveries] = None):
        super().__init__(settings.bot_token, channel, thread_ts)
        self.client = web_api.async_web_client(settings)
        self.deliveries = deliveries  # where posts into threads are recorded as conversations

    async def _humanize(self, text: Text) -> Text:
        for user_id in set(USER_ID_IN_TEXT.findall(text)) - set(DISPLAY_NAMES):
            user = await web_api.user_info(self.client, user_id)
            if user is not None:  # an unknown id stays as it is
                DISPLAY_NAMES[user_id] = display_name_of(user)
        return USER_ID_IN_TEXT.sub(lambda m: DISPLAY_NAMES.get(m.group(0), m.group(0)), text)

    async def _post(self, recipient_id: Text, channel: Text, thread_ts: Optional[Text], text: Text,  # humanized
                    blocks: Optional[List] = None) -> None:
        delivery = await web_api.post_message(self.client, channel, text, thread_ts, blocks)
        if delivery.kind is web_api.Kind.TELL_USER and recipient_id and delivery.advice:
            # By DM: what to fix in Slack, and what could not be said there (a report is not lost).
            await web_api.tell_user(self.client, recipient_id, f"{delivery.advice}\n\nWhat I wanted to say there:\n{text}")
        if delivery.delivered and thread_ts and recipient_id and self.deliveries:
            # From now on the recipient's plain replies in this thread are for the bot.
            await asyncio.to_thread(self.deliveries.remember_conversation, delivery.channel, thread_ts, recipient_id)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._post(recipient_id, self.slack_channel or recipient_id, self.thread_id, await self._humanize(text))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        """Up to MAX_BUTTONS choices as buttons (Yes/No), more as a menu."""
        text = await self._humanize(text)
        if len(buttons) > MAX_BUTTONS:
            elements = [choice_menu(buttons)]
            if len(buttons) > MAX_OPTIONS:
                text += f"\n(The menu lists the first {MAX_OPTIONS} of {len(buttons)}: for another, type its name.)"
        else:
            elements = [button_element(n, button) for n, button in enumerate(buttons)]
        blocks = [
            {"type": "section", "text": {"type": "plain_text", "text": text}},
            {"type": "actions", "block_id": BUTTONS_BLOCK + recipient_id, "elements": elements},
        ]
        await self._post(recipient_id, self.slack_channel or recipient_id, self.thread_id, text, blocks)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Reports from the watcher ({"text", REPLY_TO_KEY: {"channel", "thread_ts"}}) and
        questions to rewrite after a click ({UPDATE_KEY: {"channel", "ts", "text"}})."""
        modal = json_message.get(OPEN_VIEW_KEY)
        if modal:  # the two-factor code's modal (issue 14); said as text when Slack refuses it
            opened = await web_api.open_view(self.client, str(modal.get("trigger_id") or ""), modal.get("view") or {})
            if not opened.delivered:
                log.info("views.open failed (%s): asking for the code by text", opened.error)
                await self._post(recipient_id, self.slack_channel or recipient_id, self.thread_id, str(modal.get("fallback", "")))
            return
        update = json_message.get(UPDATE_KEY)
        if update:
            text = await self._humanize(str(update.get("text", "")))
            await web_api.update_message(self.client, update["channel"], update["ts"], text,
                                         blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
            return
        where = json_message.get(REPLY_TO_KEY) or {}
        channel = where.get("channel") or self.slack_channel or recipient_id
        text = await self._humanize(str(json_message.get("text", "")))
        buttons = json_message.get("buttons")  # an approval card, into the request's thread (issue 14)
        blocks = ([{"type": "section", "text": {"type": "plain_text", "text": text}},
                   {"type": "actions", "block_id": BUTTONS_BLOCK + recipient_id,
                    "elements": [button_element(n, button) for n, button in enumerate(buttons)]}] if buttons else None)
        await self._post(recipient_id, channel, where.get("thread_ts"), text, blocks)


def button_element(n: int, button: Dict[Text, Any]) -> Dict[Text, Any]:
    return {"type": "button", "action_id": f"button-{n}", "value": button["payload"],
            "text": {"type": "plain_text", "text": web_api.shorten(str(button["title"]), web_api.MAX_BUTTON_TEXT)}}


def choice_menu(buttons: List[Dict[Text, Any]]) -> Dict[Text, Any]:
    """A static_select whose options carry the buttons' payloads (a click is checked as a button's)."""
    options = [{"text": {"type": "plain_text", "text": web_api.shorten(str(button["title"]), web_api.MAX_BUTTON_TEXT)},
                "value": button["payload"]} for button in buttons[:MAX_OPTIONS]]
    return {"type": "static_select", "action_id": "choice", "options": options,
            "placeholder": {"type": "plain_text", "text": "Choose…"}}


def chosen(action: Dict[str, Any]) -> Tuple[Any, str]:
    """The payload and label of a click: a button's own, or those of the option picked in a menu."""
    if action.get("type") == "static_select":
        option = action.get("selected_option") or {}
        return option.get("value"), (option.get("text") or {}).get("text", "")
    return action.get("value"), (action.get("text") or {}).get("text", "")


def delivery_keys(envelope: Dict[str, Any], incoming: SlackRequest) -> List[str]:
    """What makes an event a repeat: its event_id (retries), and the message's channel and ts
    (a mention's two events) or, for an edit, the edit's ts (its message_changed and its
    edited app_mention)."""
    keys = [f"event:{envelope['event_id']}"] if envelope.get("event_id") else []
    if incoming.edited:
        keys.append(f"edit:{incoming.channel}:{incoming.ts}:{incoming.edited}")
    else:
        keys.append(f"message:{incoming.channel}:{incoming.ts}")
    return keys


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
        self.team_ids = profile.slack_team_ids
        if settings and not self.team_ids:
            log.warning("%s: slack.team_ids is not set, so events from any workspace count (Slack Connect"
                        " channels bring other companies' users): set it to your workspace's id", profile.name)
        database = Database(database_url())
        self.deliveries = Deliveries(database)
        self.audit_log = Permissions(database, profile, load_catalog())

    def get_output_channel(self, channel: Optional[Text] = None, thread_id: Optional[Text] = None) -> DeploySlackBot:
        return DeploySlackBot(self.settings, channel, thread_id, self.deliveries)

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
        if await self._from_another_workspace(envelope, envelope.get("event") or {}):
            return response.text("ignored", headers={"X-Slack-No-Retry": "1"})
        incoming = request_from(envelope, self.trusted)
        if incoming is None or (incoming.plain_reply and not await self._in_conversation(incoming)):
            return response.text("ignored")
        keys = delivery_keys(envelope, incoming)
        if not await asyncio.to_thread(self.deliveries.first_time, keys):
            log.info("Slack delivered %s again (retry %s); handled already", keys[0], request.headers.get("X-Slack-Retry-Num"))
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        thread = incoming.thread_ts or (incoming.ts if self.start_threads else None)
        if incoming.edited:
            output = self.get_output_channel(incoming.channel, thread)
            self._in_background(output.send_text_message(incoming.sender, EDIT_ANSWER))
            return response.text("")
        if payloads.is_typed_intent(incoming.text):
            await self._audit(incoming.sender, "typed_intent", "read as plain text: " + incoming.text[:200])
        metadata = {"out_channel": incoming.channel, "thread_id": thread, "build_system": incoming.build_system}
        self._handle(on_new_message, incoming.text, incoming.sender, metadata)
        return response.text("")

    async def _in_conversation(self, incoming: SlackRequest) -> bool:
        """Whether the bot posted in this thread for the sender of this plain reply."""
        return await asyncio.to_thread(self.deliveries.in_conversation, incoming.channel, incoming.thread_ts, incoming.sender)

    async def _from_another_workspace(self, envelope: dict, event: dict) -> bool:
        """Whether the request comes from a workspace other than the profile's (then audited)."""
        foreign = foreign_teams(envelope, event, self.team_ids)
        if foreign:
            actor = (event.get("user") or {}).get("id") if isinstance(event.get("user"), dict) else event.get("user")
            await self._audit(str(actor or "unknown"), "slack_request", f"from another workspace ({', '.join(foreign)})")
        return bool(foreign)

    async def _audit(self, actor: str, action: str, detail: str) -> None:
        await asyncio.to_thread(self.audit_log.audit, actor[:64], action, "refused", detail=detail[:500])

    # -- interactivity (button clicks) -------------------------------------------------

    async def _interaction(self, request: Request, on_new_message) -> HTTPResponse:
        """Answered at once (Slack wants an answer within 3 seconds); the click goes into the
        conversation, and the action that handles it rewrites the question."""
        payload = json.loads(request.form["payload"][0])
        if payload.get("type") == "view_submission":
            return await self._code_submission(payload, on_new_message)
        if payload.get("type") != "block_actions" or not payload.get("actions"):
            return response.text("ignored")
        if await self._from_another_workspace(payload, {"user": payload.get("user"), "team": (payload.get("team") or {}).get("id"),
                                                        "user_team": (payload.get("user") or {}).get("team_id")}):
            return response.text("ignored")
        action, clicker = payload["actions"][0], payload["user"]["id"]
        container, message = payload.get("container") or {}, payload.get("message") or {}
        channel = (payload.get("channel") or {}).get("id") or container["channel_id"]
        thread = container.get("thread_ts") or message.get("thread_ts")
        value, choice = chosen(action)
        if payloads.button_kind(value) is None:
            await self._audit(clicker, "click", f"a click whose value none of my buttons carries: {str(value)[:100]}")
            return response.text("ignored")
        block_id = str(action.get("block_id", ""))
        if not block_id.startswith(BUTTONS_BLOCK):  # every question of these bots names its requester
            await self._audit(clicker, "click", f"a click on a block none of my questions has: {block_id[:100]}")
            return response.text("ignored")
        requester = block_id.removeprefix(BUTTONS_BLOCK)
        if clicker != requester and payloads.button_kind(value) not in payloads.ANYONE_CLICKS:
            arguments = {"channel": channel, "user": clicker, "text": f"Only <@{requester}> can confirm this.",
                         "thread_ts": thread}
            await web_api.post_ephemeral(self._client(), **arguments)
            await self._audit(clicker, "confirm", f"clicked {value} on {requester}'s request in Slack")
            return response.text("")
        question = next((b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section"), message.get("text", ""))
        clicked = {"channel": channel, "ts": container.get("message_ts") or message.get("ts"), "question": question,
                   "choice": choice, "user": clicker, "trigger_id": payload.get("trigger_id")}
        metadata = payloads.sealed({"out_channel": channel, "thread_id": thread, "clicked": clicked})
        self._handle(on_new_message, value, clicker, metadata)
        return response.text("")

    async def _code_submission(self, payload: dict, on_new_message) -> HTTPResponse:
        """A two-factor code entered in the modal (issue 14): into the submitter's own
        conversation, marked as from the modal; the reply goes to the request's thread."""
        if await self._from_another_workspace(payload, {"user": payload.get("user"), "team": (payload.get("team") or {}).get("id"),
                                                        "user_team": (payload.get("user") or {}).get("team_id")}):
            return response.text("ignored")
        rejected = code_modal.reason_submission(payload)
        if rejected is not None:
            return await self._rejection(rejected, on_new_message)
        submitted = code_modal.submission(payload)
        if submitted is None or not submitted["user"]:
            return response.text("ignored")
        if not code_modal.is_code(submitted["code"]):
            return response.json(code_modal.errors_answer())
        metadata = {"out_channel": submitted["channel"] or submitted["user"], "thread_id": submitted["thread_ts"],
                    code_modal.FROM_MODAL_KEY: True}
        self._handle(on_new_message, submitted["code"], submitted["user"], metadata)
        return response.text("")  # an empty 200 closes the modal

    async def _rejection(self, rejected: dict, on_new_message) -> HTTPResponse:
        """A rejection's reason from its modal: a sealed reject of that approval request."""
        text = payloads.reject_payload(rejected["approval"])
        if not rejected["user"] or payloads.button_kind(text) != "reject":
            return response.text("ignored")
        if len(rejected["reason"]) < 3:
            return response.json({"response_action": "errors", "errors": {code_modal.REASON_BLOCK: "Say why, in a few words."}})
        metadata = payloads.sealed({"out_channel": rejected["channel"] or rejected["user"], "thread_id": rejected["thread_ts"],
                                    code_modal.REASON_KEY: rejected["reason"]})
        self._handle(on_new_message, text, rejected["user"], metadata)
        return response.text("")

    def _client(self) -> AsyncWebClient:
        return web_api.async_web_client(self.settings)

    # -- into Rasa -------------------------------------------------------------------

    def _handle(self, on_new_message, text: str, sender: str, metadata: Dict[str, Any]) -> None:
        """Answered in the background: Slack wants its HTTP answer within 3 seconds."""
        message = UserMessage(text, self.get_output_channel(metadata["out_channel"], metadata["thread_id"]), sender,
                              input_channel=self.name(), metadata=metadata)
        self._in_background(on_new_message(message))

    def _in_background(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background_tasks.add(task)  # a reference, so the task is not collected before it ends
        task.add_done_callback(self._background_tasks.discard)
