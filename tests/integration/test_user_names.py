"""Names in permission commands, through the running Bender (issue 15): a person written as
a plain name or handle, in the places such commands put it, is found; a command word is
nobody. The parse is the whole pipeline: classifier, CRF and the entity step.

These three sentences are the ones the person-place rule and the command-word list in
deploybot/language/entities.py were written for, so they are regression tests, not a
measure of understanding: issue 22 took them out of the held-out sets (tests/nlu/), where
heldout_fresh.yml has new sentences for the same phenomena."""
import pytest
from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import Grant
from tests.support import ADMIN


def entities(parsed):
    return [(e["entity"], e["value"]) for e in parsed["entities"]]


@pytest.mark.parametrize(
    "text, user, app",
    [
        ("let kim.lee ship billing", "kim.lee", "billing"),
        ("kim can deploy crm now", "kim", "crm"),
    ],
)
def test_the_person_named_in_a_grant_is_found(bender, text, user, app):
    parsed = bender.parse(text)
    assert parsed["intent"]["name"] == "grant_permission"
    assert entities(parsed) == [("user", user), ("app", app)]


def test_list_deployers_names_nobody(bender):
    parsed = bender.parse("list deployers")
    assert parsed["intent"]["name"] == "list_permissions"
    assert entities(parsed) == []


def test_an_admin_grants_and_revokes_by_first_name(bender):
    assert bender.texts(ADMIN, "@bender tom can deploy crm now") == [
        "tom may now deploy Customer Relationship Management to production."]
    assert "tom" in bender.texts(ADMIN, "who can deploy crm?")[0]
    assert bender.texts(ADMIN, "@bender revoke @tom crm") == [
        "tom may no longer deploy Customer Relationship Management to production."]


def test_naming_someone_by_first_name_grants_nothing_unless_an_admin_asks(bender, stack, user):
    # The person found by its place is only whom the command is about; who may grant is the sender.
    assert bender.texts(user, "@bender kim can deploy crm now")[0].startswith("Only admins can grant")
    with Database(stack.database_url()).transaction() as session:
        assert session.scalars(select(Grant).where(Grant.user_id == "kim")).all() == []
