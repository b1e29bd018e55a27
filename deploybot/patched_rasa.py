"""deploybot's fixes to Rasa's per-turn costs; deploybot.rasa_server installs them before it
starts `rasa run`.

Rasa 3.6 checks every action server response with jsonschema.validate(), which first
validates Rasa's constant event schema (one branch per event type) against the JSON Schema
meta-schema and builds a new validator: ~50 ms of CPU per custom action call, and a turn
makes about two, which was most of a turn's CPU. Here the schema is checked and the
validator built once; responses are validated against the same schema as before, and an
invalid one still gets Rasa's own error (its method runs again for that).

Rasa also finds each stored event's class by walking every Event subclass
(Event.resolve_by_type), for every event of the conversation on every turn: the SQL
tracker store reloads the whole session, so a turn's cost grew with the conversation
(975 events: 270 ms; with the class looked up once per type name: 24 ms). The first
class found for a type name is remembered; unknown names still go to Rasa's method.

A turn's cost still grew with the session, so a long session at rest is ended as an
expired one would be (deploybot.conversation_sessions says when, and why nothing is lost).

One patch is about trust, not cost: a user message that starts with `/` is read as plain
text unless an input channel sealed it as a click on one of the bots' own buttons
(deploybot.payloads says why). A message of six digits is a two-factor code: it gets the
intent two_factor_code here, so no classifier ever mistakes it or a version for one.
"""
from __future__ import annotations

import functools

import rasa

PATCHED_RASA_VERSIONS = ("3.6.",)  # the versions whose RemoteAction this was written against


@functools.lru_cache(maxsize=1)
def action_response_validator():
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def install() -> bool:
    """Installs the fixes (idempotent); False, and nothing changed, on another Rasa version."""
    if not rasa.__version__.startswith(PATCHED_RASA_VERSIONS):
        return False
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction._validate_action_result, "deploybot_patched", False):
        return True
    rasa_validate = RemoteAction._validate_action_result

    def validate_action_result(self, result) -> bool:
        if action_response_validator().is_valid(result):
            return True
        return rasa_validate(self, result)  # raises Rasa's ValidationError

    validate_action_result.deploybot_patched = True
    RemoteAction._validate_action_result = validate_action_result
    _remember_event_classes()
    _end_long_sessions_at_rest()
    _read_typed_intents_as_text()
    return True


def _remember_event_classes() -> None:
    from rasa.shared.core.events import Event

    rasa_resolve = Event.resolve_by_type
    found = {}

    def resolve_by_type(type_name, default=None):
        cls = found.get(type_name)
        if cls is None:
            cls = rasa_resolve(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)


def _end_long_sessions_at_rest() -> None:
    from rasa.core.processor import MessageProcessor

    from deploybot import conversation_sessions

    rasa_has_session_expired = MessageProcessor._has_session_expired

    def has_session_expired(self, tracker) -> bool:
        return rasa_has_session_expired(self, tracker) or (
            self.domain.session_config.are_sessions_enabled()
            and conversation_sessions.should_start_new_session(tracker))

    MessageProcessor._has_session_expired = has_session_expired


def _read_typed_intents_as_text() -> None:
    """Every user message becomes a UserUttered here, whichever channel it came from."""
    from rasa.core.processor import MessageProcessor

    from deploybot import payloads, step_up

    rasa_handle = MessageProcessor._handle_message_with_tracker

    async def handle_message_with_tracker(self, message, tracker) -> None:
        is_button = payloads.take_seal(message.metadata)
        if not is_button:
            message.parse_data = None  # only the NLU (or a sealed button) decides the intent
            if payloads.is_typed_intent(message.text):
                message.text = payloads.as_plain_text(message.text)
            elif step_up.looks_like_code(message.text):
                message.parse_data = step_up.code_parse_data(message.text)  # a code is never the NLU's guess
        return await rasa_handle(self, message, tracker)

    MessageProcessor._handle_message_with_tracker = handle_message_with_tracker
