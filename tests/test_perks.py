"""Perks campaigns end to end: selection by expected spread (against the top scores),
invitations, consent-gated shipping details, fulfilment and the measured outcome."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone

import pytest

from renown import consent, perks
from renown.ingest.pipeline import ingest
from renown.score import snapshots
from renown.store import Store
from worlds import scored_world


@pytest.fixture
def world(tmp_path) -> Store:
    return scored_world(tmp_path, accounts=400, days=10, seed=21)


def start_of(store: Store) -> date:
    return snapshots.latest(store.root).as_of + timedelta(days=1)


def test_selection_invites_the_budget_and_reports_both_reaches(world) -> None:
    begin = start_of(world)
    created = perks.create(world, "spring", "acme", ["Football"], budget=5, starts_on=begin, ends_on=begin + timedelta(days=7),
                           offer="boots", tags=["#AcmePerk"], min_topic_score=5)
    assert created["topics"] == ["football"] and created["tags"] == ["acmeperk"]
    pool = perks.eligible(world, created)
    assert pool.accounts and all(pool.topic_scores[a] >= 5 for a in pool.accounts)
    report = perks.choose(world, "spring", seed=3)
    chosen, top = report["chosen"], report["top_by_score"]
    assert len(chosen["accounts"]) == 5 == len(set(chosen["accounts"])) and set(chosen["accounts"]) <= set(pool.accounts)
    assert top["accounts"] == pool.accounts[:5]
    assert chosen["expected_reach"]["people"] >= top["expected_reach"]["low"]
    assert [i["status"] for i in perks.get(world, "spring")["invitations"]] == ["invited"] * 5
    with pytest.raises(perks.CampaignError, match="invited people already"):
        perks.choose(world, "spring")
    # deterministic under the seed
    perks.create(world, "again", "acme", ["football"], budget=5, starts_on=begin, ends_on=begin, min_topic_score=5)
    assert perks.choose(world, "again", seed=3)["chosen"]["accounts"] == chosen["accounts"]


def test_only_acceptance_releases_shipping_details_and_outcomes_are_measured(world, tmp_path) -> None:
    begin = start_of(world)
    perks.create(world, "launch", "acme", ["football"], budget=3, starts_on=begin, ends_on=begin + timedelta(days=3),
                 tags=["acmeperk"], perk_cost=40.0)
    invited = [i["account"] for i in perks.get(world, "launch")["invitations"]] or perks.choose(world, "launch")["chosen"]["accounts"]
    fan, skeptic = invited[0], invited[1]
    consent.set_contact(world, fan, "fan@example.org", "2 Goal Road")
    with pytest.raises(consent.ConsentRequired):
        perks.shipping_details(world, "launch", fan, "acme")
    perks.respond(world, "launch", fan, accept=True)
    perks.respond(world, "launch", skeptic, accept=False)
    assert perks.shipping_details(world, "launch", fan, "acme")["email"] == "fan@example.org"
    with pytest.raises(consent.ConsentRequired):
        perks.shipping_details(world, "launch", skeptic, "acme")
    with pytest.raises(perks.CampaignError):
        perks.get(world, "launch", brand="globex")  # another brand cannot see it
    releases = consent.record_of(world, fan)["releases"]
    assert [(r["brand"], r["purpose"]) for r in releases] == [("acme", "campaign:1")]
    assert perks.fulfil(world, "launch", fan)["status"] == "fulfilled"
    with pytest.raises(perks.CampaignError, match="only an accepted perk"):
        perks.fulfil(world, "launch", skeptic)
    assert [i["status"] for i in perks.invitations_of(world, fan)] == ["fulfilled"]

    # the fan posts about the perk; one old follower and two new people react
    con = world.connect()
    old = con.execute("SELECT actor FROM events WHERE target = ? AND actor <> target AND kind IN ('reply', 'repost', 'like') ORDER BY actor LIMIT 1",
                      [fan]).fetchone()[0]
    network = fan.split(":", 1)[0]
    strangers = [k for (k,) in con.execute(
        "SELECT key FROM accounts a WHERE network = ? AND NOT EXISTS (SELECT 1 FROM events e WHERE e.target = ? "
        "AND e.actor = a.key AND e.kind IN ('reply', 'repost', 'quote', 'like', 'mention')) AND key <> ? "
        "ORDER BY key LIMIT 2", [network, fan, fan]).fetchall()]
    con.close()
    when = datetime.combine(begin, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=10)
    path = tmp_path / "after.csv"
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["event_id", "network", "kind", "actor", "target", "created_at", "post_id", "parent_post_id", "text", "tags"])
        native = lambda key: key.split(":", 1)[1]  # noqa: E731
        out.writerow(["perk-1", network, "post", native(fan), "", when.isoformat(), "perkpost", "", "Loving these boots", "AcmePerk"])
        for n, reactor in enumerate([old, *strangers]):
            out.writerow([f"perk-r{n}", network, "reply", native(reactor), native(fan), (when + timedelta(minutes=n + 1)).isoformat(),
                          f"perkreply{n}", "perkpost", "nice", ""])
    loaded = ingest(world, [path])
    assert loaded.quarantined == 0 and len(strangers) == 2, (loaded.samples, strangers)
    result = perks.outcome(world, "launch")
    assert result["accepted"] == 1 and result["fulfilled"] == 1
    assert result["recipients"] == [{"account": fan, "campaign_posts": 1, "reactions": 3, "people_reached": 3, "new_people": 2}]
    assert result["actual_reach"] == 4 and result["cost_per_person_reached"] == 10.0
    assert result["predicted_reach"]["people"] > 0


def test_campaign_commands(world, cli, tmp_path) -> None:
    begin = start_of(world)
    assert cli("campaign", "create", "cli", "--brand", "acme", "--topic", "football", "--budget", "4", "--starts", str(begin),
               "--ends", str(begin), "--tag", "acmeperk", data_dir=world.root).code == 0
    chosen = cli("campaign", "select", "cli", "--seed", "2", "--json", data_dir=world.root).json()["chosen"]["accounts"]
    assert len(chosen) == 4
    assert cli("campaign", "respond", "cli", chosen[0], "--accept", data_dir=world.root).code == 0
    assert cli("campaign", "fulfil", "cli", chosen[0], data_dir=world.root).code == 0
    shown = cli("campaign", "show", "cli", "--json", data_dir=world.root).json()
    assert [i["status"] for i in shown["invitations"]] == ["fulfilled", "invited", "invited", "invited"]
    result = cli("campaign", "outcome", "cli", "--report", tmp_path / "report", "--json", data_dir=world.root).json()
    assert result["fulfilled"] == 1 and (tmp_path / "report" / "outcome.md").exists() and (tmp_path / "report" / "outcome.png").exists()
    refused = cli("campaign", "fulfil", "cli", chosen[1], data_dir=world.root)
    assert refused.code == 1 and "only an accepted perk" in refused.err
    assert cli("campaign", "show", "nope", data_dir=world.root).code == 1


def test_eligibility_by_network_language_and_region(world) -> None:
    begin = start_of(world)
    con = world.connect()
    located = dict(con.execute("SELECT key, json_extract_string(profile, '$.location') FROM accounts "
                               "WHERE json_extract_string(profile, '$.location') IS NOT NULL").fetchall())
    con.close()
    everyone = perks.eligible(world, perks.create(world, "all", "acme", ["football"], 1, begin, begin))
    place = max({v for k, v in located.items() if k in everyone.topic_scores},
                key=lambda v: sum(1 for k in everyone.accounts if located.get(k) == v))
    local = perks.eligible(world, perks.create(world, "local", "acme", ["football"], 1, begin, begin, region=place.lower()))
    assert local.accounts and all(place.lower() in (located.get(a) or "").lower() for a in local.accounts)
    assert len(local.accounts) < len(everyone.accounts)
    network = everyone.accounts[0].split(":", 1)[0]
    one = perks.eligible(world, perks.create(world, "one", "acme", ["football"], 1, begin, begin, networks=[network]))
    assert one.accounts and all(a.startswith(network + ":") for a in one.accounts)
    english = perks.eligible(world, perks.create(world, "en", "acme", ["football"], 1, begin, begin, language="xx"))
    assert english.accounts == []  # nobody posts in language "xx"
