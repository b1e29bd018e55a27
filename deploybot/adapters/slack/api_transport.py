"""How deploybot.adapters.slack.web_api's steps reach Slack: slack-sdk clients with retry handlers,
each step's Web API call run through them (or the upload URL POSTed to), and every error
turned into a Reply instead of an exception."""
from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.request
from typing import Any, Dict, Optional

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

from deploybot.adapters.slack.api_outcomes import CONNECTION_FAILED, UPLOAD, UPLOAD_FAILED, Delivery, Reply, Steps, log
from deploybot.adapters.slack.settings import SlackSettings

# slack-sdk logs whole request bodies (message texts) at DEBUG; its own logger stays quieter.
SDK_LOG = logging.getLogger("deploybot.adapters.slack.web_api.sdk")
SDK_LOG.setLevel(logging.INFO)

TIMEOUT_SECONDS = 10
RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2


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
