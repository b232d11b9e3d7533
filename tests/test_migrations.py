"""The application database's schema migrations: new databases, databases from before
migrations existed, and models that changed without a migration."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from renown.appdb import BASELINE, Base, OptOut, alembic_config, engine_for, forget_engines, import_tables, migrate


def _engine(app_db: str, tmp_path) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(app_db if app_db != "sqlite" else f"sqlite:///{tmp_path / 'renown.db'}")


def _revision(engine: sqlalchemy.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _head(engine: sqlalchemy.Engine) -> str:
    with engine.connect() as connection:
        return ScriptDirectory.from_config(alembic_config(connection)).get_current_head()


def test_a_new_database_is_migrated_to_exactly_the_models(app_db, tmp_path) -> None:
    """Fails when a model changes without a migration (``python -m renown.migrations MESSAGE``)."""
    engine = _engine(app_db, tmp_path)
    migrate(engine)
    assert _revision(engine) == _head(engine)
    import_tables()
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    migrate(engine)  # a second run changes nothing
    assert _revision(engine) == _head(engine)
    engine.dispose()


def test_a_database_from_before_migrations_keeps_its_rows(app_db, tmp_path) -> None:
    """Tables made by ``create_all`` (renown 0.1, some of them only) and no revision: the missing
    tables are added, the database counts as the baseline, and nothing it held is lost."""
    engine = _engine(app_db, tmp_path)
    OptOut.__table__.create(engine)
    with engine.begin() as connection:
        connection.execute(OptOut.__table__.insert().values(account="twitter:1", created_at=datetime.now(timezone.utc)))
    forget_engines()
    url = app_db if app_db != "sqlite" else None
    opened = engine_for(tmp_path, url)
    assert _revision(opened) in (BASELINE, _head(opened))
    with opened.connect() as connection:
        assert connection.execute(sqlalchemy.select(OptOut.account)).scalars().all() == ["twitter:1"]
        assert set(Base.metadata.tables) <= set(sqlalchemy.inspect(connection).get_table_names())
    forget_engines()
    engine.dispose()


def _open_at(url: str, data_dir: str, start, results) -> None:
    """Child process: wait for the others, then open (and so migrate) the database."""
    import os

    os.environ.pop("RENOWN_DATABASE_URL", None)
    start.wait()
    try:
        engine_for(Path(data_dir), url)
        results.put("ok")
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_database_at_once_all_succeed(app_db, tmp_path) -> None:
    """An API server's workers and a CLI command may all be first to open a brand-new
    database: one migrates it, the others wait and find it migrated."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    url = app_db if app_db != "sqlite" else f"sqlite:///{tmp_path / 'renown.db'}"
    opening = 4
    start, results = context.Barrier(opening), context.Queue()
    children = [context.Process(target=_open_at, args=(url, str(tmp_path), start, results)) for _ in range(opening)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert outcomes == ["ok"] * opening
    engine = sqlalchemy.create_engine(url)
    assert _revision(engine) == _head(engine)
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()
