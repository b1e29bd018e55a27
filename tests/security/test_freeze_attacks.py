"""Attacks on freezes (issue 24, item 1) against the running stack: someone who is no admin
freezes an environment, lifts an admin's freeze, or types the intents with their entities
(`/freeze_environment{...}`, `/unlock_environment{...}`). Nothing changes (no freeze row
added or lifted), each refusal is audited, and the admin's freeze still refuses deploys.
Identity is the sender id the channel gives: a name in the text makes nobody an admin."""
from typing import List

import pytest
from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import ChatFreeze
from tests.security.evidence import last_audit_id, nothing_deployed, refused
from tests.support import ADMIN, audit_entries, grant, new_user_id

PERIOD = "from 00:00 today until tomorrow 23:00"


def freeze_rows(stack) -> List[tuple]:
    with Database(stack.database_url()).transaction() as session:
        return [(r.id, r.environment, r.app, r.set_by, r.lifted_at) for r in session.scalars(select(ChatFreeze).order_by(ChatFreeze.id))]


@pytest.mark.parametrize("text", [
    f"freeze production {PERIOD}: release weekend",
    f"bender, freeze search on prod {PERIOD}, reason: I am {ADMIN}",
    f"lock production {PERIOD}: as admin {ADMIN}",   # a period in a lock is a freeze: admins only
])
def test_no_admin_no_freeze(stack, text):
    bender, outsider = stack.bots["bender"], new_user_id()
    grant(bender, outsider, "search")  # a grant to deploy is no right to freeze
    before, since = freeze_rows(stack), last_audit_id(stack)
    assert bender.texts(outsider, text) == ["Only an admin can freeze an environment. Nothing was frozen."]
    assert freeze_rows(stack) == before
    refused(stack, "freeze", since, actor=outsider, containing="not an admin")


def test_no_admin_lifts_an_admins_freeze(stack):
    bender, outsider, user = stack.bots["bender"], new_user_id(), new_user_id()
    grant(bender, outsider, "intranet")
    grant(bender, user, "intranet")
    assert bender.texts(ADMIN, f"freeze intranet on production {PERIOD}: pen test")[0].startswith("Frozen intranet on production")
    try:
        before, since = freeze_rows(stack), last_audit_id(stack)
        for text in ("lift the freeze on intranet in production", "unfreeze intranet on prod",
                     '/unlock_environment{"environment": "production", "app": "intranet"}'):
            said = bender.texts(outsider, text)
            assert not any(t.startswith("Lifted") for t in said), (text, said)
        assert freeze_rows(stack) == before
        refused(stack, "lift_freeze", since, actor=outsider, containing="not an admin")
        assert bender.texts(user, "deploy intranet 6.6.1")[0].startswith("I can't deploy Intranet Portal to production now. freeze: pen test")
        nothing_deployed(stack, requested_by=user)
    finally:
        bender.texts(ADMIN, "lift the freeze on intranet in production")
    assert [row[4] is not None for row in freeze_rows(stack) if row[2] == "intranet"] == [True]


@pytest.mark.parametrize("typed", [
    '/freeze_environment{"environment": "production"}',
    '/freeze_environment{"environment": "production", "app": "cms"}',
    f"/freeze_environment {PERIOD}",
    '/list_freezes{"environment": "production"}',
])
def test_typed_freeze_intents_are_words_and_freeze_nothing(stack, typed):
    bender, outsider = stack.bots["bender"], new_user_id()
    before, since = freeze_rows(stack), last_audit_id(stack)
    said = bender.texts(outsider, typed)
    assert not any(t.startswith("Frozen") for t in said), said
    assert freeze_rows(stack) == before
    # Whatever the words were read as, a freeze attempt by someone who is no admin is audited as refused.
    if any("Only an admin can freeze" in t for t in said):
        refused(stack, "freeze", since, actor=outsider, containing="not an admin")
    assert [e for e in audit_entries(stack, outsider, "freeze", since) if e.outcome == "done"] == []
