"""Erasure that really deletes: after `renown forget`, nothing in the data directory names the person."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from worlds import scored_world

from renown import perks, triage
from renown.ingest.pipeline import ingest
from renown.jobs import Jobs
from renown.jobs import recent as jobs_recent
from renown.privacy import export, forget, identifiers, mentions_of
from renown.score import snapshots
from renown.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def world(tmp_path) -> Store:
    return scored_world(tmp_path, accounts=300, days=6, seed=9)


@pytest.mark.usefixtures("app_db")
def test_forget_leaves_no_trace_in_any_store(world, cli, tmp_path) -> None:
    run = snapshots.latest(world.root)
    victim = snapshots.query(f"SELECT account FROM read_parquet('{run.scores}') WHERE account LIKE 'twitter:%' "
                             "ORDER BY reactions DESC LIMIT 1")[0]["account"]
    names = identifiers(world, victim)
    assert mentions_of(world, names)  # the scan does find the person before
    # answers read cached snapshot indexes: warm them, so erasure must invalidate them
    assert cli("explain", victim, data_dir=world.root).code == 0
    assert victim in [r["account"] for r in cli("top", "--limit", "1000", "--json", data_dir=world.root).json()]
    cli("endorse", victim, snapshots.query(f"SELECT account FROM read_parquet('{run.scores}') "
                                           f"WHERE account <> '{victim}' LIMIT 1")[0]["account"], "--topic", "python",
        data_dir=world.root)
    from renown import consent

    consent.set_contact(world, victim, "erase.me@example.org", "1 Forget Street")
    consent.grant(world, victim, "acme")
    consent.contact_for(world, victim, "acme")
    result = cli("forget", victim, "--json", data_dir=world.root)
    assert result.code == 0
    report = result.json()
    # the endorsement, the contact, the consent and the logged release
    assert report["events"] > 0 and report["snapshot_rows"] > 0 and report["application_rows"] == 4
    assert mentions_of(world, names + ["erase.me@example.org", "1 Forget Street"]) == []
    assert consent.record_of(world, victim) == {"contact": None, "consents": [], "releases": []}
    # the rest still works: others keep their scores, the person is simply gone
    assert cli("explain", victim, data_dir=world.root).code == 1
    assert victim not in [r["account"] for r in cli("top", "--limit", "1000", "--json", data_dir=world.root).json()]
    assert cli("score", data_dir=world.root).code == 0
    assert cli("explain", victim, data_dir=world.root).code == 1


@pytest.mark.usefixtures("app_db")
def test_forget_reaches_the_reports_brand_programs_and_jobs_keep(world, tmp_path) -> None:
    """A campaign's selection report, a care agent's handled mentions and an ingest job's quarantined samples
    each name people; erasure must reach them as it reaches the event log."""
    begin = snapshots.latest(world.root).as_of + timedelta(days=1)
    perks.create(world, "spring", "acme", ["football"], budget=5, starts_on=begin, ends_on=begin + timedelta(days=7))
    victim = perks.choose(world, "spring", seed=3)["chosen"]["accounts"][0]
    con = world.connect()
    posted = con.execute("SELECT event_id FROM events WHERE actor = ? ORDER BY event_id LIMIT 1", [victim]).fetchone()[0]
    con.close()
    triage.mark_handled(world, [posted], by="agent-1")
    network, native = victim.split(":", 1)
    upload = io.BytesIO(("event_id,network,kind,actor,target,created_at\n"
                         f"ok-1,{network},like,someone-else,another-one,2026-01-01T00:00:00Z\n"
                         f"bad-1,{network},like,{native},another-one,not a time\n").encode())
    jobs = Jobs(world)
    try:
        job = jobs.wait(jobs.submit_ingest([("crm.csv", upload)], None, "admin")["id"])
    finally:
        jobs.close()
    assert job["result"]["quarantined"] == 1 and native in orjson.dumps(job["result"]).decode()
    names = identifiers(world, victim)
    assert any(place.startswith("application database") for place in mentions_of(world, names))
    held = export(world, victim)  # what the person may see first
    assert held["application"]["named_in"] == {"campaign_selections": ["spring"], "job_reports": [job["id"]]}
    assert [mark["event_id"] for mark in held["application"]["care_marks"]] == [posted]
    assert [entry["field"] for entry in held["quarantined"]] == ["created_at"]

    report = forget(world, victim)
    assert report["application_rows"] >= 3  # the invitation, the handled mention, the job's report (besides others)
    assert [place for place in mentions_of(world, names) if place.startswith("application database")] == []
    selection = perks.get(world, "spring")["selection"]
    assert victim not in selection["chosen"]["accounts"] and len(selection["chosen"]["accounts"]) == 5
    assert jobs_recent(world)[0]["result"]["quarantined"] == 1  # the report stays, without the person


def test_forgetting_an_account_never_seen_redacts_nothing_else(tmp_path) -> None:
    """A mistyped key must not turn its native part into a word erased from everyone's texts."""
    statuses = orjson.loads((FIXTURES / "mastodon/statuses.json").read_bytes())
    export = tmp_path / "statuses.json"
    export.write_bytes(orjson.dumps(statuses))
    store = Store(tmp_path / "data")
    ingest(store, [export])
    con = store.connect()
    texts = con.execute("SELECT event_id, text FROM events ORDER BY 1").fetchall()
    con.close()
    word = next(w for _, t in texts if t for w in t.split() if len(w) >= 6 and w.isalpha())
    assert identifiers(store, f"mastodon:{word}") == [f"mastodon:{word}"]
    report = forget(store, f"mastodon:{word}")
    assert report["events"] == 0 and report["profiles"] == 0
    con = store.connect()
    assert con.execute("SELECT event_id, text FROM events ORDER BY 1").fetchall() == texts
    con.close()


def test_forget_redacts_the_person_in_other_peoples_profiles(tmp_path) -> None:
    """A bio that names the person ("best friend of @nina@mastodon.social") is someone else's account row."""
    statuses = orjson.loads((FIXTURES / "mastodon/statuses.json").read_bytes())
    statuses[0]["account"]["note"] = "<p>Best friend of @nina@mastodon.social</p>"
    export = tmp_path / "statuses.json"
    export.write_bytes(orjson.dumps(statuses))
    store = Store(tmp_path / "data")
    ingest(store, [export])
    names = identifiers(store, "mastodon:nina@mastodon.social")
    assert any(place.endswith("accounts.parquet:profile") for place in mentions_of(store, names))
    assert forget(store, "mastodon:nina@mastodon.social")["profiles"] == 1
    assert mentions_of(store, names) == []
    con = store.connect()
    bio = con.execute("SELECT profile FROM accounts WHERE key = 'mastodon:gargron_fan@fosstodon.org'").fetchone()[0]
    con.close()
    assert orjson.loads(bio)["about"] == "Best friend of @[erased]"


def test_forget_erases_the_persons_name_as_a_word_not_inside_other_words(tmp_path) -> None:
    """Forgetting "Kris" redacts "thanks Kris!" but leaves other people's "Krispy" in their posts, bios and raw
    records: erasure must not destroy what is not the person's."""
    statuses = orjson.loads((FIXTURES / "mastodon/statuses.json").read_bytes())
    statuses[0]["content"] = "<p>Thanks Kris! Krispy doughnuts for everyone</p>"
    statuses[2]["account"]["note"] = "<p>Krispy news, hourly</p>"
    export = tmp_path / "statuses.json"
    export.write_bytes(orjson.dumps(statuses))
    store = Store(tmp_path / "data")
    ingest(store, [export])
    assert "Kris" in identifiers(store, "mastodon:kris@hachyderm.io")
    con = store.connect()
    raw_before = con.execute("SELECT count(*) FROM raw WHERE raw LIKE '%Krispy news%'").fetchone()[0]
    con.close()
    assert raw_before == 1
    report = forget(store, "mastodon:kris@hachyderm.io")
    assert report["profiles"] == 0  # no bio names Kris: "Krispy news" is not touched
    con = store.connect()
    text = con.execute("SELECT text FROM events WHERE event_id LIKE '%109382159165398564%'").fetchone()[0]
    bio = con.execute("SELECT profile FROM accounts WHERE key LIKE 'mastodon:newsbot%'").fetchone()[0]
    raw_after = con.execute("SELECT count(*) FROM raw WHERE raw LIKE '%Krispy news%'").fetchone()[0]
    con.close()
    assert "Thanks [erased]!" in text and "Krispy doughnuts" in text
    assert "Krispy news" in bio
    assert raw_after == 1


@pytest.mark.usefixtures("app_db")
def test_export_is_one_document_with_everything(world, cli) -> None:
    run = snapshots.latest(world.root)
    person = snapshots.query(f"SELECT account FROM read_parquet('{run.scores}') ORDER BY reactions DESC LIMIT 1")[0]["account"]
    other = snapshots.query(f"SELECT account FROM read_parquet('{run.scores}') WHERE account <> '{person}' LIMIT 1")[0]["account"]
    cli("endorse", other, person, "--topic", "python", data_dir=world.root)
    assert cli("keys", "create", "--name", "own key", "--role", "person", "--account", person, data_dir=world.root).code == 0
    result = cli("export", person, data_dir=world.root)
    assert result.code == 0
    document = result.json()
    con = world.connect()
    made = con.execute("SELECT count(*) FROM events_all WHERE actor = ?", [person]).fetchone()[0]
    received = con.execute("SELECT count(*) FROM events_all WHERE target = ?", [person]).fetchone()[0]
    own = con.execute("SELECT count(*) FROM raw SEMI JOIN (SELECT source_file, source_line FROM events_all "
                      "WHERE actor = ?) e USING (source_file, source_line)", [person]).fetchone()[0]
    actors = {}
    for source_file, source_line, actor in con.execute(
            "SELECT source_file, source_line, actor FROM events_all SEMI JOIN (SELECT source_file, source_line FROM "
            "events_all WHERE actor = ?) e USING (source_file, source_line)", [person]).fetchall():
        actors.setdefault((source_file, source_line), set()).add(actor)
    con.close()
    assert len(document["events_made"]) == made and len(document["events_received"]) == received
    assert document["profile"][0]["key"] == person
    # its own records as read; those that hold other people's too (a twarc2 page) are withheld, and counted
    assert own and len(document["raw_records"]) + document["raw_records_withheld"] == own
    assert document["raw_records"] and all(actors[(r["source_file"], r["source_line"])] == {person}
                                           for r in document["raw_records"])
    assert any(s["table"] == "scores" and s["score"] >= 1 for s in document["scores"])
    explained = {(e["account"] == person, e["ref"] == person) for e in document["explanations"]}
    assert (True, False) in explained and (False, True) in explained  # its own explanation, and its part in others'
    assert document["application"]["endorsements"][0]["endorser"] == other
    assert document["application"]["api_keys"] == [{"name": "own key", "role": "person", "revoked": False,
                                                    "created_at": document["application"]["api_keys"][0]["created_at"]}]


@pytest.mark.usefixtures("app_db")
def test_opt_out_hides_at_once_and_is_not_scored_again(world, cli) -> None:
    run = snapshots.latest(world.root)
    leader = cli("top", "--limit", "1", "--json", data_dir=world.root).json()[0]["account"]
    assert cli("opt-out", leader, data_dir=world.root).code == 0
    assert leader not in [r["account"] for r in cli("top", "--limit", "50", "--json", data_dir=world.root).json()]
    assert cli("explain", leader, data_dir=world.root).code == 1
    assert cli("history", leader, data_dir=world.root).code == 1  # its past scores are not shown either
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


def test_an_opted_out_person_is_not_named_in_anyone_elses_answers(world, cli) -> None:
    """Explanations, "known for" and "why did it change" name the people behind a score; an opt-out (or a
    minor flag) hides them there at once and for good — their events stay in the log until erased."""
    from renown.score.report import diff, explain, topics

    first = snapshots.latest(world.root)
    assert cli("score", "--as-of", str(first.as_of - timedelta(days=2)), data_dir=world.root).code == 0
    evidence = snapshots.query(f"""SELECT account, ref FROM read_parquet('{first.evidence}')
                                   WHERE kind = 'person' AND account IN (SELECT account FROM read_parquet('{first.topics}'))
                                   ORDER BY weight DESC, account LIMIT 1""")[0]
    account, person = evidence["account"], evidence["ref"]
    con = world.connect()
    handle = con.execute("SELECT handle FROM accounts WHERE key = ?", [person]).fetchone()[0]
    con.close()
    since = first.as_of - timedelta(days=2)
    before = explain(world, account)
    assert person in orjson.dumps(before).decode()

    assert cli("opt-out", person, data_dir=world.root).code == 0
    answers = {"explain": explain(world, account), "topics": topics(world, account), "diff": diff(world, account, since)}
    for name, answer in answers.items():
        text = orjson.dumps(answer).decode()
        assert person not in text and f'"{handle}"' not in text, name
    assert any(e.get("hidden") for e in answers["diff"]["new_reactions"]["latest"])  # the data do exercise all three
    assert any(p.get("hidden") for t in answers["topics"]["known_for"] for p in t["top_people"])
    after = answers["explain"]
    assert [c["points"] for c in after["components"]] == [c["points"] for c in before["components"]]
    hidden = [e for c in after["components"] for e in c["evidence"] if e.get("hidden")]
    assert hidden and all(e["ref"] is None and e["handle"] is None for e in hidden)  # the contribution stays, unnamed
    for command in (["explain", account], ["topics", account], ["diff", account, "--since", str(since)]):
        result = cli(*command, data_dir=world.root)
        assert result.code == 0 and person not in result.out, command
    from fastapi.testclient import TestClient

    from renown.api import create_app
    from renown.api.keys import create_key

    client = TestClient(create_app(world))
    assert client.post("/ui/login", data={"key": create_key(world, "ops", "admin"), "next": "/ui/"},
                       follow_redirects=False).status_code == 303
    page = client.get(f"/ui/accounts/{account}")
    assert page.status_code == 200 and "someone not shown" in page.text and person not in page.text


def _scored(store: Store) -> set[str]:
    return {r["account"] for r in snapshots.query(f"SELECT account FROM read_parquet('{snapshots.latest(store.root).scores}')")}


def test_minors_are_hidden_at_once_and_never_scored(world, cli) -> None:
    leaders = [r["account"] for r in cli("top", "--limit", "3", "--json", data_dir=world.root).json()]
    child = leaders[1]
    assert cli("minor", child, "--source", "guardian", data_dir=world.root).code == 0
    assert child not in [r["account"] for r in cli("top", "--limit", "50", "--json", data_dir=world.root).json()]
    refused = cli("explain", child, data_dir=world.root)
    assert refused.code == 1 and "not scored or shown" in refused.err
    assert cli("history", child, data_dir=world.root).code == 1
    assert cli("score", data_dir=world.root).code == 0
    assert child not in _scored(world)
    assert cli("export", child, data_dir=world.root).json()["application"]["participation"]["flagged_minor"] is True
    # a policy that includes minors scores them again; clearing the flag does too
    assert cli("policy", "--include-minors", data_dir=world.root).code == 0
    assert cli("score", data_dir=world.root).code == 0
    assert child in _scored(world)
    assert cli("policy", "--exclude-minors", data_dir=world.root).code == 0
    assert cli("minor", child, "--clear", data_dir=world.root).code == 0
    assert cli("explain", child, data_dir=world.root).code == 0


def test_opted_in_only_policy_scores_only_people_who_opted_in(world, cli) -> None:
    everyone = cli("top", "--limit", "40", "--json", data_dir=world.root).json()
    volunteers = [r["account"] for r in everyone[:40:2]]
    for account in volunteers:
        assert cli("opt-in", account, data_dir=world.root).code == 0
    assert cli("policy", "--only-opted-in", "--json", data_dir=world.root).json() == {"only_opted_in": True, "exclude_minors": True}
    shown = [r["account"] for r in cli("top", "--limit", "100", "--json", data_dir=world.root).json()]
    assert set(shown) == set(volunteers)  # answers follow the policy before any rescoring
    assert cli("explain", everyone[1]["account"], data_dir=world.root).code == 1
    assert cli("score", data_dir=world.root).code == 0
    assert _scored(world) <= set(volunteers)
    # only events between volunteers were read: nobody else's reactions count
    con = world.connect()
    run = snapshots.latest(world.root)
    for row in snapshots.query(f"SELECT account, reactors FROM read_parquet('{run.scores}')"):
        from_volunteers = con.execute(
            "SELECT count(DISTINCT actor) FROM events WHERE target = ? AND actor IN (SELECT unnest(?)) AND actor <> target "
            "AND kind IN ('reply', 'repost', 'quote', 'like', 'mention')", [row["account"], volunteers]).fetchone()[0]
        assert row["reactors"] <= from_volunteers
    con.close()
    assert cli("policy", "--everyone", data_dir=world.root).code == 0
    assert len(cli("top", "--limit", "100", "--json", data_dir=world.root).json()) == 20  # the snapshot holds only volunteers


def test_a_broken_policy_file_is_a_clear_error(world, cli) -> None:
    (world.root / "policy.toml").write_text("[scoring]\nonly_opted_in = 'yes'\n")
    result = cli("top", data_dir=world.root)
    assert result.code == 1 and "policy.toml" in result.err and "true or false" in result.err
