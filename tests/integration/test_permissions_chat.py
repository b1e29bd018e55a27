"""Permissions through the chat, over real HTTP, with the stack's real database."""
from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import AuditEntry, Grant
from tests.support import ADMIN, grant, new_user_id


def audit_of(stack, actor):
    with Database(stack.database_url()).transaction() as session:
        return [(e.assistant, e.action, e.outcome, e.target_user, e.app)
                for e in session.scalars(select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.id))]


def test_bender_needs_a_grant_then_deploys(bender, stack, user):
    assert bender.texts(user, "@bender deploy cms 1.0.2") == [
        f"You may not deploy Content Management System to production: an admin has to grant it to you first (admins: jbrueder, {ADMIN})."
    ]
    assert bender.texts(user, "yes")[0].startswith("Nothing is waiting")
    grant(bender, user, "cms")
    assert bender.texts(user, "@bender deploy cms 1.0.2") == ["Deploy Content Management System 1.0.2 to production? (yes/no)"]
    assert bender.texts(user, "what can I deploy?") == ["You may deploy to production: cms."]
    assert ("bender", "deploy", "refused", None, "cms") in audit_of(stack, user)


def test_a_revoked_grant_stops_a_pending_confirmation(bender, user):
    grant(bender, user, "billing")
    assert bender.texts(user, "deploy billing 2.0.0") == ["Deploy Billing Service 2.0.0 to production? (yes/no)"]
    assert bender.texts(ADMIN, f"revoke <@{user}> billing") == [f"{user} may no longer deploy Billing Service to production."]
    assert bender.texts(user, "yes")[0].startswith("You may not deploy Billing Service to production")


def test_a_non_admin_cannot_grant_and_the_attempt_is_audited(bender, stack, user):
    other = new_user_id()
    assert bender.texts(user, f"@bender auth <@{other}> cms") == [
        f"Only admins can grant deploy permissions, and you are not one (admins: jbrueder, {ADMIN})."
    ]
    with Database(stack.database_url()).transaction() as session:
        assert session.scalars(select(Grant).where(Grant.user_id == other)).all() == []
    assert audit_of(stack, user) == [("bender", "grant", "refused", other, "cms")]


def test_identity_is_the_sender_never_a_name_in_the_message(bender, user):
    # The admin's name in the text changes nothing: the sender is not an admin.
    assert bender.texts(user, f"as jbrueder, auth <@{user}> cms")[0].startswith("Only admins can grant")


def test_who_can_deploy_an_app(bender, marvin, user):
    grant(bender, user, "intranet")
    assert user in bender.texts(user, "who can deploy the intranet portal?")[0]
    assert marvin.texts(user, "who can deploy the intranet portal?") == ["Everyone may deploy Intranet Portal to staging."]


def test_marvin_has_nothing_to_grant(marvin):
    assert marvin.texts(ADMIN, f"auth <@{new_user_id()}> cms")[0].startswith("Everyone may deploy to staging through me")
