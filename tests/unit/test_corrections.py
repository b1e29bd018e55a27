"""What a correction changes (deploybot.domain.corrections): only what it names, never what it
names as wrong, and nothing when it is unclear."""
import pytest

from deploybot.domain.corrections import NOTHING_NAMED, UnclearCorrection, corrected, named_parts

PENDING = {"app": "cms", "version": "1.0.2", "environment": "staging"}


def entities(text, *found):
    """Entities as the NLU gives them: (entity, written, value) found in text."""
    return [{"entity": entity, "value": value, "start": text.index(written), "end": text.index(written) + len(written)}
            for entity, written, value in found]


def test_a_version_correction_keeps_the_app_and_environment():
    text = "actually make it 1.0.4"
    changes = named_parts(text, entities(text, ("version", "1.0.4", "1.0.4")))
    assert corrected(PENDING, changes) == {"app": "cms", "version": "1.0.4", "environment": "staging"}


def test_an_app_correction_keeps_the_version():
    text = "wrong app, crm"
    assert corrected(PENDING, named_parts(text, entities(text, ("app", "crm", "crm")))) == {
        "app": "crm", "version": "1.0.2", "environment": "staging"}


def test_what_is_named_as_wrong_is_no_new_value():
    text = "not cms, the shop"
    assert named_parts(text, entities(text, ("app", "cms", "cms"), ("app", "shop", "shop"))) == {"app": "shop"}
    text = "no, 2.0.2 instead of 2.0.1"
    assert named_parts(text, entities(text, ("version", "2.0.2", "2.0.2"), ("version", "2.0.1", "2.0.1"))) == {"version": "2.0.2"}
    text = "I mean billing service, not the shop"
    assert named_parts(text, entities(text, ("app", "billing service", "billing"), ("app", "shop", "shop"))) == {"app": "billing"}


def test_several_values_for_one_part_are_not_guessed():
    text = "make it 1.0.4 or 1.0.5"
    with pytest.raises(UnclearCorrection, match=r"several versions \(1.0.4, 1.0.5\)"):
        named_parts(text, entities(text, ("version", "1.0.4", "1.0.4"), ("version", "1.0.5", "1.0.5")))


def test_a_correction_that_names_nothing_is_unclear():
    with pytest.raises(UnclearCorrection) as refusal:
        named_parts("no wait, actually", [])
    assert str(refusal.value) == NOTHING_NAMED


def test_a_correction_of_several_parts_changes_them_all():
    text = "sorry, shop 2.0.3 on production"
    changes = named_parts(text, entities(text, ("app", "shop", "shop"), ("version", "2.0.3", "2.0.3"),
                                         ("environment", "production", "production")))
    assert corrected(PENDING, changes) == {"app": "shop", "version": "2.0.3", "environment": "production"}
