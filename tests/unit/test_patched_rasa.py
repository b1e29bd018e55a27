"""deploybot.rasa_glue.patched_rasa validates action server responses as Rasa does, only faster."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from deploybot.rasa_glue import patched_rasa


def test_valid_and_invalid_responses_are_told_apart_as_before():
    assert patched_rasa.install()
    assert patched_rasa.install()  # idempotent
    action = RemoteAction("action_confirm_deploy", None)
    valid = {"events": [{"event": "slot", "name": "app", "value": "web"}, {"event": "active_loop", "name": None}],
             "responses": [{"text": "Deploy?", "buttons": [{"title": "yes", "payload": "/affirm"}]}]}
    assert action._validate_action_result(valid)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "slot"}], "responses": []})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})


def test_events_are_read_back_as_before():
    from rasa.shared.core.events import ActiveLoop, BotUttered, Event, SlotSet, UserUttered

    assert patched_rasa.install()
    for event in (UserUttered("deploy web 1.2", {"name": "deploy"}), SlotSet("app", "web"), ActiveLoop("deploy_form"),
                  BotUttered("Deploy?")):
        for _ in range(2):
            assert Event.from_parameters(event.as_dict()) == event
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no such event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no such event")
