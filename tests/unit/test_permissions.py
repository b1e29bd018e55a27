"""Permissions against a real database (SQLite in a temporary directory), migrated by Alembic."""
import pytest
from sqlalchemy import inspect, select

from deploybot.domain.catalog import load_catalog
from deploybot.domain.deploy_request import DeployRequest, RequestRejected
from deploybot.policy.permissions import Permissions
from deploybot.domain.profiles import load_profiles
from deploybot.storage.database import Database, database_url, migrate
from deploybot.storage.models import AuditEntry


@pytest.fixture
def db(tmp_path):
    url = database_url({"DEPLOYBOT_VAR_DIR": str(tmp_path)})
    migrate(url)
    migrate(url)  # applying again changes nothing
    return Database(url)


@pytest.fixture
def bots(db):
    profiles, catalog = load_profiles("assistants", environ={}), load_catalog("apps.yml")
    return Permissions(db, profiles["bender"], catalog), Permissions(db, profiles["marvin"], catalog)


def audit(db):
    with db.transaction() as session:
        return [(e.assistant, e.actor, e.action, e.outcome, e.target_user, e.app, e.detail)
                for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_migrations_create_the_tables(db):
    assert {"grants", "audit_log", "alembic_version"} <= set(inspect(db.engine).get_table_names())


def test_an_admin_grants_and_revokes(db, bots):
    bender, _ = bots
    assert bender.grant("jbrueder", "theresa", "cms") == "theresa may now deploy Content Management System to production."
    assert bender.grant("jbrueder", "theresa", "cms") == "theresa could already deploy Content Management System to production; nothing changed."
    assert bender.may_deploy("theresa", "cms") and not bender.may_deploy("theresa", "shop")
    assert bender.describe_for_app("cms") == "These people may deploy Content Management System to production: theresa."
    assert bender.describe_for_user("theresa", "theresa") == "You may deploy to production: cms."
    assert bender.revoke("jbrueder", "theresa", "cms") == "theresa may no longer deploy Content Management System to production."
    assert bender.revoke("jbrueder", "theresa", "cms") == "theresa had no grant for Content Management System; nothing changed."
    assert not bender.may_deploy("theresa", "cms")
    assert [row[2:4] for row in audit(db)] == [("grant", "done"), ("grant", "unchanged"), ("revoke", "done"), ("revoke", "unchanged")]


def test_a_non_admin_is_refused_and_the_attempt_audited(db, bots):
    bender, _ = bots
    assert bender.grant("mallory", "mallory", "cms") == "Only admins can grant deploy permissions, and you are not one (admins: jbrueder)."
    assert not bender.may_deploy("mallory", "cms")
    assert audit(db) == [("bender", "mallory", "grant", "refused", "mallory", "cms", "not an admin")]


def test_admins_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("DEPLOYBOT_ADMINS", "U024BE7LH")
    bender = Permissions(db, load_profiles("assistants", environ={})["bender"], load_catalog("apps.yml"))
    assert bender.grant("U024BE7LH", "theresa", "shop").startswith("theresa may now deploy Web Shop")


@pytest.mark.parametrize(
    "user, app, message",
    [(None, "cms", "Who should I grant that for?"), ("theresa", None, "Which app?"), ("theresa", "payroll", "I don't know an app called “payroll”.")],
)
def test_incomplete_or_unknown_grants_store_nothing(db, bots, user, app, message):
    bender, _ = bots
    assert bender.grant("jbrueder", user, app).startswith(message)
    assert bender.all_grants() == []
    assert audit(db)[0][3] == "refused"


def test_marvin_needs_no_grants(db, bots):
    _, marvin = bots
    assert marvin.grant("jbrueder", "theresa", "cms").startswith("Everyone may deploy to staging through me")
    assert marvin.may_deploy("anyone", "cms")
    assert marvin.describe_for_app("cms") == "Everyone may deploy Content Management System to staging."


def test_a_deploy_without_a_grant_is_refused_with_the_reason(db, bots):
    # (The action that asked audits the refusal: tests/integration/test_abuse.py.)
    bender, marvin = bots
    request = DeployRequest("cms", "1.0.2", "production")
    with pytest.raises(RequestRejected, match="You may not deploy Content Management System to production: an admin has to grant it"):
        bender.check_may_deploy("theresa", request)
    bender.grant("jbrueder", "theresa", "cms")
    bender.check_may_deploy("theresa", request)  # no exception
    marvin.check_may_deploy("theresa", DeployRequest("cms", "1.0.2", "staging"))
