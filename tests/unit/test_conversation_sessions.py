"""deploybot.rasa_glue.conversation_sessions: a long session ends only when the conversation is at rest."""
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from deploybot.rasa_glue import conversation_sessions as sessions
from tests.support import ROOT

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def tracker_with(events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("someone", events, DOMAIN.slots)


def chat(turns: int):
    """`turns` finished turns of a conversation: message, answer, listen (3 events each)."""
    events = []
    for _ in range(turns):
        events += [UserUttered("hello", {"name": "greet"}), ActionExecuted("action_greet"), ActionExecuted("action_listen")]
    return events


def long_session():
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
            *chat(sessions.MAX_EVENTS_AT_REST // 3 + 1)]


def test_a_short_session_at_rest_goes_on():
    tracker = tracker_with(chat(3))
    assert sessions.at_rest(tracker)
    assert not sessions.should_start_new_session(tracker)


def test_a_long_session_at_rest_ends():
    tracker = tracker_with(long_session())
    assert sessions.events_in_session(tracker) >= sessions.MAX_EVENTS_AT_REST
    assert sessions.should_start_new_session(tracker)


def test_only_the_events_since_the_latest_session_start_count():
    tracker = tracker_with([*long_session(), SessionStarted(), *chat(2)])
    assert sessions.events_in_session(tracker) == 6
    assert not sessions.should_start_new_session(tracker)


def test_a_pending_confirmation_is_never_cut_off():
    tracker = tracker_with([*long_session(), SlotSet("pending_deploy", {"app": "cms", "version": "1.0.2"})])
    assert not sessions.at_rest(tracker)
    assert not sessions.should_start_new_session(tracker)


def test_a_half_filled_request_is_never_cut_off():
    tracker = tracker_with([*long_session(), ActiveLoop("deploy_form"), SlotSet("app", "cms")])
    assert not sessions.should_start_new_session(tracker)
    tracker = tracker_with([*long_session(), ActiveLoop("deploy_form")])
    assert not sessions.should_start_new_session(tracker)


def test_the_session_start_metadata_is_not_conversation_state():
    tracker = tracker_with([*long_session(), SlotSet("session_started_metadata", {"channel": "C1"})])
    assert sessions.should_start_new_session(tracker)
