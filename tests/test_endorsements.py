"""Endorsements (+K): the rules, and a capped, discounted contribution to topic scores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from renown.endorsements import DAILY_LIMIT, EndorsementRefused, endorse
from renown.score import snapshots

pytestmark = pytest.mark.usefixtures("app_db")


def topic_world(tmp_path, cli) -> None:
    rows = ["event_id,network,kind,actor,target,created_at,post_id,parent_post_id,tags"]
    n = 0
    for author, fans in (("alice", 3), ("bob", 3)):
        for d in range(3):
            rows.append(f"p{author}{d},forum,post,{author},,2026-06-2{d}T10:00:00Z,{author}{d},,antennas")
        for i in range(fans):
            n += 1
            rows.append(f"r{n},forum,reply,fan{author}{i},{author},2026-06-24T10:00:00Z,x{n},{author}0,")
    for i in range(8):
        rows.append(f"v{i},forum,post,voter{i},,2026-06-2{i % 5}T09:00:00Z,v{i},,misc")
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n")
    assert cli("ingest", path).code == 0


def test_the_rules(tmp_path, cli, store) -> None:
    topic_world(tmp_path, cli)
    when = datetime(2026, 6, 25, 12, tzinfo=timezone.utc)
    with pytest.raises(EndorsementRefused, match="itself"):
        endorse(store, "forum:alice", "forum:alice", "antennas", when)
    assert endorse(store, "forum:voter0", "forum:alice", "Antennas", when)["topic"] == "antennas"
    with pytest.raises(EndorsementRefused, match="already endorsed"):
        endorse(store, "forum:voter0", "forum:alice", "antennas", when + timedelta(days=3))
    endorse(store, "forum:voter0", "forum:alice", "antennas", when + timedelta(days=8))  # a week later is fine
    endorse(store, "forum:voter0", "forum:bob", "antennas", when + timedelta(days=3))  # another person is fine
    for i in range(DAILY_LIMIT - 1):
        endorse(store, "forum:voter1", f"forum:voter{i + 2}", "misc", when)
    endorse(store, "forum:voter1", "forum:bob", "antennas", when)
    with pytest.raises(EndorsementRefused, match="endorsements for the last 24 hours"):
        endorse(store, "forum:voter1", "forum:alice", "antennas", when)
    endorse(store, "forum:voter1", "forum:alice", "antennas", when + timedelta(days=1, seconds=1))
    result = cli("endorse", "forum:alice", "forum:ghost", "--topic", "antennas")
    assert result.code == 1 and "unknown account" in result.err


def test_endorsements_lift_a_topic_score_within_a_cap(tmp_path, cli, store) -> None:
    topic_world(tmp_path, cli)
    when = datetime(2026, 6, 23, 12, tzinfo=timezone.utc)  # inside the window, which ends with the last event
    for i in range(8):
        endorse(store, f"forum:voter{i}", "forum:alice", "antennas", when)
    assert cli("score").code == 0
    run = snapshots.latest(store.root)
    rows = {r["account"]: r for r in snapshots.query(
        f"SELECT * FROM read_parquet('{run.topics}') WHERE topic = 'antennas'")}
    alice, bob = rows["forum:alice"], rows["forum:bob"]
    assert alice["endorsements"] == 8 and bob["endorsements"] == 0
    assert alice["score"] > bob["score"]  # same audience, alice endorsed
    assert 0 < alice["endorsement_value"] <= 2.0  # capped
    known = cli("topics", "forum:alice", "--json").json()["known_for"]
    assert known[0]["topic"] == "antennas" and known[0]["endorsements"] == 8


def test_endorsements_from_a_ring_are_discounted_like_its_reactions(tmp_path, cli, store) -> None:
    rows = ["event_id,network,kind,actor,target,created_at,post_id,parent_post_id,tags"]
    n = 0
    for author in ("alice", "bob"):
        for d in range(2):
            rows.append(f"p{author}{d},forum,post,{author},,2026-06-2{d}T10:00:00Z,{author}{d},,antennas")
        for i in range(3):
            n += 1
            rows.append(f"f{n},forum,reply,fan{author}{i},{author},2026-06-22T10:00:00Z,x{n},{author}0,")
    ring = [f"ring{i}" for i in range(5)]
    for member in ring:  # a reciprocal ring: they only like each other
        rows.append(f"p{member},forum,post,{member},,2026-06-20T09:00:00Z,{member}p,,misc")
    for member in ring:
        for other in ring:
            if other != member:
                n += 1
                rows.append(f"l{n},forum,like,{member},{other},2026-06-21T09:00:00Z,,{other}p,")
    for i in range(5):
        rows.append(f"v{i},forum,post,voter{i},,2026-06-20T09:00:00Z,v{i}p,,misc")
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n")
    assert cli("ingest", tmp_path / "events.csv").code == 0
    when = datetime(2026, 6, 21, 12, tzinfo=timezone.utc)
    for i in range(5):
        endorse(store, f"forum:ring{i}", "forum:alice", "antennas", when)
        endorse(store, f"forum:voter{i}", "forum:bob", "antennas", when)
    assert cli("score").code == 0
    run = snapshots.latest(store.root)
    rows = {r["account"]: r for r in snapshots.query(f"SELECT * FROM read_parquet('{run.topics}') WHERE topic = 'antennas'")}
    assert rows["forum:alice"]["endorsements"] == rows["forum:bob"]["endorsements"] == 5
    assert rows["forum:alice"]["endorsement_value"] < 0.25 * rows["forum:bob"]["endorsement_value"]
