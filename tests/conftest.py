"""Shared fixtures: a fresh data directory and helpers to run the CLI in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from renown.cli import main
from renown.ingest.pipeline import ingest
from renown.score.run import run_weekly
from renown.simulate import DEMO, DEMO_WEEKS, simulate, write_dataset
from renown.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Store:
    """The exact population `renown demo` builds, ingested and scored once."""
    root = tmp_path_factory.mktemp("demo")
    write_dataset(simulate(**DEMO), root / "source")
    store = Store(root / "data")
    ingest(store, [root / "source"])
    run_weekly(store, DEMO_WEEKS)
    return store



@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data")


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures, free to modify."""
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, target)
    return target


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self):
        return orjson.loads(self.out)


@pytest.fixture
def cli(capsys, store: Store):
    """Run ``renown --data-dir <store> ARGS`` in-process; returns a CliResult."""

    def run(*args: str, data_dir: Path | None = None) -> CliResult:
        argv = ["--data-dir", str(data_dir or store.root), *map(str, args)]
        code = main(argv)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def read_events(store: Store):
    """Rows of a store view as dicts, ordered by event id: ``read_events("kind = 'like'")``."""

    def read(where: str = "true", view: str = "events", of: Store | None = None) -> list[dict]:
        con = (of or store).connect()
        cursor = con.execute(f"SELECT * FROM {view} WHERE {where} ORDER BY 1")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        con.close()
        return rows

    return read



@pytest.fixture(params=["sqlite", "postgresql"])
def app_db(request, monkeypatch):
    """Run a test against the default SQLite application database and against a real
    PostgreSQL server (started by ./scripts/test.sh, which exports RENOWN_TEST_POSTGRES_URL)."""
    import os

    if request.param == "sqlite":
        monkeypatch.delenv("RENOWN_DATABASE_URL", raising=False)
        yield "sqlite"
        return
    url = os.environ.get("RENOWN_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL server: ./scripts/test.sh starts one and sets RENOWN_TEST_POSTGRES_URL")
    import sqlalchemy

    import renown.api.keys  # noqa: F401  (every table on the metadata)
    import renown.consent  # noqa: F401
    import renown.endorsements  # noqa: F401
    import renown.identity  # noqa: F401
    import renown.jobs  # noqa: F401
    import renown.perks  # noqa: F401
    import renown.triage  # noqa: F401
    from renown.appdb import Base, forget_engines

    engine = sqlalchemy.create_engine(url)
    Base.metadata.drop_all(engine)  # each test starts from an empty database
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    forget_engines()
    monkeypatch.setenv("RENOWN_DATABASE_URL", url)
    yield url
