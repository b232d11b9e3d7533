"""The command line: contracts (--json shapes, flags), data location, clean errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def test_stats_json_contract(cli, fixtures) -> None:
    assert cli("ingest", fixtures).code == 0
    result = cli("stats", "--json")
    assert result.code == 0
    stats = result.json()
    for key in ("events", "accounts", "quarantined", "by_kind", "by_network"):
        assert key in stats
    assert sum(stats["by_kind"].values()) == stats["events"] == sum(stats["by_network"].values())
    assert set(stats["by_network"]) == {"twitter", "mastodon", "bluesky", "reddit", "forum", "snap", "se-ham-radio",
                                        "se-ham-radio-meta"}
    assert stats["quarantined"] == 1 and stats["accounts"] > 10


def test_ingest_prints_a_summary_per_kind_and_file(cli, fixtures) -> None:
    result = cli("ingest", fixtures / "bluesky", fixtures / "reddit")
    assert result.code == 0
    assert "loaded" in result.out and "duplicate" in result.out
    assert "reply" in result.out and "jetstream.jsonl" in result.out
    assert "skipped 1 record(s): deleted author" in result.out


def test_ingest_json_report(cli, fixtures) -> None:
    report = cli("ingest", "--json", fixtures / "csv").json()
    assert report["loaded"] == 3 and report["by_kind"]["like"] == {"loaded": 1, "duplicate": 0}
    again = cli("ingest", "--json", fixtures / "csv").json()
    assert again["loaded"] == 0 and again["duplicate"] == 3


def test_quarantine_reasons_are_printed(cli, tmp_path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event_id,network,kind,actor,target,created_at\n1,forum,post,u1,,2024-01-01\n2,forum,post,u1,,soon\n")
    result = cli("ingest", path)
    assert result.code == 0
    assert "1 record(s) quarantined" in result.err
    assert "events.csv, line 3, field created_at" in result.err


def test_data_that_looks_like_markup_is_printed_as_it_is(cli, tmp_path) -> None:
    """Square brackets in data (a display name "Ann [she/her]", a file "export [2024].csv", a value
    "[/b]" in a bad field) are text: the terminal output must neither swallow them as styles nor
    crash on them as unmatched closing tags — after the ingest had already been committed."""
    folder = tmp_path / "export [2024]"
    folder.mkdir()
    path = folder / "events [old].csv"
    path.write_text("event_id,network,kind,actor,target,created_at,text\n"
                    "1,forum,post,ann_[she/her],,2024-01-01,first post\n"
                    "2,forum,reply,bob,ann_[she/her],2024-01-02,[/b] agreed\n"
                    "3,forum,post,bob,,[/b]-soon,never\n")
    result = cli("ingest", path)
    assert result.code == 0, result.err
    assert "events [old].csv, line 4, field created_at" in result.err and "'[/b]-soon'" in result.err
    assert cli("score", "--as-of", "2024-01-03").code == 0
    explained = cli("explain", "forum:ann_[she/her]")
    assert explained.code == 0 and "forum:ann_[she/her]" in explained.out and "forum:bob" in explained.out
    board = cli("top")
    assert board.code == 0 and "forum:ann_[she/her]" in board.out
    missing = cli("explain", "forum:[/b]")
    assert missing.code == 1 and "forum:[/b]" in missing.err and "Traceback" not in missing.err


def test_nothing_loaded_exits_non_zero_with_a_clean_message(cli, tmp_path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event_id,network,kind,actor,target,created_at\n2,forum,post,u1,,soon\n")
    result = cli("ingest", path)
    assert result.code == 1
    assert result.err.startswith("Error: nothing could be loaded")
    assert "Traceback" not in result.err


def test_strict_exits_non_zero_on_any_reject(cli, tmp_path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event_id,network,kind,actor,target,created_at\n1,forum,post,u1,,2024-01-01\n2,forum,post,u1,,soon\n")
    assert cli("ingest", "--strict", path).code == 1
    assert cli("stats", "--json").json()["events"] == 0


def test_unknown_format_error_suggests_the_option(cli, tmp_path) -> None:
    path = tmp_path / "mystery.json"
    path.write_text('{"a": 1}\n')
    result = cli("ingest", path)
    assert result.code == 1 and "--format" in result.err


def test_format_option_is_validated(cli, fixtures) -> None:
    result = cli("ingest", "--format", "myspace", fixtures)
    assert result.code == 2 and "myspace" in result.err


def test_limits_must_be_positive(cli) -> None:
    for command in (["top"], ["triage", "queue", "--term", "acme"]):
        result = cli(*command, "--limit", "0")
        assert result.code == 2 and "--limit" in result.err and "x>=1" in result.err


def test_missing_path_is_a_clean_error(cli, tmp_path) -> None:
    result = cli("ingest", tmp_path / "nope.jsonl")
    assert result.code == 1 and "nope.jsonl: no such file or directory" in result.err


def test_data_dir_comes_from_option_then_env_then_default(tmp_path, fixtures) -> None:
    env = {**os.environ, "RENOWN_HOME": str(tmp_path / "from-env")}
    run = lambda *args, cwd=tmp_path: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "renown", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True)
    assert run("ingest", fixtures / "csv").returncode == 0
    assert (tmp_path / "from-env" / "events").is_dir()
    assert run("--data-dir", tmp_path / "explicit", "ingest", fixtures / "csv").returncode == 0
    assert (tmp_path / "explicit" / "events").is_dir()
    del env["RENOWN_HOME"]
    assert run("ingest", fixtures / "csv").returncode == 0
    assert (tmp_path / "renown-data" / "events").is_dir()


def test_a_data_directory_whose_path_holds_a_quote_works_end_to_end(cli, fixtures, tmp_path) -> None:
    """Paths reach SQL as string literals: /home/o'brien/renown-data must not break a command."""
    data = tmp_path / "o'brien's data"
    assert cli("ingest", fixtures / "twarc2", fixtures / "mastodon", data_dir=data).code == 0
    assert cli("score", data_dir=data).code == 0
    leader = cli("top", "--limit", "1", "--json", data_dir=data).json()[0]["account"]
    for command in (["explain", leader], ["history", leader], ["topics", leader], ["export", leader],
                    ["forget", leader, "--yes"], ["stats"]):
        result = cli(*command, data_dir=data)
        assert result.code == 0, (command, result.err)


def test_scoring_an_empty_window_says_so(cli, fixtures) -> None:
    assert cli("ingest", fixtures / "twarc2").code == 0
    result = cli("score", "--as-of", "1990-01-01")
    assert result.code == 0 and "scored 0 accounts" in result.out
    assert "window ending 1990-01-01 holds no events" in result.err
    assert "holds no events" not in cli("score").err


def test_ingesting_the_folder_that_holds_the_data_directory_reads_only_the_exports(cli, fixtures, tmp_path) -> None:
    """`renown ingest .` with ./renown-data beside the exports: renown's own records and quarantine are not input."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "search_page.jsonl").write_bytes((fixtures / "twarc2/search_page.jsonl").read_bytes())
    (folder / "broken.jsonl").write_text('{"broken": \n')  # leaves a quarantine file in the data directory
    data = folder / "renown-data"
    first = cli("ingest", folder, "--json", data_dir=data).json()
    again = cli("ingest", folder, "--json", data_dir=data).json()
    assert first["quarantined"] == again["quarantined"] == 1  # the broken export, not renown's files
    assert {f["name"] for f in again["files"]} == {str(folder / "search_page.jsonl"), str(folder / "broken.jsonl")}
    refused = cli("ingest", data, data_dir=tmp_path / "other")
    assert refused.code != 0 and "is a renown data directory" in refused.err


def test_help_teaches_the_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "renown", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("ingest", "stats", "demo", "simulate", "--data-dir"):
        assert command in result.stdout


def test_demo_runs_end_to_end_twice(tmp_path, capsys) -> None:
    from renown.cli import main

    for _ in range(2):  # a second run reuses the data directory: nothing duplicates, nothing fails
        assert main(["--data-dir", str(tmp_path / "d"), "demo", "--accounts", "300", "--days", "8"]) == 0
        out = capsys.readouterr().out
        assert "scored" in out and "care triage" in out and ("perks campaign" in out)
