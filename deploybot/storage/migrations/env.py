"""Alembic environment: the URL comes from deploybot.storage.database.migrate()."""
from alembic import context
from sqlalchemy import create_engine

from deploybot.storage.models import Base

url = context.config.get_main_option("sqlalchemy.url")
connectable = create_engine(url, future=True)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
