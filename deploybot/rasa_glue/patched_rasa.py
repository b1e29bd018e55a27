"""deploybot's fixes to Rasa's per-turn costs; deploybot.rasa_glue.rasa_server installs them before it
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
expired one would be (deploybot.rasa_glue.conversation_sessions says when, and why nothing is lost).

The last two patches are about trust, not cost. Rasa's reader of its `/intent{...}` syntax
(RegexMessageHandler) is switched off: every message reaches the NLU as words, except a
click that an input channel sealed as one on the bots' own buttons, whose intent and id
deploybot.rasa_glue.payloads reads from the button's fixed shape (it says why). So no prefix of
slashes, spaces or invisible characters can make a typed message an intent. A message of
six digits is a two-factor code: it gets the intent two_factor_code here, so no classifier
ever mistakes it or a version for one. A message of only the yes emoji confirmations.yml
lists is a yes (affirm) here: the list decides, not the model (deploybot.policy.confirmations).

Without these patches the bots are not safe to run, so deploybot.rasa_glue.rasa_server refuses to start
on a Rasa they were not written for (wrong_version says which).
"""
from __future__ import annotations

import functools

import rasa.version

PATCHED_RASA_VERSIONS = ("3.6.",)  # the versions whose internals this was written against


def rasa_version() -> str:
    return rasa.version.__version__


def wrong_version() -> str:
    """Why the server must not start: the Rasa found and the one the patches need."""
    required = " or ".join(f"{prefix}x" for prefix in PATCHED_RASA_VERSIONS)
    return (f"deploybot.rasa_glue.rasa_server: Rasa {rasa_version()} is installed, but deploybot needs Rasa {required}. Its patches "
            "of Rasa (typed /intent{...} messages read as words, six-digit codes as codes, the button seal kept out of "
            "trackers) are written against that version's internals, and without them the bots are not safe to run. "
            f"Install Rasa {required} (requirements.lock).")


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
    if not rasa_version().startswith(PATCHED_RASA_VERSIONS):
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
    _no_intent_syntax_from_rasa()
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

    from deploybot.rasa_glue import conversation_sessions

    rasa_has_session_expired = MessageProcessor._has_session_expired

    def has_session_expired(self, tracker) -> bool:
        return rasa_has_session_expired(self, tracker) or (
            self.domain.session_config.are_sessions_enabled()
            and conversation_sessions.should_start_new_session(tracker))

    MessageProcessor._has_session_expired = has_session_expired


def _no_intent_syntax_from_rasa() -> None:
    """Rasa's model ends its NLU with RegexMessageHandler, which turns any text that starts
    with `/` (after str.strip()) into that intent and those entities. It reads nothing now:
    a sealed click is read by deploybot.rasa_glue.payloads instead (below), everything else is words."""
    from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler

    def process(self, messages, domain=None):
        return messages

    RegexMessageHandler.process = process


def _read_typed_intents_as_text() -> None:
    """Every user message becomes a UserUttered here, whichever channel it came from."""
    from rasa.core.processor import MessageProcessor

    from deploybot.policy import confirmations, step_up
    from deploybot.rasa_glue import payloads

    yes_rule = confirmations.load_yes_rule()  # read at start: a broken file stops the server

    rasa_handle = MessageProcessor._handle_message_with_tracker

    async def handle_message_with_tracker(self, message, tracker) -> None:
        # Decided by the seal alone, never by the text's shape; the seal is removed here.
        button = payloads.button_parse_data(message.text) if payloads.take_seal(message.metadata) else None
        message.parse_data = button  # only the NLU, a sealed button or a code decides the intent
        if button is None:
            if payloads.is_typed_intent(message.text):
                message.text = payloads.as_plain_text(message.text)  # stored as words too
            elif step_up.looks_like_code(message.text):
                message.parse_data = step_up.code_parse_data(message.text)  # a code is never the NLU's guess
            elif confirmations.is_yes_emoji(message.text, yes_rule):
                message.parse_data = confirmations.yes_parse_data(message.text)
        return await rasa_handle(self, message, tracker)

    MessageProcessor._handle_message_with_tracker = handle_message_with_tracker
