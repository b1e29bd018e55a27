"""Connecting to the database and bringing its schema up to date."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

DATABASE_URL_ENV = "DEPLOYBOT_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"


def var_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where local state lives (databases, logs): var/, or DEPLOYBOT_VAR_DIR."""
    path = Path(environ.get("DEPLOYBOT_VAR_DIR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(environ: Mapping[str, str] = os.environ) -> str:
    """DEPLOYBOT_DATABASE_URL, or a SQLite file in the var directory."""
    url = environ.get(DATABASE_URL_ENV)
    if url:
        return url
    return f"sqlite:///{var_dir(environ) / 'deploybot.db'}"


def make_engine(url: str) -> Engine:
    # future=True: SQLAlchemy 2.0 behaviour on 1.4.
    return create_engine(url, future=True, pool_pre_ping=True)


def migrate(url: str) -> None:
    """Applies every Alembic migration not yet applied (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on an exception."""
        with self._sessions() as session, session.begin():
            yield session
