"""A real database for the unit tests that must hold on both databases deploybot runs on:
SQLite, and PostgreSQL (one server for the whole test session, tests/services.py)."""
import pytest
from sqlalchemy import delete

from deploybot.storage.database import Database, migrate
from deploybot.storage.models import Base
from tests.services import Postgres


@pytest.fixture(scope="session")
def postgres():
    server = Postgres().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_on_both(request, tmp_path) -> Database:
    """A migrated, empty deploybot database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'deploybot.db'}"
    else:
        url = request.getfixturevalue("postgres").url("deploybot")
    migrate(url)
    database = Database(url)
    yield database
    with database.transaction() as session:  # the PostgreSQL database is shared by the session's tests
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    database.engine.dispose()
