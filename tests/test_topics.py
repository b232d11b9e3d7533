"""Topics: tags mapped onto the Klout ontology, topic-sensitive PageRank, topic leaderboards."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from renown.cli import main
from renown.score import snapshots
from renown.score.topics import TOPIC_SCHEMA
from renown.topics import free_topic, normalize, taxonomy


def test_tags_map_onto_the_klout_ontology() -> None:
    tax = taxonomy()
    assert tax.topic_of("#QuantumComputing") == "quantum-computing"
    assert tax.topic_of("quantum-computing") == "quantum-computing"
    assert tax.topic_of("Python") == "python"
    assert tax.name_of("quantum-computing") == "Quantum Computing"
    assert tax.parents["quantum-computing"] == "computers"
    assert tax.topic_of("Open Source Hardware!!") == free_topic("Open Source Hardware!!") == "open-source-hardware"
    assert normalize("Ham-Radio_2m") == "hamradio2m"
    assert len(tax.names) > 8000


def test_topic_scores_in_the_demo_snapshot(demo_store) -> None:
    run = snapshots.latest(demo_store.root)
    rows = snapshots.query(f"SELECT * FROM read_parquet('{run.topics}')")
    assert rows and {r["topic"] for r in rows} >= {"football", "python", "music"}
    assert all(1 <= r["score"] < 100 and r["posts"] >= 1 for r in rows)
    truth_file = next(demo_store.root.parent.glob("source/ground-truth.tsv"))
    with open(truth_file) as handle:
        truth = {r["account"]: r for r in csv.DictReader(handle, delimiter="\t")}
    # planted experts outrank ordinary accounts in their own topic
    own = [r for r in rows if truth.get(r["account"], {}).get("type") == "expert" and r["topic"] in truth[r["account"]]["topics"]]
    ordinary = [r for r in rows if truth.get(r["account"], {}).get("type") == "ordinary"]
    assert sum(r["score"] for r in own) / len(own) > 1.5 * sum(r["score"] for r in ordinary) / len(ordinary)


def test_top_topic_and_topics_json(demo_store, capsys) -> None:
    assert main(["--data-dir", str(demo_store.root), "top", "--topic", "Football", "--limit", "5", "--json"]) == 0
    rows = orjson.loads(capsys.readouterr().out)
    assert len(rows) == 5 and all(r["topic"] == "football" and {"account", "score"} <= set(r) for r in rows)
    leader = rows[0]["account"]
    assert main(["--data-dir", str(demo_store.root), "topics", leader, "--json"]) == 0
    known = orjson.loads(capsys.readouterr().out)
    football = next(k for k in known["known_for"] if k["topic"] == "football")
    assert football["score"] == rows[0]["score"] and football["top_posts"] and football["top_people"]


def test_unknown_topic_lists_the_scored_ones(demo_store, capsys) -> None:
    assert main(["--data-dir", str(demo_store.root), "top", "--topic", "underwater-basket-weaving"]) == 1
    assert "scored topics: " in capsys.readouterr().err


def test_a_snapshot_without_topic_scores_answers_cleanly(tmp_path, cli, store) -> None:
    """Data with no topic used by two authors score no topic: `topics` says so instead of failing on a
    table without its columns — also for such a snapshot written before the table kept them."""
    fixtures = Path(__file__).parent / "fixtures"
    assert cli("ingest", fixtures / "twarc2").code == 0 and cli("score").code == 0
    run = snapshots.latest(store.root)
    assert not run.has_topic_scores
    assert pq.read_schema(run.topics).names == TOPIC_SCHEMA.names
    leader = cli("top", "--limit", "1", "--json").json()[0]["account"]
    for table in (None, pa.table({"account": pa.array([], pa.string()), "topic": pa.array([], pa.string())})):
        if table is not None:  # the old empty table
            pq.write_table(table, run.topics)
        result = cli("topics", leader, "--json")
        assert result.code == 0 and result.json()["known_for"] == []
        assert cli("topics", leader).code == 0


def test_post_text_joins_topics_already_in_use_as_tags(tmp_path, cli, store) -> None:
    rows = ["event_id,network,kind,actor,target,created_at,post_id,parent_post_id,text,tags"]
    rows += [f"t{i},forum,post,tagger{i},,2026-06-10T10:00:00Z,tp{i},,my rig,antennas" for i in range(2)]
    rows += ["k1,forum,post,writer,,2026-06-11T10:00:00Z,kp1,,Building Antennas for the 2m band,",
             "k2,forum,post,typist,,2026-06-11T10:00:00Z,kp2,,touch typing tips,"]
    rows += [f"r{i},forum,reply,fan{i},writer,2026-06-12T10:00:00Z,rp{i},kp1,nice," for i in range(3)]
    rows += [f"s{i},forum,reply,fan{i},typist,2026-06-12T10:00:00Z,sp{i},kp2,nice," for i in range(3)]
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n")
    assert cli("ingest", tmp_path / "events.csv").code == 0 and cli("score").code == 0
    run = snapshots.latest(store.root)
    topics = {(r["account"], r["topic"]) for r in snapshots.query(f"SELECT account, topic FROM read_parquet('{run.topics}')")}
    assert ("forum:writer", "antennas") in topics  # named in the text, the topic is in use as a tag
    assert not any(t == "typing" for _, t in topics)  # a Klout topic, but nobody tags it: text alone does not make it


def test_every_topic_in_use_is_scored_in_blocks_that_do_not_change_the_result(demo_store, monkeypatch) -> None:
    """Topic PageRank runs a block of topics at a time; the block size is a memory knob, not a
    modelling choice: one topic per block and all at once give the same scores, to the bit
    (each topic stops at its own convergence)."""
    import pyarrow.compute as pc

    from renown.score import topics as topic_model
    from renown.score.engine import DuckDBEngine
    from renown.score.features import compute
    from renown.score.model import score
    from renown.score.run import Window, end_of_day

    run = snapshots.latest(demo_store.root)
    window = Window(end_of_day(run.as_of))

    def scores_with(block: int):
        monkeypatch.setattr(DuckDBEngine, "topic_block", block)
        con = demo_store.connect()
        s = score(compute(con, window))
        table = topic_model.topic_scores(con, s.context, window)
        con.close()
        return table.sort_by([("topic", "ascending"), ("account", "ascending")])

    one, many = scores_with(1), scores_with(64)
    assert one.column("account").to_pylist() == many.column("account").to_pylist()
    assert one.column("exact").to_pylist() == many.column("exact").to_pylist()
    con = demo_store.connect()
    authors: dict[str, set] = {}
    for actor, tag in con.execute("""SELECT actor, unnest(tags) FROM events WHERE kind IN ('post', 'reply', 'quote')
                                     AND created_at > ? AND created_at <= ?""", [window.start, window.as_of]).fetchall():
        authors.setdefault(taxonomy().topic_of(tag), set()).add(actor)
    con.close()
    in_use = {t for t, who in authors.items() if len(who) >= 2}
    assert set(pc.unique(many.column("topic")).to_pylist()) == in_use


def test_topic_blocks_shrink_with_the_accounts_to_bound_memory() -> None:
    from renown.score.topics import BLOCK_BYTES, topics_per_block

    assert topics_per_block(32, 50, 1_000_000) == 32
    assert topics_per_block(32, 50, 10_000_000) == 3 and 3 * 8 * 10_000_000 <= BLOCK_BYTES
    assert topics_per_block(32, 50, 10**10) == 1  # one topic at a time at worst, never none
    assert topics_per_block(None, 50, 10**10) == 50  # an engine with no dense block ranks all at once
