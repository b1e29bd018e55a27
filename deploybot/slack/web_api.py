"""Every call deploybot makes to Slack's Web API, in one place.

- Clients come from web_client() and async_web_client(): with a timeout, the API URL of the
  settings (GovSlack, the tests' fake), and slack-sdk's retry handlers, which slack-sdk does
  not add by itself: HTTP 429 is retried after its Retry-After, refused or reset
  connections and HTTP 500/503 after a short backoff.
- The calls (post_message, update_message, post_ephemeral, open_dm, tell_user, open_view,
  user_info, upload_file) never raise for Slack's or the network's errors. They answer a Delivery that
  says what happened and, when Slack refused, which kind of problem it was (Kind) and
  what to tell the person who asked, e.g. "invite me to #ops".
- Messages are fitted to Slack's limits before they go (a section's text 3,000 characters,
  50 blocks, a message's text 40,000 characters: longer texts become several messages), and
  one that Slack still refuses as too long or with invalid blocks is sent once more as
  plain text in shorter parts.
- Failures are logged with the method, channel and error; never the token, and of the
  message only its first characters.

Each call is written once, as steps (a generator of Web API calls that receives Slack's
answers), and run by the async client or, for the synchronous parts (the notifier), by
the sync one.
"""
from __future__ import annotations

import asyncio
import copy
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, Generator, List, Optional, Tuple

import aiohttp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (BackoffRetryIntervalCalculator, ConnectionErrorRetryHandler,
                                  RateLimitErrorRetryHandler, RetryIntervalCalculator)
from slack_sdk.http_retry.builtin_async_handlers import (AsyncConnectionErrorRetryHandler,
                                                         AsyncRateLimitErrorRetryHandler,
                                                         AsyncServerErrorRetryHandler)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from deploybot.slack.formatting import for_slack
from deploybot.slack.settings import SlackSettings

log = logging.getLogger(__name__)
# slack-sdk logs whole request bodies (message texts) at DEBUG; its own logger stays quieter.
SDK_LOG = logging.getLogger(__name__ + ".sdk")
SDK_LOG.setLevel(logging.INFO)

TIMEOUT_SECONDS = 10
RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2

# Slack's limits (api.slack.com/reference/block-kit, chat.postMessage).
MAX_TEXT = 40_000
SAFE_TEXT = 4_000           # Slack's advice for a readable message; used once Slack refused one
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_FIELDS, MAX_FIELD_TEXT = 10, 2_000
MAX_ACTIONS = 25
MAX_BUTTON_TEXT = 75
MAX_OPTIONS = 100
MAX_HEADER_TEXT = 150
LOGGED_TEXT = 20            # characters of a message a log line may show

CONNECTION_FAILED = "connection_failed"  # our name for: no answer from Slack at all
UPLOAD_FAILED = "upload_failed"          # our name for: the upload URL did not take the bytes
UPLOAD = "upload"                        # the step that POSTs a file's bytes to its upload URL


class Kind(str, Enum):
    """What to do about an error."""
    RETRY_LATER = "retry_later"  # Slack or the network struggles: the same call may work later
    TELL_USER = "tell_user"      # someone must act in Slack (invite the bot, unarchive a channel)
    FIX_MESSAGE = "fix_message"  # the message breaks Slack's limits: shorten it, drop its blocks
    GIVE_UP = "give_up"          # the app's setup or our own mistake: log it for the operator


ERROR_KINDS: Dict[str, Kind] = {
    **dict.fromkeys(["ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
                     "request_timeout", "team_added_to_org", CONNECTION_FAILED], Kind.RETRY_LATER),
    **dict.fromkeys(["not_in_channel", "channel_not_found", "is_archived", "user_not_in_channel",
                     "restricted_action", "restricted_action_read_only_channel",
                     "restricted_action_thread_only_channel", "restricted_action_non_threadable_channel",
                     "messages_tab_disabled", "cannot_dm_bot", "invalid_channel",
                     "posting_to_channel_denied"], Kind.TELL_USER),
    **dict.fromkeys(["msg_too_long", "invalid_blocks", "invalid_blocks_format", "too_many_attachments",
                     "invalid_attachments"], Kind.FIX_MESSAGE),
    **dict.fromkeys(["invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                     "missing_scope", "no_permission", "not_allowed_token_type", "ekm_access_denied",
                     "invalid_arguments", "no_text", "cant_update_message", "message_not_found",
                     "edit_window_closed", "user_not_found", "invalid_trigger_id", "expired_trigger_id",
                     "exchanged_trigger_id", "method_deprecated", "unknown_method", "file_not_found",
                     "missing_argument", "file_uploads_disabled", "file_uploads_except_images_disabled",
                     "file_upload_size_restricted", "alt_txt_too_large", UPLOAD_FAILED], Kind.GIVE_UP),
}


def kind_of(error: str) -> Kind:
    """Errors Slack adds later are for the operator until we know better."""
    return ERROR_KINDS.get(error, Kind.GIVE_UP)


@dataclass(frozen=True)
class Delivery:
    """What became of a call: delivered, or failed with Slack's error and its kind."""
    channel: str
    timestamps: Tuple[str, ...] = ()           # of the messages posted (several for a long text)
    error: Optional[str] = None
    kind: Optional[Kind] = None
    advice: Optional[str] = None               # for the person who asked, when kind is TELL_USER
    retry_after: Optional[int] = None          # seconds, when Slack said so
    answer: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # Slack's last answer

    @property
    def delivered(self) -> bool:
        return self.error is None

    @property
    def ts(self) -> Optional[str]:
        """The first message's ts: the one to reply to or update."""
        return self.timestamps[0] if self.timestamps else None


@dataclass(frozen=True)
class Reply:
    """Slack's answer to one call, or our CONNECTION_FAILED when none came."""
    data: Dict[str, Any]
    error: Optional[str] = None
    retry_after: Optional[int] = None


Call = Tuple[str, Dict[str, Any]]            # a Web API method and its arguments
Steps = Generator[Call, Reply, Delivery]


# -- clients -----------------------------------------------------------------------------


def web_client(settings: SlackSettings, timeout: int = TIMEOUT_SECONDS,
               backoff: RetryIntervalCalculator = BackoffRetryIntervalCalculator()) -> WebClient:
    """A sync client that waits out rate limits and retries lost connections."""
    return WebClient(settings.bot_token, base_url=settings.api_url, timeout=timeout, logger=SDK_LOG, retry_handlers=[
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES, interval_calculator=backoff),
        ServerErrorRetryHandler(max_retry_count=1, interval_calculator=backoff)])


def async_web_client(settings: SlackSettings, timeout: int = TIMEOUT_SECONDS,
                     backoff: RetryIntervalCalculator = BackoffRetryIntervalCalculator()) -> AsyncWebClient:
    """The async twin of web_client()."""
    return AsyncWebClient(settings.bot_token, base_url=settings.api_url, timeout=timeout, logger=SDK_LOG, retry_handlers=[
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES, interval_calculator=backoff),
        AsyncServerErrorRetryHandler(max_retry_count=1, interval_calculator=backoff)])


# -- the calls ---------------------------------------------------------------------------


async def post_message(client: AsyncWebClient, channel: str, text: str, thread_ts: Optional[str] = None,
                       blocks: Optional[List[dict]] = None) -> Delivery:
    """Posts into a channel, a DM (by user id) or a thread."""
    return await run(client, posting(channel, text, thread_ts, blocks))


def post_message_sync(client: WebClient, channel: str, text: str, thread_ts: Optional[str] = None,
                      blocks: Optional[List[dict]] = None) -> Delivery:
    return run_sync(client, posting(channel, text, thread_ts, blocks))


async def update_message(client: AsyncWebClient, channel: str, ts: str, text: str,
                         blocks: Optional[List[dict]] = None) -> Delivery:
    """Replaces the text of one of the bot's messages; blocks=[] removes its blocks."""
    return await run(client, updating(channel, ts, text, blocks))


def update_message_sync(client: WebClient, channel: str, ts: str, text: str,
                        blocks: Optional[List[dict]] = None) -> Delivery:
    return run_sync(client, updating(channel, ts, text, blocks))


async def post_ephemeral(client: AsyncWebClient, channel: str, user: str, text: str,
                         thread_ts: Optional[str] = None) -> Delivery:
    """A message only `user` sees, in a channel they are in."""
    arguments = with_thread({"channel": channel, "user": user, "text": shorten(for_slack(text), MAX_TEXT)}, thread_ts)
    return await run(client, single_call("chat.postEphemeral", arguments, channel, text))


async def open_dm(client: AsyncWebClient, user: str) -> Delivery:
    """The DM with a user; its id is the Delivery's channel."""
    return await run(client, single_call("conversations.open", {"users": user}, user))


async def tell_user(client: AsyncWebClient, user: str, text: str, channel: Optional[str] = None,
                    thread_ts: Optional[str] = None) -> Delivery:
    """Tells someone what went wrong: in the thread they asked in when there is one the bot
    can post to, else in a DM."""
    if channel and thread_ts:
        delivery = await post_message(client, channel, text, thread_ts)
        if delivery.delivered:
            return delivery
    dm = await open_dm(client, user)
    return await post_message(client, dm.channel, text) if dm.delivered else dm


async def open_view(client: AsyncWebClient, trigger_id: str, view: dict) -> Delivery:
    """Opens a modal; trigger_id is from a click no more than 3 seconds old. answer["view"]["id"] names it."""
    return await run(client, single_call("views.open", {"trigger_id": trigger_id, "view": view}, ""))


async def user_info(client: AsyncWebClient, user: str) -> Optional[Dict[str, Any]]:
    """The users.info user, or None when Slack does not know them or did not answer."""
    delivery = await run(client, single_call("users.info", {"user": user}, ""))
    return delivery.answer.get("user") if delivery.delivered else None


def upload_file_sync(client: WebClient, channel: str, filename: str, content: bytes, title: str,
                     initial_comment: str = "", alt_txt: str = "") -> Delivery:
    """Shares a file (an image, say) into a channel or DM by its id (C..., D...; not a user id
    or a name: open_dm gives a DM's id), with initial_comment as the
    message's text: files.getUploadURLExternal, the bytes POSTed to its upload_url, then
    files.completeUploadExternal (Slack's current flow; files.upload is retired). Its
    answer["files"] lists the shared file."""
    return run_sync(client, uploading(str(client.base_url), channel, filename, content, title, initial_comment, alt_txt))


async def upload_file(client: AsyncWebClient, channel: str, filename: str, content: bytes, title: str,
                      initial_comment: str = "", alt_txt: str = "") -> Delivery:
    return await run(client, uploading(str(client.base_url), channel, filename, content, title, initial_comment, alt_txt))


# -- the steps of each call ---------------------------------------------------------------


def uploading(api_url: str, channel: str, filename: str, content: bytes, title: str, comment: str, alt_txt: str) -> Steps:
    arguments: Dict[str, Any] = {"filename": filename, "length": len(content)}
    if alt_txt:
        arguments["alt_txt"] = alt_txt
    reply = yield "files.getUploadURLExternal", arguments
    if reply.error:
        return failed("files.getUploadURLExternal", channel, comment, reply)
    upload_url, file_id = reply.data.get("upload_url"), reply.data.get("file_id")
    if not isinstance(upload_url, str) or not isinstance(file_id, str) or not trusted_upload_url(upload_url, api_url):
        # The bytes may be secret (a QR code): they go only to Slack's own upload service.
        log.error("Slack's files.getUploadURLExternal gave no upload URL of Slack's to send %s to", filename)
        return failed(UPLOAD, channel, comment, Reply(dict(reply.data), UPLOAD_FAILED))
    reply = yield UPLOAD, {"url": upload_url, "data": content}
    if reply.error:
        return failed(UPLOAD, channel, comment, reply)
    completing = {"files": [{"id": file_id, "title": title}], "channel_id": channel}
    if comment:
        completing["initial_comment"] = shorten(for_slack(comment), MAX_TEXT)
    reply = yield "files.completeUploadExternal", completing
    if reply.error:
        return failed("files.completeUploadExternal", channel, comment, reply)
    return Delivery(channel, (), answer=reply.data)


def trusted_upload_url(url: str, api_url: str) -> bool:
    """HTTPS on a slack.com (or GovSlack) host, or the host the API itself is on (a test server)."""
    found, api = urllib.parse.urlsplit(url), urllib.parse.urlsplit(api_url)
    host = (found.hostname or "").lower()
    if found.scheme == "https" and any(host == d or host.endswith("." + d) for d in ("slack.com", "slack-gov.com")):
        return True
    return bool(host) and (found.scheme, found.netloc) == (api.scheme, api.netloc)




def posting(channel: str, text: str, thread_ts: Optional[str], blocks: Optional[List[dict]]) -> Steps:
    text = for_slack(text or plain_text_of(text, blocks))  # the text notifications and screen readers show
    if blocks:
        delivery = yield from post_parts(channel, [shorten(text, MAX_TEXT)], thread_ts, fit_blocks(blocks))
    else:
        delivery = yield from post_parts(channel, split_text(text, MAX_TEXT), thread_ts, None)
    if delivery.kind is Kind.FIX_MESSAGE and not delivery.timestamps:
        log.info("Slack refused a message to %s (%s); sending it as plain text in shorter parts", channel, delivery.error)
        delivery = yield from post_parts(channel, split_text(plain_text_of(text, blocks), SAFE_TEXT), thread_ts, None)
    return delivery


def post_parts(channel: str, parts: List[str], thread_ts: Optional[str], blocks: Optional[List[dict]]) -> Steps:
    """Posts the parts in order; the blocks go with the first. Stops at the first failure."""
    timestamps: List[str] = []
    reply = Reply({})
    for part in parts:
        arguments = with_thread({"channel": channel, "text": part}, thread_ts)
        if blocks and not timestamps:
            arguments["blocks"] = blocks
        reply = yield "chat.postMessage", arguments
        if reply.error:
            return failed("chat.postMessage", channel, part, reply, tuple(timestamps))
        timestamps.append(reply.data["ts"])
        channel = reply.data.get("channel") or channel  # a user id becomes their DM's id
    return Delivery(channel, tuple(timestamps), answer=reply.data)


def updating(channel: str, ts: str, text: str, blocks: Optional[List[dict]]) -> Steps:
    text = for_slack(text or plain_text_of(text, blocks))
    arguments: Dict[str, Any] = {"channel": channel, "ts": ts, "text": shorten(text, MAX_TEXT)}
    if blocks is not None:
        arguments["blocks"] = fit_blocks(blocks)
    reply = yield "chat.update", arguments
    if reply.error and kind_of(reply.error) is Kind.FIX_MESSAGE:
        log.info("Slack refused an update in %s (%s); sending it as plain text", channel, reply.error)
        # An empty list removes the old blocks: stale buttons must not stay.
        plain = {"channel": channel, "ts": ts, "text": shorten(plain_text_of(text, blocks), SAFE_TEXT), "blocks": []}
        reply = yield "chat.update", plain
    if reply.error:
        return failed("chat.update", channel, text, reply)
    return Delivery(reply.data.get("channel") or channel, (ts,), answer=reply.data)


def single_call(method: str, arguments: Dict[str, Any], channel: str, text: str = "") -> Steps:
    reply = yield method, arguments
    if reply.error:
        return failed(method, channel, text, reply)
    found = reply.data.get("channel")
    channel = found["id"] if isinstance(found, dict) else found or channel
    ts = reply.data.get("message_ts") or reply.data.get("ts")
    return Delivery(channel, (ts,) if ts else (), answer=reply.data)


def failed(method: str, channel: str, text: str, reply: Reply, timestamps: Tuple[str, ...] = ()) -> Delivery:
    kind = kind_of(reply.error)
    level = logging.ERROR if kind is Kind.GIVE_UP else logging.WARNING
    log.log(level, "Slack %s to %s failed: %s (%s); the text began %r", method, channel or "-", reply.error,
            kind.value, text[:LOGGED_TEXT])
    advice = advice_for(reply.error, channel) if kind is Kind.TELL_USER else None
    return Delivery(channel, timestamps, reply.error, kind, advice, reply.retry_after, reply.data)


# -- what to tell people --------------------------------------------------------------------


def advice_for(error: str, channel: str) -> str:
    where = channel_reference(channel)
    if error == "not_in_channel":
        return f"I'm not a member of {where}, so I can't post there. Please invite me (type `/invite` and my name in {where}) and ask again."
    if error == "channel_not_found":
        return f"I can't find {where}. If it is a private channel, please invite me to it; otherwise check its name."
    if error == "is_archived":
        return f"{where} is archived, so I can't post there. Please unarchive it, or ask me to post somewhere else."
    if error == "user_not_in_channel":
        return f"That person isn't a member of {where}, so I can't show them a message there."
    return f"Slack won't let me post in {where} ({error}). Please check the channel's settings, or ask me somewhere else."


def channel_reference(channel: str) -> str:
    """How a channel reads in a Slack message: ids as mentions Slack shows by name."""
    if channel.startswith("#"):
        return channel
    if channel[:1] in ("U", "W", "D"):
        return "our direct messages"
    return f"<#{channel}>" if channel else "that channel"


# -- fitting messages to Slack's limits ------------------------------------------------------


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def split_text(text: str, limit: int) -> List[str]:
    """Parts of at most `limit` characters, cut at a line break, else a space, where there is one."""
    parts = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit + 1)
        if cut <= 0:
            parts.append(text[:limit])
            text = text[limit:]
        else:
            parts.append(text[:cut])
            text = text[cut + 1:]  # the line break or space the cut replaces
    return parts + [text]


def fit_blocks(blocks: List[dict]) -> List[dict]:
    """The blocks within Slack's limits: longer texts shortened, extra blocks, buttons and options
    left out; mrkdwn texts escaped (plain_text is never read as markup)."""
    fitted = copy.deepcopy(blocks[:MAX_BLOCKS])
    for block in fitted:
        if block.get("type") == "section":
            escape_mrkdwn(block.get("text"))
            shorten_text_object(block.get("text"), MAX_SECTION_TEXT)
            if isinstance(block.get("fields"), list):
                block["fields"] = block["fields"][:MAX_FIELDS]
                for item in block["fields"]:
                    escape_mrkdwn(item)
                    shorten_text_object(item, MAX_FIELD_TEXT)
            fit_element(block.get("accessory"))
        elif block.get("type") == "header":
            shorten_text_object(block.get("text"), MAX_HEADER_TEXT)
        elif block.get("type") == "actions" and isinstance(block.get("elements"), list):
            block["elements"] = block["elements"][:MAX_ACTIONS]
            for element in block["elements"]:
                fit_element(element)
    return fitted


def fit_element(element: Any) -> None:
    if not isinstance(element, dict):
        return
    if element.get("type") == "button":
        shorten_text_object(element.get("text"), MAX_BUTTON_TEXT)
    elif element.get("type") == "static_select" and isinstance(element.get("options"), list):
        element["options"] = element["options"][:MAX_OPTIONS]


def escape_mrkdwn(obj: Any) -> None:
    if isinstance(obj, dict) and obj.get("type") == "mrkdwn" and isinstance(obj.get("text"), str):
        obj["text"] = for_slack(obj["text"])


def shorten_text_object(obj: Any, limit: int) -> None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        obj["text"] = shorten(obj["text"], limit)


def plain_text_of(text: str, blocks: Optional[List[dict]]) -> str:
    """The message's text, or its sections' and headers' texts when it has none."""
    if text or not blocks:
        return text
    texts = [b["text"]["text"] for b in blocks
             if b.get("type") in ("section", "header") and isinstance(b.get("text"), dict) and b["text"].get("text")]
    return "\n".join(texts)


def with_thread(arguments: Dict[str, Any], thread_ts: Optional[str]) -> Dict[str, Any]:
    if thread_ts:
        arguments["thread_ts"] = thread_ts
    return arguments


# -- running the steps ----------------------------------------------------------------------


async def run(client: AsyncWebClient, steps: Steps) -> Delivery:
    reply: Optional[Reply] = None
    try:
        while True:
            method, arguments = steps.send(reply)
            reply = await call(client, method, arguments)
    except StopIteration as done:
        return done.value


def run_sync(client: WebClient, steps: Steps) -> Delivery:
    reply: Optional[Reply] = None
    try:
        while True:
            method, arguments = steps.send(reply)
            reply = call_sync(client, method, arguments)
    except StopIteration as done:
        return done.value


async def call(client: AsyncWebClient, method: str, arguments: Dict[str, Any]) -> Reply:
    """One call through slack-sdk's method of that name (it encodes each as Slack wants)."""
    if method == UPLOAD:
        return await asyncio.to_thread(post_upload, arguments["url"], arguments["data"], client.timeout)
    try:
        return Reply(dict((await sdk_method(client, method)(**arguments)).data))
    except SlackApiError as error:
        return error_reply(error)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
        return no_answer(method, error)


def call_sync(client: WebClient, method: str, arguments: Dict[str, Any]) -> Reply:
    if method == UPLOAD:
        return post_upload(arguments["url"], arguments["data"], client.timeout)
    try:
        return Reply(dict(sdk_method(client, method)(**arguments).data))
    except SlackApiError as error:
        return error_reply(error)
    except OSError as error:  # URLError, refused and reset connections, timeouts
        return no_answer(method, error)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """The bytes go to the upload URL Slack gave, nowhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_upload(url: str, data: bytes, timeout: int) -> Reply:
    """The bytes of a file, raw, to the upload URL files.getUploadURLExternal gave (as
    slack-sdk's files_upload_v2 sends them); Slack answers HTTP 200 when it took them."""
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.build_opener(NoRedirects).open(request, timeout=timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:  # URLError, refused and reset connections, timeouts
        return no_answer(UPLOAD, error)
    if status != 200:
        log.warning("Slack's upload URL answered HTTP %s", status)
        return Reply({"status": status}, UPLOAD_FAILED)
    return Reply({"status": status})


def sdk_method(client: Any, method: str) -> Any:
    """chat.postMessage -> client.chat_postMessage."""
    return getattr(client, method.replace(".", "_"))


def error_reply(error: SlackApiError) -> Reply:
    data = error.response.data if isinstance(error.response.data, dict) else {}
    return Reply(dict(data), str(data.get("error") or "unknown_error"), retry_after(error.response.headers or {}))


def retry_after(headers: Any) -> Optional[int]:
    """Retry-After in seconds; header names are case-insensitive, and values lists in the sync client."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    value = value[0] if isinstance(value, list) and value else value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def no_answer(method: str, error: BaseException) -> Reply:
    log.warning("Slack did not answer %s after retries: %s", method, type(error).__name__)
    return Reply({}, CONNECTION_FAILED)
