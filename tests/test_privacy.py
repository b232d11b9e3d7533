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


@pytest.mark.usefixtures("app_db")
def test_export_is_one_document_with_everything(world, cli) -> None:
    run = snapshots.latest(world.root)
    person = snapshots.query(f"SELECT account FROM read_parquet('{run.scores}') ORDER BY reactions DESC LIMIT 1")[0]["account"]
    other = snapshots.query(f"SELECT account FROM read_parquet('{run.scores}') WHERE account <> '{person}' LIMIT 1")[0]["account"]
    cli("endorse", other, person, "--topic", "python", data_dir=world.root)
    result = cli("export", person, data_dir=world.root)
    assert result.code == 0
    document = result.json()
    con = world.connect()
    made = con.execute("SELECT count(*) FROM events_all WHERE actor = ?", [person]).fetchone()[0]
    received = con.execute("SELECT count(*) FROM events_all WHERE target = ?", [person]).fetchone()[0]
    assert len(document["events_made"]) == made and len(document["events_received"]) == received
    assert document["profile"][0]["key"] == person
    assert any(s["table"] == "scores" and s["score"] >= 1 for s in document["scores"])
    assert document["application"]["endorsements"][0]["endorser"] == other


@pytest.mark.usefixtures("app_db")
def test_opt_out_hides_at_once_and_is_not_scored_again(world, cli) -> None:
    run = snapshots.latest(world.root)
    leader = cli("top", "--limit", "1", "--json", data_dir=world.root).json()[0]["account"]
    assert cli("opt-out", leader, data_dir=world.root).code == 0
    assert leader not in [r["account"] for r in cli("top", "--limit", "50", "--json", data_dir=world.root).json()]
    assert cli("explain", leader, data_dir=world.root).code == 1
    assert cli("score", data_dir=world.root).code == 0
    fresh = snapshots.latest(world.root)
    assert fresh.path != run.path
    assert not snapshots.query(f"SELECT 1 FROM read_parquet('{fresh.scores}') WHERE account = ?", [leader])
    # its reactions count for nobody any more
    con = world.connect()
    helped = [a for (a,) in con.execute(
        "SELECT DISTINCT target FROM events WHERE actor = ? AND target IS NOT NULL AND target <> actor "
        "AND kind IN ('reply', 'repost', 'quote', 'like', 'mention')", [leader]).fetchall()]
    con.close()
    before = {r["account"]: r["reactors"] for r in snapshots.query(f"SELECT account, reactors FROM read_parquet('{run.scores}')")}
    after = {r["account"]: r["reactors"] for r in snapshots.query(f"SELECT account, reactors FROM read_parquet('{fresh.scores}')")}
    assert helped and all(after.get(a, 0) == before[a] - 1 for a in helped if a in before)
    assert cli("opt-in", leader, data_dir=world.root).code == 0
    assert cli("score", data_dir=world.root).code == 0
    assert cli("explain", leader, data_dir=world.root).code == 0
