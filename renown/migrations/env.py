"""Alembic's entry point: migrations run on the connection renown hands over."""

from alembic import context

from renown.appdb import Base, import_tables

import_tables()
context.configure(connection=context.config.attributes["connection"], target_metadata=Base.metadata,
                  render_as_batch=True)  # SQLite alters tables by copying them
with context.begin_transaction():
    context.run_migrations()
