"""Ranking metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np

from renown import metrics


def test_ndcg_is_one_for_the_ideal_order_and_matches_the_formula_otherwise() -> None:
    actual = np.array([3.0, 2.0, 1.0, 0.0])
    assert metrics.ndcg_at(actual, actual, 10) == 1.0
    reversed_order = metrics.ndcg_at(-actual, actual, 2)
    ideal = 3 / math.log2(2) + 2 / math.log2(3)
    got = 0 / math.log2(2) + 1 / math.log2(3)
    assert math.isclose(reversed_order, got / ideal)


def test_ties_in_the_prediction_get_no_lucky_credit() -> None:
    actual = np.array([0.0, 0.0, 5.0])
    assert metrics.ndcg_at(np.zeros(3), actual, 1) == 0.0  # ties broken by account order, not by outcome


def test_precision_at_k_counts_hits_in_the_true_top_k() -> None:
    actual = np.array([10.0, 9.0, 8.0, 0.0, 0.0])
    predicted = np.array([5.0, 0.0, 4.0, 3.0, 0.0])
    assert metrics.precision_at(predicted, actual, 3) == 2 / 3


def test_correlations_and_degenerate_inputs() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    result = metrics.evaluate(x, x * 2 + 1)
    assert result["spearman"] == 1.0 and math.isclose(result["kendall"], 1.0)
    assert math.isnan(metrics.evaluate(np.ones(5), np.arange(5.0))["spearman"])


def test_bootstrap_intervals_bracket_a_clear_winner() -> None:
    rng = np.random.default_rng(0)
    actual = rng.exponential(size=500)
    methods = {"good": actual + rng.normal(scale=0.1, size=500), "noise": rng.normal(size=500)}
    result = metrics.bootstrap(methods, actual, "good", rounds=50)
    low, high = result["intervals"]["good"]["spearman"]["low"], result["intervals"]["good"]["spearman"]["high"]
    point = metrics.evaluate(methods["good"], actual)["spearman"]
    assert low <= point <= high
    assert result["margins"]["noise"]["spearman"]["low"] > 0.5
