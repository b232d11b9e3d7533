"""The evaluation harness: its --json contract, the Klout-like fit, planted truth, and real data."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from renown import metrics
from renown.cli import main
from renown.ingest.pipeline import ingest
from renown.simulate import simulate, write_dataset
from renown.store import Store

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> tuple[Store, Path]:
    root = tmp_path_factory.mktemp("evaluate")
    write_dataset(simulate(accounts=600, days=24, seed=21), root / "source")
    store = Store(root / "data")
    ingest(store, [root / "source"])
    return store, root / "source" / "ground-truth.tsv"


def test_evaluate_json_contract(simulated, capsys, tmp_path) -> None:
    store, truth = simulated
    code = main(["--data-dir", str(store.root), "evaluate", "--json", "--bootstrap", "10", "--truth", str(truth),
                 "--report", str(tmp_path / "report")])
    assert code == 0
    report = orjson.loads(capsys.readouterr().out)
    for key in ("split_at", "horizon_days", "accounts", "methods"):
        assert key in report
    assert set(report["methods"]) == {"renown", "indegree", "volume", "reactions", "pagerank", "klout_fit", "followers"}
    for values in report["methods"].values():
        assert set(metrics.METRICS) <= set(values)
    # 24 days of data (1–24 September): the horizon is a third of the span, the split that far before the end
    assert report["horizon_days"] == 7 and report["split_at"] == "2026-09-17"
    assert set(report["ablation"]) == {"renown without reach", "renown without amplification", "renown without network",
                                       "renown without offline"}
    planted = report["planted_truth"]
    assert planted["accounts"] > 400
    # the report says how much of the latent influence the events reveal, and what the score tracks instead
    assert -1 <= planted["oracle_vs_latent_influence"]["spearman"] < 0.8
    assert planted["vs_expected_people_moved"]["spearman"] > planted["vs_latent_influence"]["spearman"]
    assert report["topics"]["topics"] >= 1 and 0 <= report["topics"]["renown"] <= 1
    assert {p.name for p in (tmp_path / "report").iterdir()} == {
        "report.md", "report.json", "score-vs-future-reach.png", "metrics-by-method.png"}
    assert (tmp_path / "report" / "metrics-by-method.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_renown_beats_volume_and_followers_on_the_simulator(simulated) -> None:
    from renown import evaluate

    report = evaluate.run(simulated[0], rounds=10)
    ours = report["methods"]["renown"]
    for baseline in ("volume", "followers"):
        assert ours["spearman"] > report["methods"][baseline]["spearman"]
        assert report["renown_margin"][baseline]["spearman"]["low"] > 0


def test_the_klout_fit_never_sees_the_evaluation_period(simulated, monkeypatch) -> None:
    """Its coefficients come from the earlier split: changing the future cannot change them."""
    from renown import evaluate

    seen = []
    real = evaluate._past_and_future

    def spy(store, split_at, horizon, window_days):
        seen.append(split_at)
        return real(store, split_at, horizon, window_days)

    monkeypatch.setattr(evaluate, "_past_and_future", spy)
    report = evaluate.run(simulated[0], rounds=2)
    evaluation_split, fit_split = seen
    # the fit's outcome window (fit_split, fit_split + horizon] ends exactly where the evaluation's past ends
    assert (evaluation_split - fit_split).days == report["horizon_days"]
    assert report["klout_fit_coefficients"] and len(report["klout_fit_coefficients"]) == 3


def test_a_split_without_a_future_is_a_clean_error(simulated, capsys) -> None:
    store, _ = simulated
    assert main(["--data-dir", str(store.root), "evaluate", "--split-at", "2026-09-30", "--bootstrap", "2"]) == 1
    assert "no reactions" in capsys.readouterr().err


@pytest.mark.skipif(not (SHARED / "stackexchange" / "cardano").exists(), reason="../shared/data is not present")
def test_real_stack_exchange_site_evaluates(tmp_path, capsys) -> None:
    store = Store(tmp_path / "data")
    ingest(store, [SHARED / "stackexchange" / "cardano"])
    assert main(["--data-dir", str(store.root), "evaluate", "--json", "--bootstrap", "5"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["accounts"] > 300 and report["accounts_with_outcome"] > 50
    assert report["methods"]["renown"]["spearman"] > 0.1  # it predicts something real
    topics = report["topics"]  # Stack Exchange tags are real topics
    assert topics["topics"] >= 5 and set(topics["per_topic"][next(iter(topics["per_topic"]))]) == {"accounts", "renown", "indegree"}


def test_sybil_rings_lift_no_client_into_the_top_decile(simulated) -> None:
    """The sybil bar's intent, measured: scored again with every planted sybil account left out,
    no client leaves the top 10 %, and no ring adds more than a point or two to its client."""
    from renown import evaluate

    store, truth = simulated
    clients = evaluate.run(store, truth=truth, rounds=2)["planted_truth"]["sybil_clients"]
    assert clients["clients"] >= 2 and len(clients["lift"]) == clients["clients"]
    assert clients["lifted_into_top_decile"] == []
    assert set(clients["in_top_decile"]) <= set(clients["in_top_decile_without_sybils"])
    assert 0 <= clients["max_lift"] < 2.0
