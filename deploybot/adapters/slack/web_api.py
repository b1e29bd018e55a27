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
the sync one. This module holds the calls and their steps; the clients and the running of
steps are in api_transport, the Delivery and its kinds in api_outcomes, the limits in
message_fitting.
"""
from __future__ import annotations

import logging
import urllib.parse
from typing import Any, Dict, List, Optional

from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient

# The public names of the Web API stay importable from here: callers need this one module.
from deploybot.adapters.slack.api_outcomes import (CONNECTION_FAILED, ERROR_KINDS, LOGGED_TEXT, UPLOAD,  # noqa: F401
                                          UPLOAD_FAILED, Call, Delivery, Kind, Reply, Steps, advice_for,
                                          channel_reference, failed, kind_of)
from deploybot.adapters.slack.api_transport import (CONNECTION_RETRIES, RATE_LIMIT_RETRIES, SDK_LOG,  # noqa: F401
                                           TIMEOUT_SECONDS, NoRedirects, async_web_client, call, call_sync,
                                           error_reply, no_answer, post_upload, retry_after, run, run_sync,
                                           sdk_method, web_client)
from deploybot.adapters.slack.message_fitting import (MAX_ACTIONS, MAX_BLOCKS, MAX_BUTTON_TEXT, MAX_FIELD_TEXT,  # noqa: F401
                                             MAX_FIELDS, MAX_HEADER_TEXT, MAX_OPTIONS, MAX_SECTION_TEXT,
                                             MAX_TEXT, SAFE_TEXT, escape_mrkdwn, fit_blocks, fit_element,
                                             plain_text_of, shorten, shorten_text_object, split_text)
from deploybot.adapters.slack.formatting import for_slack

log = logging.getLogger(__name__)


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



def with_thread(arguments: Dict[str, Any], thread_ts: Optional[str]) -> Dict[str, Any]:
    if thread_ts:
        arguments["thread_ts"] = thread_ts
    return arguments
