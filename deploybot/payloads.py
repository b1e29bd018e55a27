"""Rasa's `/intent{"entity": "value"}` syntax belongs to the bots' own buttons, never to users.

Rasa turns any message that starts with `/` into that intent and those entities, skipping
the NLU. Typed by a user, `/EXTERNAL_deployment_report{...}` or `/grant_permission{...}`
would act as the system. So:

- The bots' buttons carry payloads of a few fixed shapes (BUTTON_SHAPES); a Yes/No button
  carries the id of the question it answers.
- A channel that receives a click (Slack) checks the payload against those shapes and seals
  the message (SEAL_KEY in its metadata, a secret of this process). A click cannot be
  forged: Slack signs it, and only the bot's own messages have its buttons.
- Every other message that starts with `/` is read as plain text: deploybot.patched_rasa
  strips the slashes before Rasa parses it, so the NLU understands the words, and no
  intent or entity comes from the syntax. The seal is removed before the message is
  stored, so it never shows in a tracker.
"""
from __future__ import annotations

import json
import re
import secrets
from typing import Any, Dict, List, Mapping, Optional

INTENT_PREFIX = "/"
SEAL_KEY = "deploybot_button"
# New in every Rasa process: only code in this process (its input channels) can seal.
_SEAL = secrets.token_hex(16)

REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
APP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# The only payloads a button of these bots ever carries.
BUTTON_SHAPES = {
    "affirm": re.compile(r'^/affirm\{"request": "(?P<id>[A-Za-z0-9_-]{16,64})"\}$'),
    "deny": re.compile(r'^/deny\{"request": "(?P<id>[A-Za-z0-9_-]{16,64})"\}$'),
    "deploy": re.compile(r'^/deploy\{"app": "(?P<id>[a-z0-9][a-z0-9_-]{0,63})"\}$'),
    # An approval card's buttons (issue 14): the id of the approval request they decide.
    "approve": re.compile(r'^/approve_deployment\{"approval": "(?P<id>[A-Za-z0-9_-]{16,64})"\}$'),
    "reject": re.compile(r'^/reject_deployment\{"approval": "(?P<id>[A-Za-z0-9_-]{16,64})"\}$'),
}
# Buttons anyone may click (who may decide is the action's business); the others only the requester.
ANYONE_CLICKS = ("approve", "reject")


def new_request_id() -> str:
    """An unguessable id for one restated request (what a Yes button confirms)."""
    return secrets.token_urlsafe(16)


def yes_no_buttons(request_id: str) -> List[Dict[str, str]]:
    payload = json.dumps({"request": request_id})
    return [{"title": "Yes", "payload": f"/affirm{payload}"}, {"title": "No", "payload": f"/deny{payload}"}]


def approval_buttons(approval_id: str) -> List[Dict[str, str]]:
    payload = json.dumps({"approval": approval_id})
    return [{"title": "Approve", "payload": f"/approve_deployment{payload}"},
            {"title": "Reject", "payload": f"/reject_deployment{payload}"}]


def reject_payload(approval_id: str) -> str:
    """What a submitted rejection modal stands for (the connector checks its shape and seals it)."""
    return f"/reject_deployment{json.dumps({'approval': approval_id})}"


def app_button(app_id: str) -> Dict[str, str]:
    return {"title": app_id, "payload": f"/deploy{json.dumps({'app': app_id})}"}


def button_kind(payload: object) -> Optional[str]:
    """affirm, deny, deploy, approve or reject when the payload has the shape of one of the bots' buttons."""
    if not isinstance(payload, str):
        return None
    return next((kind for kind, shape in BUTTON_SHAPES.items() if shape.fullmatch(payload)), None)


def request_id_of(payload: str) -> Optional[str]:
    for kind in ("affirm", "deny"):
        match = BUTTON_SHAPES[kind].fullmatch(payload)
        if match:
            return match.group("id")
    return None


def sealed(metadata: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The metadata of a verified click on one of the bots' own buttons."""
    return {**(metadata or {}), SEAL_KEY: _SEAL}


def is_typed_intent(text: object) -> bool:
    return isinstance(text, str) and text.strip().startswith(INTENT_PREFIX)


def as_plain_text(text: str) -> str:
    """What an unsealed `/intent{...}` message is understood as: its words, no syntax."""
    return text.strip().lstrip(INTENT_PREFIX).strip()


def take_seal(metadata: Optional[Mapping[str, Any]]) -> bool:
    """Whether the metadata carries this process's seal; removes it (it must not be stored)."""
    if not isinstance(metadata, dict) or SEAL_KEY not in metadata:
        return False
    given = metadata.pop(SEAL_KEY)
    return isinstance(given, str) and secrets.compare_digest(given, _SEAL)
