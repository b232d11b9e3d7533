"""Scoring runs end to end: snapshots, calibration on the demo population, CLI contracts, erasure."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from renown.cli import main
from renown.ingest.pipeline import ingest
from renown.score import report, snapshots
from renown.score.report import explain
from renown.score.run import run_score
from renown.simulate import simulate, write_dataset
from renown.store import Store


def scores(run: snapshots.Run) -> list[dict]:
    return snapshots.query(f"SELECT * FROM read_parquet('{run.scores}') ORDER BY account")


def test_demo_population_is_calibrated_like_klout(demo_store) -> None:
    run = snapshots.latest(demo_store.root)
    con = duckdb.connect()
    median, p99, top = con.execute(
        f"SELECT median(score), quantile_disc(score, 0.99), max(score) FROM read_parquet('{run.scores}')").fetchone()
    assert 15 <= median <= 30
    assert p99 > 70  # the top 1 % is above 70
    assert top < 100


def test_every_explanation_adds_up_to_its_score(demo_store) -> None:
    run = snapshots.latest(demo_store.root)
    names = [c["name"] for c in run.meta["components"]]
    for row in scores(run):
        assert round(1.0 + sum(row[f"{n}_points"] for n in names), 1) == row["score"]


def test_scoring_twice_gives_the_same_snapshot(demo_store) -> None:
    first = snapshots.latest(demo_store.root)
    second = run_score(demo_store).run
    assert second.path != first.path and second.as_of == first.as_of
    assert scores(first) == scores(second)
    assert first.meta["scoring_version"] == second.meta["scoring_version"]


def test_planted_gaming_does_not_pay_on_the_demo(demo_store) -> None:
    """Bots and sybil rings are discounted; their clients stay out of the top 10 %."""
    truth_file = next(demo_store.root.parent.glob("source/ground-truth.tsv"))
    with open(truth_file) as handle:
        truth = {r["account"]: r for r in csv.DictReader(handle, delimiter="\t")}
    run = snapshots.latest(demo_store.root)
    rows = {r["account"]: r for r in scores(run)}
    ranked = sorted(rows, key=lambda k: -rows[k]["exact"])
    top_decile = set(ranked[: len(ranked) // 10])
    bots = [k for k, t in truth.items() if t["type"] == "bot" and k in rows]
    sybils = [k for k, t in truth.items() if t["type"] == "sybil" and k in rows]
    assert sum(rows[k]["genuineness"] < 0.2 for k in bots) >= 0.9 * len(bots)
    assert sum(rows[k]["genuineness"] < 0.2 for k in sybils) >= 0.8 * len(sybils)
    clients = {t["client"] for t in truth.values() if t["client"]}
    assert not clients & top_decile
    ordinary = [k for k, t in truth.items() if t["type"] in ("ordinary", "expert", "brand", "promoter") and k in rows]
    assert sum(rows[k]["genuineness"] < 1.0 for k in ordinary) <= 0.01 * len(ordinary)  # almost no false alarms


def test_explain_json_contract_and_evidence(demo_store, capsys) -> None:
    leader = snapshots.query(f"SELECT account FROM read_parquet('{snapshots.latest(demo_store.root).scores}') "
                             "ORDER BY exact DESC LIMIT 1")[0]["account"]
    assert main(["--data-dir", str(demo_store.root), "explain", leader, "--json"]) == 0
    import orjson

    result = orjson.loads(capsys.readouterr().out)
    assert result["account"] == leader and isinstance(result["score"], int)
    assert [c["name"] for c in result["components"]] == ["reach", "amplification", "network", "offline"]
    assert round(result["base"] + sum(c["points"] for c in result["components"]), 1) == result["score"]
    reach = result["components"][0]
    assert len(reach["evidence"]) == 5 and all(e["kind"] == "person" for e in reach["evidence"])
    amplification = result["components"][1]
    assert amplification["evidence"] and all(e["kind"] == "post" for e in amplification["evidence"])


def test_top_json_contract(demo_store, capsys) -> None:
    assert main(["--data-dir", str(demo_store.root), "top", "--limit", "7", "--json"]) == 0
    import orjson

    rows = orjson.loads(capsys.readouterr().out)
    assert len(rows) == 7
    assert all({"account", "score"} <= set(r) for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)


def test_discounts_are_explained_in_words(demo_store) -> None:
    run = snapshots.latest(demo_store.root)
    victims = snapshots.query(f"SELECT DISTINCT account FROM read_parquet('{run.evidence}') WHERE component = 'discounts' "
                              "AND ref LIKE 'ring:%' LIMIT 3")
    assert victims
    explained = explain(demo_store, victims[0]["account"])
    ring_notes = [d for d in explained["discounts"] if d["reason"].startswith("ring:")]
    assert ring_notes and "reciprocal ring of" in ring_notes[0]["detail"] and "discounted by" in ring_notes[0]["detail"]


def test_discount_shares_are_not_rounded_to_all_or_nothing() -> None:
    """A ring member of eight keeps 0.6 % of its weight: "discounted by 100 %" would say it keeps nothing."""
    assert [report._percent(v) for v in (95.0, 99.375, 99.96, 100.0, 0.01, 0.0, 42.25)] == \
        ["95", "99.4", "99.9", "100", "0.1", "0", "42.2"]


def test_unknown_account_is_a_clean_error(demo_store, capsys) -> None:
    assert main(["--data-dir", str(demo_store.root), "explain", "twitter:does-not-exist"]) == 1
    assert "has no score" in capsys.readouterr().err


def forum_world(tmp_path: Path) -> Path:
    folder = tmp_path / "forum"
    write_dataset(simulate(accounts=300, days=20, seed=4, networks=("forum",)), folder)
    return folder / "forum" / "events.csv"


def test_history_and_diff_decompose_a_change(tmp_path, capsys) -> None:
    source = forum_world(tmp_path)
    store = Store(tmp_path / "data")
    ingest(store, [source])
    first = run_score(store, as_of=date(2026, 9, 10)).run
    run_score(store, as_of=date(2026, 9, 20))
    account = snapshots.query(f"SELECT account FROM read_parquet('{first.scores}') ORDER BY exact DESC LIMIT 1")[0]["account"]
    assert main(["--data-dir", str(store.root), "history", account, "--json"]) == 0
    import orjson

    series = orjson.loads(capsys.readouterr().out)
    assert [s["as_of"] for s in series] == ["2026-09-10", "2026-09-20"]
    assert main(["--data-dir", str(store.root), "diff", account, "--since", "2026-09-12", "--json"]) == 0
    change = orjson.loads(capsys.readouterr().out)
    assert change["from"]["as_of"] == "2026-09-10" and change["to"]["as_of"] == "2026-09-20"
    assert change["change"] == series[1]["score"] - series[0]["score"]
    assert round(sum(c["change"] for c in change["components"]), 1) == change["change"]
    assert change["new_reactions"]["count"] > 0 and change["new_reactions"]["latest"]


def test_erasing_an_account_removes_its_influence_on_everyone(tmp_path) -> None:
    source = forum_world(tmp_path)
    store = Store(tmp_path / "data")
    ingest(store, [source])
    before = {r["account"]: r for r in scores(run_score(store).run)}
    victim = max((r for r in before.values()), key=lambda r: r["reactions"])["account"]
    native = victim.split(":", 1)[1]
    assert store.erase_events(victim).events > 0
    after = {r["account"]: r for r in scores(run_score(store).run)}
    # the same log, built without the victim's events from the start
    clean_csv = tmp_path / "clean.csv"
    with open(source) as src, open(clean_csv, "w", newline="") as dst:
        reader, writer = csv.DictReader(src), None
        for row in reader:
            writer = writer or csv.DictWriter(dst, reader.fieldnames)
            if writer and dst.tell() == 0:
                writer.writeheader()
            if native not in (row["actor"], row["target"]):
                writer.writerow(row)
    clean = Store(tmp_path / "clean")
    ingest(clean, [clean_csv])
    expected = {r["account"]: r for r in scores(run_score(clean, as_of=snapshots.latest(store.root).as_of).run)}
    assert victim not in after
    assert {k: v["exact"] for k, v in after.items()} == pytest.approx({k: v["exact"] for k, v in expected.items()})
    con = store.connect()
    assert con.execute("SELECT count(*) FROM events_all WHERE actor = ? OR target = ?", [victim, victim]).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM accounts WHERE key = ?", [victim]).fetchone()[0] == 0


def test_a_crash_while_writing_a_snapshot_leaves_no_trace(tmp_path, monkeypatch) -> None:
    store = Store(tmp_path / "data")
    ingest(store, [forum_world(tmp_path)])
    good = run_score(store).run
    calls = {"n": 0}
    real_write = snapshots.pq.write_table

    def failing(*args, **kwargs):  # the topics table (scores and evidence stream in beside it)
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(snapshots.pq, "write_table", failing)
    with pytest.raises(OSError):
        run_score(store)
    assert calls["n"] == 1
    monkeypatch.undo()
    assert snapshots.latest(store.root).path == good.path
    assert len([p for p in good.path.parent.iterdir() if not p.name.startswith(".")]) == 1


def test_score_rows_do_not_depend_on_the_batch_of_accounts_they_are_made_in(demo_store, monkeypatch) -> None:
    """Score rows are made a slice of accounts at a time (on Spark, a partition at a time): made 37 accounts at a
    time, every number is the one made with all accounts at once, and the file is in account order."""
    import pyarrow.parquet as pq

    from renown.score import accounts

    whole = pq.read_table(run_score(demo_store).run.scores)
    monkeypatch.setattr(accounts, "ROWS_CHUNK", 37)
    sliced = pq.read_table(run_score(demo_store).run.scores)
    assert whole.num_rows > 10 * 37
    assert sliced.equals(whole)
    assert sliced.column("account").to_pylist() == sorted(sliced.column("account").to_pylist(), key=str.encode)


def test_evidence_streams_into_the_snapshot_and_a_failure_midway_leaves_no_trace(tmp_path, monkeypatch) -> None:
    """The evidence is written as it is made (on Spark it arrives from the executors a partition at a time):
    written in many row groups it holds exactly the rows of one write, and an error partway through the
    stream (a lost executor) leaves the previous run the newest, with no partial run beside it."""
    import pyarrow.parquet as pq

    from renown.score import run as scoring

    store = Store(tmp_path / "data")
    ingest(store, [forum_world(tmp_path)])
    whole = run_score(store).run
    monkeypatch.setattr(snapshots, "STREAM_ROW_GROUP", 50)
    streamed = run_score(store).run
    assert pq.ParquetFile(streamed.evidence).num_row_groups > 3
    assert pq.ParquetFile(whole.evidence).num_row_groups == 1
    assert snapshots.query(f"""SELECT count(*) AS n FROM (SELECT * FROM read_parquet('{whole.evidence}') EXCEPT ALL
                               SELECT * FROM read_parquet('{streamed.evidence}'))""")[0]["n"] == 0
    assert pq.read_metadata(whole.evidence).num_rows == pq.read_metadata(streamed.evidence).num_rows > 50

    made = {"n": 0}
    real_block = scoring._block_table

    def lost_executor(*args):
        made["n"] += 1
        if made["n"] == 2:
            raise RuntimeError("executor lost")
        return real_block(*args)

    monkeypatch.setattr(scoring, "_block_table", lost_executor)
    with pytest.raises(RuntimeError, match="executor lost"):
        run_score(store)
    assert made["n"] == 2  # the first block had been written when the stream broke
    assert snapshots.latest(store.root).path == streamed.path
    assert len([p for p in streamed.path.parent.iterdir() if not p.name.startswith(".")]) == 2

def test_a_scoring_run_reports_each_step_as_it_starts(demo_store) -> None:
    """What `renown score` shows while it works (Spark runs take minutes)."""
    from renown.score.run import STEPS

    steps: list[str] = []
    run_score(demo_store, on_step=steps.append)
    assert steps == ["start", *STEPS]


def test_a_server_holding_snapshots_in_memory_explains_exactly_as_a_command_reading_them(demo_store, monkeypatch) -> None:
    """A command reads one account's rows with a query; the server indexes whole files once.
    Both answer every question the same way (explanations, diffs, history)."""
    run = snapshots.latest(demo_store.root)
    accounts = [r["account"] for r in snapshots.query(
        f"SELECT DISTINCT account FROM read_parquet('{run.evidence}') ORDER BY account LIMIT 40")]
    accounts += ["twitter:does-not-exist"]

    def answers() -> list:
        out = []
        for account in accounts:
            out.append((snapshots.account_row(run, account), snapshots.evidence_rows(run, account)))
        return out

    monkeypatch.setattr(snapshots, "_held", False)
    queried = answers()
    monkeypatch.setattr(snapshots, "_held", True)
    held = answers()
    assert queried == held
    assert queried[-1] == (None, []) and all(row is not None and rows for row, rows in queried[:-1])


@pytest.mark.skipif(sys.platform != "linux", reason="NumPy hints huge pages on Linux only")
def test_numpy_huge_page_hint_is_off_unless_the_environment_asks() -> None:
    """Importing renown turns NumPy's MADV_HUGEPAGE hint off (it stalled scoring on synchronous
    compaction, see renown/__init__.py); NUMPY_MADVISE_HUGEPAGE=1 still turns it on."""
    import os
    import subprocess

    probe = "import renown, numpy; print(numpy._core.multiarray._get_madvise_hugepage())"
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    default = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    asked = subprocess.run([sys.executable, "-c", probe], env={**env, "NUMPY_MADVISE_HUGEPAGE": "1"},
                           capture_output=True, text=True, check=True)
    assert (default.stdout.strip(), asked.stdout.strip()) == ("False", "True")


def test_a_command_reads_a_leaderboard_page_exactly_as_a_server_holding_the_board(demo_store, monkeypatch) -> None:
    """A command reads one page of the board with a query; the server sorts the whole file once.
    Both give the same rows and ranks, with accounts hidden by the privacy policy and with filters."""
    from renown import policy
    from renown.score.report import Filter, top

    monkeypatch.setattr(snapshots, "_held", True)
    leaders = [r["account"] for r in top(demo_store, 6)]
    hidden = policy.Scope(frozenset(leaders[1::2]), None)  # every other leader opted out
    monkeypatch.setattr(policy, "scope", lambda *args, **kwargs: hidden)
    network = leaders[0].split(":", 1)[0]
    pages = [(10, 0, Filter()), (7, 5, Filter()), (10, 0, Filter(min_score=20, max_score=60)),
             (5, 3, Filter(network=network)), (10, 0, Filter(q=leaders[0].split(":", 1)[1][:3])),
             (10, 0, Filter(network="no-such-network"))]

    def answers() -> list:
        return [top(demo_store, limit, offset=offset, where=where) for limit, offset, where in pages]

    held = answers()
    monkeypatch.setattr(snapshots, "_held", False)
    assert answers() == held
    assert not {r["account"] for page in held for r in page} & set(leaders[1::2])
    assert [r["rank"] for r in held[1]] == list(range(6, 13))
    assert all(page for page in held[:-1]) and held[-1] == []


def test_posts_behind_an_explanation_link_to_the_original_where_the_id_is_global(demo_store, capsys) -> None:
    from renown.links import post_url

    assert post_url("twitter:42", "1700000000000000001") == "https://x.com/i/web/status/1700000000000000001"
    assert (post_url("bluesky:did:plc:wa7b35aakoll7hugkrjtf3xf", "at://did:plc:wa7b35aakoll7hugkrjtf3xf/app.bsky.feed.post/3l3pte3p2e325")
            == "https://bsky.app/profile/did:plc:wa7b35aakoll7hugkrjtf3xf/post/3l3pte3p2e325")
    assert post_url("reddit:sdr_fan", "t3_10abcde") == "https://www.reddit.com/comments/10abcde/"
    assert post_url("reddit:sdr_fan", "t1_j2x1a0b") is None  # a comment's address needs its thread
    assert post_url("mastodon:ann@hachyderm.io", "111234567890") is None  # instance-local id
    status = "https://hachyderm.io/users/ann/statuses/111234567890"  # an archive's status URI: global
    assert post_url("mastodon:ann@hachyderm.io", status) == status
    assert post_url("mastodon:bob@example.org", status) is None  # not on the author's instance
    assert post_url("mastodon:ann@hachyderm.io", "http://hachyderm.io/users/ann/statuses/1") is None
    assert post_url("twitter:42", "javascript:alert(1)") is None

    run = snapshots.latest(demo_store.root)
    linked = {}
    for (account,) in duckdb.sql(f"""SELECT DISTINCT account FROM read_parquet('{run.evidence}')
                                     WHERE kind = 'post' ORDER BY account""").fetchall():
        network = account.split(":", 1)[0]
        if network in linked:
            continue
        posts = [e for c in explain(demo_store, account)["components"] for e in c["evidence"] if e["kind"] == "post"]
        assert posts and all("url" in e for e in posts)
        linked[network] = [e["url"] for e in posts]
    assert all(url and url.startswith("https://") for url in linked["twitter"] + linked["bluesky"])
    assert all(url is None for url in linked["mastodon"])
    twitter_account = next(a for (a,) in duckdb.sql(f"""SELECT DISTINCT account FROM read_parquet('{run.evidence}')
                                                        WHERE kind = 'post' AND account LIKE 'twitter:%'""").fetchall())
    assert main(["--data-dir", str(demo_store.root), "explain", twitter_account]) == 0
    assert "https://x.com/i/web/status/" in capsys.readouterr().out  # the command prints the links too
