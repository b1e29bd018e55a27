"""Rasa's `/intent{"entity": "value"}` syntax belongs to the bots' own buttons, never to users.

Rasa turns any message that starts with `/` into that intent and those entities, skipping
the NLU. Typed by a user, `/EXTERNAL_deployment_report{...}` or `/grant_permission{...}`
would act as the system. So:

- The bots' buttons carry payloads of a few fixed shapes (BUTTON_SHAPES); a Yes/No button
  carries the id of the question it answers.
- A channel that receives a click (Slack) checks the payload against those shapes and seals
  the message (SEAL_KEY in its metadata, a secret of this process). A click cannot be
  forged: Slack signs it, and only the bot's own messages have its buttons.
- Only a sealed click is read with the syntax, and by this module (button_parse_data), not
  by Rasa: deploybot.rasa_glue.patched_rasa switches Rasa's own reader of the syntax off, so every
  other message reaches the NLU as words, however it is dressed (`/ /affirm{…}`, a no-break
  or zero-width space before the slash, a fullwidth slash). Such a message is still noted
  (is_typed_intent, audited by the channels) and stored without its leading slashes and
  invisible characters (as_plain_text). The seal is removed before the message is stored,
  so it never shows in a tracker.
"""
from __future__ import annotations

import json
import re
import secrets
import unicodedata
from typing import Any, Dict, List, Mapping, Optional

INTENT_PREFIX = "/"
# "/" and the characters that look like it: the fullwidth solidus, the fraction and division
# slashes, the big solidus.
SLASHES = frozenset("/\uff0f\u2044\u2215\u29f8")
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
    # A busy or locked refusal's "Queue me" (issue 24): the id of the offer it takes up.
    "queue": re.compile(r'^/queue_me\{"offer": "(?P<id>[A-Za-z0-9_-]{16,64})"\}$'),
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


def queue_button(offer_id: str) -> Dict[str, str]:
    return {"title": "Queue me", "payload": f"/queue_me{json.dumps({'offer': offer_id})}"}


def app_button(app_id: str) -> Dict[str, str]:
    return {"title": app_id, "payload": f"/deploy{json.dumps({'app': app_id})}"}


def button_kind(payload: object) -> Optional[str]:
    """affirm, deny, deploy, approve, reject or queue when the payload has the shape of one of the bots' buttons."""
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


def _invisible(character: str) -> bool:
    """Separators (spaces of every kind, line breaks) and other characters that show nothing:
    control, format (zero-width spaces, joiners, the byte order mark), private or unassigned."""
    return unicodedata.category(character)[0] in "ZC"


def _without_leading(text: str, noise) -> str:
    start = 0
    while start < len(text) and noise(text[start]):
        start += 1
    return text[start:]


def is_typed_intent(text: object) -> bool:
    """Whether the message looks like Rasa's `/intent{...}` syntax to a person: a slash
    after nothing visible."""
    if not isinstance(text, str):
        return False
    visible = _without_leading(text, _invisible)
    return bool(visible) and visible[0] in SLASHES


def as_plain_text(text: str) -> str:
    """What an unsealed `/intent{...}` message is stored and understood as: its words, without
    any slashes and invisible characters in front of them."""
    return _without_leading(text, lambda c: c in SLASHES or _invisible(c)).strip()


def button_parse_data(text: object) -> Optional[Dict[str, Any]]:
    """What a sealed click on one of the bots' own buttons says: the intent and the one id
    its payload carries, as Rasa would have read them. None for any other text."""
    kind = button_kind(text)
    if kind is None:
        return None
    intent, entities = text[len(INTENT_PREFIX):].split("{", 1)
    [(entity, value)] = json.loads("{" + entities).items()
    start = len(INTENT_PREFIX) + len(intent)
    found = {"name": intent, "confidence": 1.0}
    return {"text": text, "intent": found, "intent_ranking": [found],
            "entities": [{"entity": entity, "value": value, "start": start, "end": len(text), "extractor": SEAL_KEY}]}


def take_seal(metadata: Optional[Mapping[str, Any]]) -> bool:
    """Whether the metadata carries this process's seal; removes it (it must not be stored)."""
    if not isinstance(metadata, dict) or SEAL_KEY not in metadata:
        return False
    given = metadata.pop(SEAL_KEY)
    return isinstance(given, str) and secrets.compare_digest(given, _SEAL)
