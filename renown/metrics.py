"""Ranking metrics for the evaluation harness, with bootstrap confidence intervals.

All take ``predicted`` scores and ``actual`` outcomes over the same accounts.

* Spearman's ρ and Kendall's τ-b (scipy): agreement of the whole ranking.
* NDCG@k (Järvelin & Kekäläinen 2002) with linear gains: ``DCG@k = Σ_{i≤k}
  actual_(i) / log2(i + 1)`` over the predicted order, divided by the DCG of
  the ideal order; ties in ``predicted`` are broken by account order, so a
  constant predictor gets no credit for lucky ties.
* precision@k: the share of the predicted top k that is in the actual top k
  (actual ties at the boundary count as in).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

METRICS = ("spearman", "kendall", "ndcg@10", "ndcg@100", "precision@100")


def _order(predicted: np.ndarray) -> np.ndarray:
    return np.lexsort((np.arange(len(predicted)), -predicted))


def ndcg_at(predicted: np.ndarray, actual: np.ndarray, k: int) -> float:
    k = min(k, len(actual))
    if k == 0:
        return float("nan")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gained = actual[_order(predicted)[:k]]
    ideal = np.sort(actual)[::-1][:k]
    best = float(ideal @ discounts)
    return float(gained @ discounts) / best if best > 0 else float("nan")


def precision_at(predicted: np.ndarray, actual: np.ndarray, k: int) -> float:
    k = min(k, len(actual))
    if k == 0:
        return float("nan")
    threshold = np.sort(actual)[::-1][k - 1]
    if threshold <= 0:
        threshold = np.finfo(float).tiny  # nobody with zero outcome counts as a hit
    return float((actual[_order(predicted)[:k]] >= threshold).mean())


def _correlation(fn, predicted: np.ndarray, actual: np.ndarray) -> float:
    if len(actual) < 3 or np.all(predicted == predicted[0]) or np.all(actual == actual[0]):
        return float("nan")
    return float(fn(predicted, actual)[0])


def evaluate(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    predicted = np.asarray(predicted, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    return {
        "spearman": _correlation(stats.spearmanr, predicted, actual),
        "kendall": _correlation(stats.kendalltau, predicted, actual),
        "ndcg@10": ndcg_at(predicted, actual, 10),
        "ndcg@100": ndcg_at(predicted, actual, 100),
        "precision@100": precision_at(predicted, actual, 100),
    }


def bootstrap(
    methods: dict[str, np.ndarray],
    actual: np.ndarray,
    reference: str,
    rounds: int = 100,
    seed: int = 0,
    sample: int | None = 20_000,
    metric_fn: Callable[[np.ndarray, np.ndarray], dict[str, float]] = evaluate,
) -> dict[str, dict[str, dict[str, float]]]:
    """95 % percentile intervals of every metric for every method, and of each
    method's margin below ``reference`` (``reference − method``), resampling
    accounts with replacement. Above ``sample`` accounts each round draws that
    many (an m-out-of-n bootstrap, wider and therefore conservative)."""
    rng = np.random.default_rng(seed)
    n = len(actual)
    draw = n if sample is None else min(n, sample)
    values: dict[str, dict[str, list[float]]] = {m: {k: [] for k in METRICS} for m in methods}
    margins: dict[str, dict[str, list[float]]] = {m: {k: [] for k in METRICS} for m in methods if m != reference}
    for _ in range(rounds):
        idx = rng.integers(0, n, draw)
        scored = {m: metric_fn(p[idx], actual[idx]) for m, p in methods.items()}
        for m, result in scored.items():
            for k in METRICS:
                values[m][k].append(result[k])
                if m != reference:
                    margins[m][k].append(scored[reference][k] - result[k])

    def interval(xs: list[float]) -> dict[str, float]:
        arr = np.array([x for x in xs if not np.isnan(x)])
        if len(arr) == 0:
            return {"low": float("nan"), "high": float("nan")}
        return {"low": float(np.percentile(arr, 2.5)), "high": float(np.percentile(arr, 97.5))}

    return {
        "intervals": {m: {k: interval(v) for k, v in ks.items()} for m, ks in values.items()},
        "margins": {m: {k: interval(v) for k, v in ks.items()} for m, ks in margins.items()},
    }
