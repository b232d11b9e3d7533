"""A brand's own audience: import, resolution, and influence among customers."""

from __future__ import annotations

import pytest


pytestmark = pytest.mark.usefixtures("app_db")


def write_events(path, rows) -> None:
    lines = ["event_id,network,kind,actor,target,created_at,post_id,parent_post_id"]
    lines += [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def brand_world(tmp_path, cli):
    rows, n = [], 0

    def add(kind, actor, target, day, post="", parent=""):
        nonlocal n
        n += 1
        rows.append((f"e{n}", "forum", kind, actor, target, f"2026-06-{day:02d}T12:00:00Z", post, parent))

    for d in range(3):
        add("post", "famous", "", 10 + d, f"f{d}")
        add("post", "local", "", 10 + d, f"l{d}")
    for i in range(40):  # a big audience that is not the brand's
        add("reply", f"fan{i}", "famous", 14, f"fr{i}", "f0")
    for i in range(6):  # the brand's customers follow the local engineer
        add("reply", f"cust{i}", "local", 15, f"cr{i}", "l0")
        add("like", f"cust{i}", "local", 16, "", "l1")
    for i in range(2):
        add("like", f"cust{i}", "famous", 16, "", "f1")
    events = tmp_path / "events.csv"
    write_events(events, rows)
    assert cli("ingest", events).code == 0
    assert cli("score").code == 0
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,email,name,forum\n"
        + "".join(f"c{i},c{i}@example.org,Customer {i},cust{i}\n" for i in range(6))
        + "c6,c6@example.org,Fan Customer,fan0\n"
        + "c7,,Ghost,nosuch\n"
        + "c8,radio@example.org,Radio Engineer,\n"
    )
    return customers


def test_import_resolves_what_it_can_and_reports_the_rest(brand_world, cli) -> None:
    result = cli("audience", "import", brand_world, "--name", "acme", "--json")
    assert result.code == 0
    report = result.json()
    assert (report["customers"], report["identifiers"], report["resolved"], report["offline_only"]) == (9, 8, 7, 1)
    assert report["unresolved"] == [{"line": 9, "field": "forum", "value": "nosuch", "reason": "no such account"}]
    listed = cli("audience", "list", "--json").json()
    assert listed == [{**listed[0], "name": "acme", "members": 9, "accounts": 7}]
    # re-importing the same name replaces the list instead of adding to it
    cli("audience", "import", brand_world, "--name", "acme")
    assert cli("audience", "list", "--json").json()[0]["members"] == 9


def test_a_spreadsheet_export_imports_the_same_customers(brand_world, cli) -> None:
    """Excel's "CSV UTF-8" in a semicolon locale: a byte-order mark and ';' separators."""
    lines = brand_world.read_text().splitlines()
    brand_world.write_bytes("\ufeff".encode() + "\r\n".join(line.replace(",", ";") for line in lines).encode() + b"\r\n")
    report = cli("audience", "import", brand_world, "--name", "acme", "--json").json()
    assert (report["customers"], report["identifiers"], report["resolved"], report["offline_only"]) == (9, 8, 7, 1)


def test_influence_among_customers_is_not_global_fame(brand_world, cli) -> None:
    cli("audience", "import", brand_world, "--name", "acme")
    overall = [r["account"] for r in cli("top", "--json").json()]
    assert overall.index("forum:famous") < overall.index("forum:local")
    inside = cli("top", "--audience", "acme", "--json").json()
    assert [r["account"] for r in inside[:2]] == ["forum:local", "forum:famous"]
    local, famous = inside[0], inside[1]
    assert local["audience_reactors"] == 6 and famous["audience_reactors"] == 3
    assert local["inside_share"] == 1.0 and famous["inside_share"] < 0.1
    assert local["score"] > famous["score"] and famous["global_score"] > local["global_score"]
    explained = cli("explain", "forum:famous", "--audience", "acme", "--json").json()
    assert explained["audience"]["inside_share"] == famous["inside_share"] and explained["audience"]["rank"] == 2


def test_reactions_from_outside_the_audience_change_no_score_among_customers(brand_world, cli, tmp_path) -> None:
    """Influence among customers counts only what customers do: 30 strangers replying to the local engineer
    raise his global score and leave his score, rank and reactors among the customers as they were."""
    cli("audience", "import", brand_world, "--name", "acme")

    def local() -> tuple[dict, dict]:
        row = next(r for r in cli("top", "--audience", "acme", "--json").json() if r["account"] == "forum:local")
        return row, cli("explain", "forum:local", "--audience", "acme", "--json").json()["audience"]

    before, explained_before = local()
    strangers = tmp_path / "strangers.csv"
    write_events(strangers, [(f"s{i}", "forum", "reply", f"stranger{i}", "local", "2026-06-15T13:00:00Z", f"sr{i}", "l0")
                             for i in range(30)])
    assert cli("ingest", strangers).code == 0 and cli("score").code == 0
    after, explained_after = local()
    assert after["global_score"] >= before["global_score"] + 5
    assert (after["score"], after["audience_reactors"], after["rank"]) == (before["score"], 6, 1)
    assert {**explained_after, "global_score": 0, "inside_share": 0} == {**explained_before, "global_score": 0, "inside_share": 0}
    assert after["inside_share"] < before["inside_share"] == 1.0


def test_unknown_audience_and_bad_csv_are_clean_errors(brand_world, cli, tmp_path) -> None:
    result = cli("top", "--audience", "nobody")
    assert result.code == 1 and "no audience named 'nobody'" in result.err
    bad = tmp_path / "bad.csv"
    bad.write_text("email\nx@example.org\n")
    result = cli("audience", "import", bad, "--name", "x")
    assert result.code == 1 and "customer_id" in result.err


def test_the_planted_offline_referrer_leads_the_demo_brand(demo_store) -> None:
    """Issue 6's bar: a customer with no social account but many referrals ranks in the audience's top 5."""
    from renown.audience import import_csv, top_in_audience

    customers = next(demo_store.root.parent.glob("source/customers.tsv"))
    report = import_csv(demo_store, customers, "demo-brand")
    assert report.resolved > 100 and report.unresolved == []
    top5 = [r["account"] for r in top_in_audience(demo_store, "demo-brand", 5)]
    referrers = {line.split("\t")[0] for line in (demo_store.root.parent / "source" / "ground-truth.tsv").read_text().splitlines()
                 if "\treferrer\t" in line}
    assert referrers and referrers <= set(top5)


def test_influence_among_customers_within_a_topic(tmp_path, cli) -> None:
    rows = ["event_id,network,kind,actor,target,created_at,post_id,parent_post_id,tags"]
    for d in range(2):
        rows.append(f"a{d},forum,post,antennas_pro,,2026-06-1{d}T10:00:00Z,ap{d},,antennas")
        rows.append(f"b{d},forum,post,baker,,2026-06-1{d}T10:00:00Z,bp{d},,bread")
    for i in range(4):
        rows.append(f"ra{i},forum,reply,cust{i},antennas_pro,2026-06-12T10:00:00Z,rra{i},ap0,")
        rows.append(f"rb{i},forum,reply,cust{i},baker,2026-06-12T11:00:00Z,rrb{i},bp0,")
    rows.append("rb9,forum,reply,cust9,baker,2026-06-12T11:00:00Z,rrb9,bp1,")
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n")
    assert cli("ingest", tmp_path / "events.csv").code == 0 and cli("score").code == 0
    (tmp_path / "customers.csv").write_text("customer_id,forum\n" + "".join(f"c{i},cust{i}\n" for i in (0, 1, 2, 3, 9)))
    assert cli("audience", "import", tmp_path / "customers.csv", "--name", "acme").code == 0
    anywhere = cli("top", "--audience", "acme", "--json").json()
    assert anywhere[0]["account"] == "forum:baker"  # five customers react to the baker, four to the antenna pro
    antennas = cli("top", "--audience", "acme", "--topic", "antennas", "--json").json()
    assert [r["account"] for r in antennas] == ["forum:antennas_pro"] and antennas[0]["topic"] == "antennas"
