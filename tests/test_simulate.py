"""The synthetic world: deterministic, written in the real formats, and loadable without rejects."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from renown.ingest.pipeline import ingest
from renown.simulate import simulate, write_dataset


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_files_and_other_seed_other_files(tmp_path) -> None:
    write_dataset(simulate(accounts=150, days=3, seed=11), tmp_path / "a")
    write_dataset(simulate(accounts=150, days=3, seed=11), tmp_path / "b")
    write_dataset(simulate(accounts=150, days=3, seed=12), tmp_path / "c")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_simulated_dataset_loads_in_every_format_without_rejects(tmp_path, store, read_events) -> None:
    world = simulate(accounts=400, days=5, seed=3)
    files = write_dataset(world, tmp_path / "sim")
    report = ingest(store, [tmp_path / "sim"])
    assert report.quarantined == 0
    assert {f.format for f in report.files if f.format} == {"twarc2", "twitter-archive", "mastodon", "bluesky", "reddit", "csv"}
    assert "referral" in {r["kind"] for r in read_events()}  # the brand's CRM export loads as well
    kinds = {r["kind"] for r in read_events()}
    assert {"post", "reply", "repost", "quote", "like", "mention", "follow", "delete"} <= kinds
    # every planted account that acted is addressable by the same key the ingesters use
    with open(next(f for f in files if f.name == "ground-truth.tsv")) as handle:
        truth = {row["account"]: row for row in csv.DictReader(handle, delimiter="\t")}
    actors = {r["actor"] for r in read_events()}
    assert actors <= set(truth)
    assert len(actors) > 0.8 * len(truth)
    assert {row["type"] for row in truth.values()} == {"ordinary", "expert", "promoter", "brand", "bot", "sybil",
                                                       "customer", "referrer"}


def test_reactions_follow_planted_influence(tmp_path, store, read_events) -> None:
    """Experts get more reactions per post than self-promoters: the truth is in the data."""
    world = simulate(accounts=600, days=10, seed=5)
    write_dataset(world, tmp_path / "sim")
    ingest(store, [tmp_path / "sim"])
    con = store.connect()
    rows = con.execute("""
        SELECT target, count(*) FILTER (WHERE kind IN ('reply','repost','quote','like','mention')) AS reactions
        FROM events WHERE target IS NOT NULL GROUP BY target""").fetchall()
    posts = dict(con.execute("SELECT actor, count(*) FROM events WHERE kind = 'post' GROUP BY actor").fetchall())
    reactions = dict(rows)
    types = {}
    with open(tmp_path / "sim" / "ground-truth.tsv") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            types[row["account"]] = row["type"]

    def per_post(kind: str) -> float:
        keys = [k for k, t in types.items() if t == kind and posts.get(k)]
        return sum(reactions.get(k, 0) for k in keys) / sum(posts[k] for k in keys)

    assert per_post("expert") > 5 * per_post("promoter")
