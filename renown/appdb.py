"""Application state — audiences, opt-outs and opt-ins, minors, consent, endorsements
and API keys — in a SQL database through SQLAlchemy.

The database is ``$RENOWN_DATABASE_URL`` when set (e.g.
``postgresql+psycopg://user@host/renown``), else the SQLite file
``renown.db`` in the data directory: no server to start. The schema is
migrated (Alembic, :mod:`renown.migrations`) to this version's the first time a
process opens the database, so upgrading renown keeps everything it held.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (Connection, DateTime, ForeignKey, Integer, String, UniqueConstraint, create_engine, event,
                        inspect, select, text)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

ENV_URL = "RENOWN_DATABASE_URL"


class Base(DeclarativeBase):
    pass


class Audience(Base):
    """A brand's own customer list."""

    __tablename__ = "audiences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    members: Mapped[list["AudienceMember"]] = relationship(back_populates="audience", cascade="all, delete-orphan")


class AudienceMember(Base):
    """One customer, one identifier: an account on a network, or only an email/customer id."""

    __tablename__ = "audience_members"
    __table_args__ = (UniqueConstraint("audience_id", "customer_id", "network", "handle", name="one_identifier"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    network: Mapped[str | None] = mapped_column(String(100), nullable=True)
    handle: Mapped[str | None] = mapped_column(String(300), nullable=True)
    account: Mapped[str | None] = mapped_column(String(400), nullable=True, index=True)  # resolved account key
    audience: Mapped[Audience] = relationship(back_populates="members")


class OptOut(Base):
    """An account that asked not to be scored: absent from every ranking and answer."""

    __tablename__ = "opt_outs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OptIn(Base):
    """An account that asked to be scored (needed when the policy scores only opted-in people)."""

    __tablename__ = "opt_ins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Minor(Base):
    """An account known to belong to a child: never scored or shown while the policy excludes minors."""

    __tablename__ = "minors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(400), unique=True)
    source: Mapped[str] = mapped_column(String(200))  # who said so: an operator, a guardian request, a source flag
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


#: One engine per database URL, its schema migrated when it was created.
_engines: dict[str, Engine] = {}
#: The revision that created the tables every database had before migrations existed.
BASELINE = "0001"
#: Modules that define tables (imported before migrating, so the metadata holds all of them).
TABLE_MODULES = ("renown.api.keys", "renown.consent", "renown.endorsements", "renown.identity", "renown.jobs",
                 "renown.perks", "renown.triage")


def engine_for(data_dir: Path, url: str | None = None) -> Engine:
    """The engine for the application database, created and migrated once per process."""
    url = url or os.environ.get(ENV_URL) or f"sqlite:///{Path(data_dir).resolve() / 'renown.db'}"
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _secure_delete)
        migrate(engine)
        _engines[url] = engine
    return engine


def import_tables() -> None:
    from importlib import import_module

    for module in TABLE_MODULES:
        import_module(module)


def alembic_config(connection: Connection):
    """Alembic's configuration for renown's migrations, running on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "renown:migrations")
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision. A database made before migrations existed
    (renown's tables, no revision) gets any table it lacks and counts as the baseline."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    import_tables()
    with _one_migrator(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = alembic_config(connection)
        if MigrationContext.configure(connection).get_current_revision() is None and \
                set(Base.metadata.tables) & set(inspect(connection).get_table_names()):
            Base.metadata.create_all(connection)
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")


#: PostgreSQL advisory-lock key held while migrating (any constant; this one spells "renown").
MIGRATION_LOCK = 0x72656E6F776E


@contextmanager
def _one_migrator(engine: Engine) -> Iterator[None]:
    """Several processes may open a brand-new database at once (an API server's workers, a
    CLI command): one migrates while the others wait, then find it migrated. PostgreSQL
    serialises on an advisory lock inside the migration's transaction; a SQLite file on a
    lock file beside it (its DDL does not run in a transaction the driver would lock)."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate-lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def forget_engines() -> None:
    """Drop the cached engines (after tables were dropped behind our back, as tests do)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def _secure_delete(connection, _record) -> None:
    """SQLite overwrites deleted rows with zeros, so an erased person is not left in free pages."""
    connection.execute("PRAGMA secure_delete = ON")


def has_database(data_dir: Path, url: str | None = None) -> bool:
    """Whether application state exists yet (readers need not create an empty database)."""
    return bool(url or os.environ.get(ENV_URL) or (Path(data_dir) / "renown.db").exists())


def now() -> datetime:
    return datetime.now(timezone.utc)


__all__ = ["Audience", "AudienceMember", "Base", "Minor", "OptIn", "OptOut", "Session", "engine_for", "has_database", "select", "now"]
