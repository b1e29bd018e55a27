"""One gate per environment: a lock being set and a deployment starting there take turns.

Checking for a lock and then recording a deployment are two statements; a lock committed
between them would not stop the deployment. So both the lock and the start first write
the environment's gate row in their transaction. The database lets one writer hold a row
at a time (PostgreSQL: a row lock until commit; SQLite: one writer at a time), so the
second transaction waits, and then sees what the first committed: a lock set at the same
moment as a yes either comes first and stops the deployment, or comes after it.
"""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from deploybot.storage.models import EnvironmentGate

INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


def take_environment_gate(session: Session, environment: str) -> None:
    """Must be the transaction's first statement (SQLite takes its write lock there, before any read)."""
    insert = INSERTS[session.get_bind().dialect.name]
    statement = insert(EnvironmentGate).values(environment=environment, turns=1)
    session.execute(statement.on_conflict_do_update(index_elements=["environment"],
                                                    set_={"turns": EnvironmentGate.turns + 1}))
