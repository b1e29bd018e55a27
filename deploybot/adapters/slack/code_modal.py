"""The Slack modal a production deploy's two-factor code is entered in (issue 14), so the
code never appears in a channel.

After a Yes click on a deploy that needs a code, the action asks the Slack output channel to
open this modal with the click's trigger_id (views.open; valid for 3 seconds). Slack sends
what was entered as a signed `view_submission`; the connector (channels/slack.py) checks it
here and passes the code into the requester's conversation, never into a channel.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from deploybot.policy.step_up import code_in

CALLBACK_ID = "deploybot_two_factor"
BLOCK_ID, ACTION_ID = "code", "code"
# What the connector puts into the message metadata of a code entered in the modal.
FROM_MODAL_KEY = "code_from_modal"
NOT_A_CODE = "Six digits, as your authenticator app shows them."


def code_view(what: str, channel: Optional[str], thread_ts: Optional[str]) -> Dict[str, Any]:
    """The modal; private_metadata says where the request was made (where replies go)."""
    return {
        "type": "modal", "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Two-factor code"},
        "submit": {"type": "plain_text", "text": "Deploy"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"channel": channel, "thread_ts": thread_ts}),
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": f"{what}: enter the code your authenticator app shows now."}},
            {"type": "input", "block_id": BLOCK_ID, "label": {"type": "plain_text", "text": "Code"},
             "element": {"type": "plain_text_input", "action_id": ACTION_ID, "min_length": 6, "max_length": 7}},
        ],
    }


def submission(payload: dict) -> Optional[Dict[str, Any]]:
    """{user, code, channel, thread_ts} of a submitted code modal; None for any other view."""
    view = payload.get("view") or {}
    if payload.get("type") != "view_submission" or view.get("callback_id") != CALLBACK_ID:
        return None
    value = (((view.get("state") or {}).get("values") or {}).get(BLOCK_ID) or {}).get(ACTION_ID) or {}
    try:
        where = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        where = {}
    where = where if isinstance(where, dict) else {}
    return {"user": (payload.get("user") or {}).get("id"), "code": str(value.get("value") or ""),
            "channel": where.get("channel"), "thread_ts": where.get("thread_ts")}


def errors_answer() -> Dict[str, Any]:
    """Slack's answer that keeps the modal open and says what is wrong."""
    return {"response_action": "errors", "errors": {BLOCK_ID: NOT_A_CODE}}


def is_code(text: str) -> bool:
    return code_in(text) is not None


# -- the reason of a rejection (four-eyes approvals) ---------------------------------------

REJECT_CALLBACK_ID = "deploybot_reject"
REASON_BLOCK, REASON_ACTION = "reason", "reason"
REASON_KEY = "reason"  # in the message metadata of a submitted rejection


def reason_view(approval_id: str, what: str, channel: Optional[str], thread_ts: Optional[str]) -> Dict[str, Any]:
    return {
        "type": "modal", "callback_id": REJECT_CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Reject deployment"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"approval": approval_id, "channel": channel, "thread_ts": thread_ts}),
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": f"{what}: why do you reject it? The requester is told."}},
            {"type": "input", "block_id": REASON_BLOCK, "label": {"type": "plain_text", "text": "Reason"},
             "element": {"type": "plain_text_input", "action_id": REASON_ACTION, "min_length": 3, "max_length": 500}},
        ],
    }


def reason_submission(payload: dict) -> Optional[Dict[str, Any]]:
    """{user, approval, reason, channel, thread_ts} of a submitted rejection; None otherwise."""
    view = payload.get("view") or {}
    if payload.get("type") != "view_submission" or view.get("callback_id") != REJECT_CALLBACK_ID:
        return None
    value = (((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}).get(REASON_ACTION) or {}
    try:
        where = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        where = {}
    where = where if isinstance(where, dict) else {}
    return {"user": (payload.get("user") or {}).get("id"), "approval": str(where.get("approval") or ""),
            "reason": str(value.get("value") or "").strip(), "channel": where.get("channel"), "thread_ts": where.get("thread_ts")}
