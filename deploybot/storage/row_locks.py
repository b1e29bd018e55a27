"""Read-modify-write of one row, safe on both databases deploybot runs on.

`SELECT … FOR UPDATE` locks the row on PostgreSQL, but SQLite ignores it: two transactions
both read the old value and the second write loses the first (two approvals at once counted
as one; an approval and a rejection both "deciding"). Writing the row first works on both:
PostgreSQL holds a row lock until commit, SQLite lets one writer in at a time, so the second
transaction waits and then reads what the first committed. Must come before any other read
in the transaction (SQLite keeps the snapshot of its first read).
"""
from __future__ import annotations

from typing import Any, Optional, Type, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

Row = TypeVar("Row")


def locked_row(session: Session, model: Type[Row], key: Any) -> Optional[Row]:
    """The row with this primary key, held until the transaction ends; None when there is none."""
    [column] = model.__table__.primary_key.columns
    key_attribute = getattr(model, column.name)
    session.execute(update(model).where(key_attribute == key).values({column.name: key_attribute})
                    .execution_options(synchronize_session=False))  # nothing changes: no session state to sync
    return session.scalars(select(model).where(key_attribute == key)).first()
