"""What became of a call to Slack's Web API (deploybot.adapters.slack.web_api): a Delivery, the kind
of problem when Slack refused (Kind), and what to tell the person who asked."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, Generator, Optional, Tuple

# The Web API's one logger, whichever of its modules writes (operators filter on it).
log = logging.getLogger("deploybot.adapters.slack.web_api")

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
