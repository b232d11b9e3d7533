"""The embedded store: idempotent ingest, atomic commits, partitioned Parquet, newest account data."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from renown.errors import StoreError
from renown.ingest.pipeline import ingest
from renown.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


def snapshot(store: Store) -> dict:
    con = store.connect()
    result = {
        "events": con.execute("SELECT event_id, kind, actor, target FROM events_all ORDER BY 1").fetchall(),
        "accounts": con.execute("SELECT * FROM accounts ORDER BY key").fetchall(),
        "raw": con.execute("SELECT source_file, source_line FROM raw ORDER BY 1, 2").fetchall(),
    }
    con.close()
    return result


def test_reingesting_the_same_files_adds_nothing(fixtures, store) -> None:
    first = ingest(store, [fixtures])
    before = snapshot(store)
    second = ingest(store, [fixtures])
    assert sum(second.loaded.values()) == 0
    assert second.duplicate == first.loaded + first.duplicate
    assert snapshot(store) == before


def test_events_are_partitioned_by_network_and_day(fixtures, store) -> None:
    ingest(store, [fixtures])
    partitions = {p.parent.relative_to(store.events_dir).as_posix() for p in store.event_files()}
    assert "network=bluesky/day=2024-09-09" in partitions
    assert "network=twitter/day=2018-10-09" in partitions
    assert all(p.startswith("network=") and "/day=" in p for p in partitions)


def test_raw_source_text_is_kept_for_every_stored_record(fixtures, store, read_events) -> None:
    ingest(store, [fixtures])
    raw = {(r["source_file"], r["source_line"]): r["raw"] for r in read_events(view="raw")}
    for event in read_events(view="events_all"):
        assert (event["source_file"], event["source_line"]) in raw
    line = raw[(str(fixtures / "reddit/RC_2023-01.ndjson"), 2)]
    assert orjson.loads(line)["id"] == "j2x2c3d"


def test_newest_observation_of_an_account_wins(tmp_path, store, read_events) -> None:
    def tweet(tid: str, when: str, followers: int) -> dict:
        return {"id": tid, "author_id": "7", "created_at": when, "text": "x",
                "author": {"id": "7", "username": "seven", "name": "Seven", "public_metrics": {"followers_count": followers}}}

    newer, older = tmp_path / "newer.jsonl", tmp_path / "older.jsonl"
    newer.write_bytes(orjson.dumps(tweet("2", "2024-02-01T00:00:00.000Z", 200)) + b"\n")
    older.write_bytes(orjson.dumps(tweet("1", "2024-01-01T00:00:00.000Z", 100)) + b"\n")
    ingest(store, [newer])
    ingest(store, [older])
    [account] = read_events(view="accounts")
    assert account["followers"] == 200


def test_a_crash_before_the_journal_leaves_the_previous_state(fixtures, store, monkeypatch) -> None:
    ingest(store, [fixtures / "reddit"])
    before = snapshot(store)

    def explode(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr("renown.store._write_atomic", explode)
    with pytest.raises(KeyboardInterrupt):
        ingest(store, [fixtures])
    monkeypatch.undo()
    assert snapshot(Store(store.root)) == before
    assert not any(store.txn_dir.iterdir())
    ingest(store, [fixtures])  # a re-run completes the work
    clean = Store(store.root.parent / "clean")
    ingest(clean, [fixtures / "reddit"])
    ingest(clean, [fixtures])
    assert snapshot(store)["events"] == snapshot(clean)["events"]


def test_a_crash_midway_through_the_moves_is_rolled_forward(fixtures, store, monkeypatch) -> None:
    clean = Store(store.root.parent / "clean")
    ingest(clean, [fixtures])
    real_replace, calls = os.replace, {"n": 0}

    def flaky_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 4:  # after the journal and a couple of partition files
            raise OSError("disk went away")
        return real_replace(src, dst)

    monkeypatch.setattr("renown.store.os.replace", flaky_replace)
    with pytest.raises(OSError):
        ingest(store, [fixtures])
    monkeypatch.undo()
    assert list(store.txn_dir.glob("*/COMMIT"))  # the journal survived the crash
    assert snapshot(Store(store.root)) == snapshot(clean)  # opening the store finishes the commit
    assert not any(store.txn_dir.iterdir())


def test_a_second_writer_is_refused_while_one_is_busy(store) -> None:
    with store.lock():
        with pytest.raises(StoreError, match="another renown process"):
            with Store(store.root).lock():
                pass


def test_an_empty_store_answers_queries(store) -> None:
    stats = store.stats()
    assert (stats["events"], stats["accounts"], stats["quarantined"]) == (0, 0, 0)
    assert stats["by_kind"] == {} and stats["by_network"] == {}


def test_the_commit_streams_within_its_memory_cap(tmp_path, monkeypatch) -> None:
    """Bounded memory whatever the input size: ~60 MB of twarc2 pages (raw lines of up to a
    megabyte each, all kept) commit with DuckDB capped at 48 MB."""
    import renown.store
    from renown.simulate import simulate, write_dataset

    write_dataset(simulate(accounts=800, days=30, seed=1, networks=("twitter",)), tmp_path / "source")
    pages = tmp_path / "source" / "twitter" / "search-pages.jsonl"
    assert pages.stat().st_size > 50 << 20
    monkeypatch.setattr(renown.store, "_COMMIT_MEMORY", "48MB")
    store = Store(tmp_path / "data")
    report = ingest(store, [pages], workers=1)
    con = store.connect()
    kept = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    con.close()
    assert sum(report.loaded.values()) > 0 and kept > 0
