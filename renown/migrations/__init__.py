"""Schema migrations of the application database (Alembic).

:func:`renown.appdb.migrate` brings every database to the newest revision the
first time a process opens it, so upgrading renown never needs a manual step.
A change to a table is a new revision in ``versions/``::

    .venv/bin/python -m renown.migrations "add triage.sla_hours"

autogenerates it against a scratch database at the current head (review it
before committing). ``tests/test_migrations.py`` fails when the models and the
migrated schema differ, on SQLite and on PostgreSQL.
"""
