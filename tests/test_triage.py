"""Care triage: an offline classifier, a queue that weighs reach, and a response-time floor
that holds for everyone under simulated load — where a reach-first queue breaks it."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import pytest

from renown import triage
from renown.ingest.pipeline import ingest
from renown.score import snapshots
from renown.store import Store
from worlds import scored_world


@pytest.mark.parametrize(("text", "kind", "urgency"), [
    ("My order arrived damaged and nobody answers", "complaint", "normal"),
    ("How do I change my delivery address?", "question", "normal"),
    ("Love the new update, great work!", "praise", "low"),
    ("Not happy at all, this is not great", "complaint", "normal"),
    ("My account was hacked, help immediately", "complaint", "critical"),
    ("Charged twice for one order, fix this asap", "complaint", "critical"),
    ("Just saw your ad on the bus", "other", "low"),
])
def test_classifier_reads_kind_urgency_and_negation(text, kind, urgency) -> None:
    verdict = triage.classify(text)
    assert (verdict.kind, verdict.urgency) == (kind, urgency), verdict
    assert 0 < verdict.confidence <= 1 and (verdict.cues or kind == "other")


def test_nobody_waits_past_the_sla_under_load_while_a_reach_first_queue_fails_the_many(demo_store) -> None:
    report = triage.fairness_report(demo_store, agents=3, handle_minutes=10, per_hour=14, days=7, seed=1)
    assert report["messages"] > 1500 and report["per_hour"] < report["capacity_per_hour"]
    ours, reach_first = report["policies"]["renown"], report["policies"]["reach-first"]
    assert ours["breaches"] == 0
    assert all(row["breaches"] == 0 for row in ours["by_decile"])
    assert reach_first["breaches"] > 0
    lower = sum(r["breaches"] for r in reach_first["by_decile"][:5])
    assert lower > sum(r["breaches"] for r in reach_first["by_decile"][5:])  # two-tier service hurts the many
    assert report["policies"]["fifo"]["breaches"] > 0  # first come, first served misses the urgent ones
    # reach still counts: the most influential decile waits less on average than the least
    assert ours["by_decile"][-1]["mean_wait_hours"] < ours["by_decile"][0]["mean_wait_hours"]


@pytest.fixture
def world(tmp_path) -> Store:
    return scored_world(tmp_path, accounts=300, days=6, seed=5)


def test_queue_from_brand_mentions_and_handling(world, tmp_path, cli) -> None:
    ranked = snapshots.ranking(snapshots.latest(world.root))
    star, nobody = str(ranked.accounts[0]), str(ranked.accounts[-1])
    when = datetime(2026, 9, 7, 9, tzinfo=timezone.utc)
    path = tmp_path / "mentions.csv"
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["event_id", "network", "kind", "actor", "target", "created_at", "post_id", "text"])
        for n, (who, text) in enumerate([(star, "love @acme, great boots"), (nobody, "@acme my account was hacked, help immediately"),
                                          (star, "@acme how do i change my address?")]):
            network, native = who.split(":", 1)
            out.writerow([f"care-{n}", network, "post", native, "", (when + timedelta(minutes=n)).isoformat(), f"carepost{n}", text])
    ingest(world, [path])
    result = cli("triage", "queue", "--term", "@acme", "--json", data_dir=world.root).json()
    order = [i["text"] for i in result["items"]]
    assert order[0].endswith("help immediately")  # urgency beats reach
    assert result["items"][0]["urgency"] == "critical" and result["items"][0]["reach"] < 0.1
    assert result["open"] == 3 and "deadline" in result["policy"]["rule"]
    first = result["items"][0]["event_id"]
    assert cli("triage", "handle", first, data_dir=world.root).code == 0
    after = cli("triage", "queue", "--term", "@acme", "--json", data_dir=world.root).json()
    assert after["open"] == 2 and first not in [i["event_id"] for i in after["items"]]
    simulated = cli("triage", "simulate", "--days", "2", "--json", data_dir=world.root).json()
    assert simulated["policies"]["renown"]["breaches"] == 0


@pytest.mark.usefixtures("app_db")
def test_people_who_opted_out_of_scoring_still_get_care_on_the_floor(world, tmp_path, cli) -> None:
    """Opting out of scores (or being a minor) must not cost a customer their answer: their messages stay in
    the queue with no reach (their score is not used) and keep the response-time floor everyone has."""
    ranked = snapshots.ranking(snapshots.latest(world.root))
    star, other = str(ranked.accounts[0]), str(ranked.accounts[1])
    when = datetime(2026, 9, 7, 9, tzinfo=timezone.utc)
    path = tmp_path / "mentions.csv"
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["event_id", "network", "kind", "actor", "target", "created_at", "post_id", "text"])
        for n, (who, text) in enumerate([(star, "@acme my card was charged twice, help asap"),
                                          (other, "@acme how do i change my address?")]):
            network, native = who.split(":", 1)
            out.writerow([f"care-{n}", network, "post", native, "", (when + timedelta(minutes=n)).isoformat(), f"carepost{n}", text])
    ingest(world, [path])
    before = {i["author"]: i for i in cli("triage", "queue", "--term", "@acme", "--json", data_dir=world.root).json()["items"]}
    assert before[star]["scored"] and before[star]["reach"] > 0.9
    assert cli("opt-out", star, data_dir=world.root).code == 0
    assert cli("minor", other, data_dir=world.root).code == 0
    after = cli("triage", "queue", "--term", "@acme", "--json", data_dir=world.root).json()
    items = {i["author"]: i for i in after["items"]}
    assert after["open"] == 2 and set(items) == {star, other}
    assert items[star]["reach"] == 0.0 and items[star]["scored"] is False and items[other]["scored"] is False
    assert items[star]["deadline"] == before[star]["deadline"]  # the floor is the same for everyone
    shown = cli("triage", "queue", "--term", "@acme", data_dir=world.root)
    assert shown.code == 0 and "not scored" in shown.out

def test_whenever_earliest_deadline_first_meets_every_sla_so_does_the_priority_queue() -> None:
    """The guarantee behind the floor, on many random heavy loads: reach and urgency reorder the
    queue only while nobody's deadline is at risk."""
    import random

    from renown.simulate import mention_stream

    checked = 0
    for seed in range(40):
        rng = random.Random(seed)
        authors = [(f"t:{i}", rng.random()) for i in range(200)]
        agents = rng.randint(1, 3)
        handle = rng.choice([5.0, 10.0, 20.0])
        capacity = agents * 60 / handle
        stream = mention_stream(authors, 24 * 2, capacity * rng.uniform(0.5, 0.82), seed=seed)
        messages = [triage.Message(i, a, t, at, r, triage.classify(t)) for i, a, t, at, r in stream]
        if not any(s["breach"] for s in triage.simulate_queue(messages, agents, handle, "edf")):
            checked += 1
            assert not any(s["breach"] for s in triage.simulate_queue(messages, agents, handle, "renown")), seed
    assert checked >= 20
