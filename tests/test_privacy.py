"""Erasure that really deletes: after `renown forget`, nothing in the data directory names the person."""

from __future__ import annotations

import pytest

from renown.ingest.pipeline import ingest
from renown.privacy import identifiers, mentions_of
from renown.score import snapshots
from renown.score.run import run_score
from renown.simulate import simulate, write_dataset
from renown.store import Store


@pytest.fixture
def world(tmp_path) -> Store:
    write_dataset(simulate(accounts=300, days=6, seed=9), tmp_path / "source")
    store = Store(tmp_path / "data")
    ingest(store, [tmp_path / "source"])
    run_score(store)
    return store


@pytest.mark.usefixtures("app_db")
def test_forget_leaves_no_trace_in_any_store(world, cli, tmp_path) -> None:
    run = snapshots.latest(world.root)
    victim = snapshots.query(f"SELECT account FROM read_parquet('{run.scores}') WHERE account LIKE 'twitter:%' "
                             "ORDER BY reactions DESC LIMIT 1")[0]["account"]
    names = identifiers(world, victim)
    assert mentions_of(world, names)  # the scan does find the person before
    cli("endorse", victim, snapshots.query(f"SELECT account FROM read_parquet('{run.scores}') "
                                           f"WHERE account <> '{victim}' LIMIT 1")[0]["account"], "--topic", "python",
        data_dir=world.root)
    result = cli("forget", victim, "--json", data_dir=world.root)
    assert result.code == 0
    report = result.json()
    assert report["events"] > 0 and report["snapshot_rows"] > 0 and report["application_rows"] == 1
    assert mentions_of(world, names) == []
    # the rest still works: others keep their scores, the person is simply gone
    assert cli("score", data_dir=world.root).code == 0
    assert cli("explain", victim, data_dir=world.root).code == 1
