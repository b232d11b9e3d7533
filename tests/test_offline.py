"""Offline influence: CRM referrals, purchases, NPS and support in the score and among customers."""

from __future__ import annotations

import orjson

from renown.ingest.pipeline import ingest
from synthetic import score_events, scores_of

HEADER = "event_id,network,kind,actor,target,created_at,value,score,comment\n"


def referral(n: int, referrer: str, value: float, day: int = 5) -> tuple:
    return (referrer, f"new{referrer}{n}", "referral", day, None, None, orjson.dumps({"value": value}).decode())


def nps(customer: str, answer: int) -> tuple:
    return (customer, None, "nps", 3, None, None, orjson.dumps({"score": answer}).decode())


def test_a_customer_without_any_social_account_scores_by_referrals() -> None:
    quiet = scores_of(score_events([referral(i, "engineer", 400_000.0) for i in range(10)]))
    assert quiet["t:engineer"] > 20  # the radio engineer: no followers, ten referrals worth $4M
    fewer = scores_of(score_events([referral(i, "engineer", 400_000.0) for i in range(3)]))
    assert fewer["t:engineer"] < quiet["t:engineer"]


def test_promoters_count_more_and_detractors_are_not_punished() -> None:
    base = [referral(i, "c", 1000.0) for i in range(4)]
    plain = score_events(base)
    promoter = score_events(base + [nps("c", 10)])
    detractor = score_events(base + [nps("c", 2)])
    z = lambda result: result.z[list(result.keys).index("t:c")]  # noqa: E731
    assert z(promoter) > z(plain)
    assert z(detractor) == z(plain)


def test_crm_rows_are_validated(tmp_path, store) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(HEADER
                    + "r1,crm,referral,c1,c2,2026-06-01,2500,,\n"
                    + "r2,crm,referral,c1,,2026-06-01,10,,\n"
                    + "r3,crm,purchase,c3,,2026-06-01,lots,,\n"
                    + "n1,crm,nps,c1,,2026-06-02,,11,great\n"
                    + "n2,crm,nps,c4,,2026-06-02,,3,slow support\n"
                    + "s1,crm,support,c4,,2026-06-03,,,refund\n")
    report = ingest(store, [path])
    assert sum(report.loaded.values()) == 3 and report.quarantined == 3
    fields = sorted(s["field"] for s in report.samples)
    assert fields == ["score", "target", "value"]


def test_an_offline_only_customer_can_lead_influence_among_customers(tmp_path, cli) -> None:
    events = tmp_path / "events.csv"
    rows = [HEADER.strip()]
    rows += [f"p{d},forum,post,star,,2026-06-1{d}T10:00:00Z,,," for d in range(3)]
    rows += [f"f{i},forum,like,fan{i},star,2026-06-14T10:00:00Z,,," for i in range(3)]
    rows += [f"r{i},crm,referral,engineer,friend{i},2026-06-1{i % 9}T09:00:00Z,80000,," for i in range(12)]
    rows += ["n1,crm,nps,engineer,,2026-06-15T09:00:00Z,,10,love it"]
    events.write_text("\n".join(rows) + "\n")
    assert cli("ingest", events).code == 0 and cli("score").code == 0
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,email,forum\nengineer,radio@example.org,\n"
                         + "".join(f"fan{i},,fan{i}\n" for i in range(3)))
    assert cli("audience", "import", customers, "--name", "acme").code == 0
    inside = cli("top", "--audience", "acme", "--json").json()
    assert inside[0]["account"] == "crm:engineer" and inside[0]["offline"] > 0
    assert "forum:star" in [r["account"] for r in inside]
    explained = cli("explain", "crm:engineer", "--json").json()
    offline = next(c for c in explained["components"] if c["name"] == "offline")
    assert offline["points"] > 0 and offline["measure"] == 12
    assert explained["nps"] == {"score": 10, "group": "promoter", "effect": "counts referrals 1.25x"}
