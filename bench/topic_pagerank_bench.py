"""Topic-sensitive PageRank: K separate sparse power iterations vs one block iteration on an n×K matrix.

    python bench/topic_pagerank_bench.py [--nodes 1000000] [--edges 8000000] [--topics 30]

Random heavy-tailed graph (power-law in-degree), K personalisation vectors on random author sets.
Both variants use the same transition matrix and stopping rule (L1 change < n·1e-10 per topic); the
block variant multiplies the sparse matrix by a dense n×K block each step (one pass over the edges
for all topics). "renown block" is ``renown.score.graph.pagerank`` on the same block, as ``renown score`` runs
it (teleport terms at the entries only, the product into a reused array on all cores). Prints the table
issue 6 asks for, with the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.ingest_bench import machine  # noqa: E402
from renown.score.graph import adjacency, pagerank  # noqa: E402


def block_pagerank(W: sp.csr_matrix, U: np.ndarray, damping: float = 0.85, tol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
    n = W.shape[0]
    out = np.asarray(W.sum(axis=1)).ravel()
    scale = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    transition_t = (sp.diags(scale) @ W).T.tocsr()
    dangling = out == 0
    U = U / U.sum(axis=0, keepdims=True)
    X = U.copy()
    for _ in range(max_iter):
        previous = X
        X = damping * (transition_t @ X + np.outer(np.ones(n), X[dangling].sum(axis=0)) * U) + (1 - damping) * U
        if (np.abs(X - previous).sum(axis=0) < n * tol).all():
            return X / X.sum(axis=0, keepdims=True)
    raise RuntimeError("block PageRank did not converge")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=8_000_000)
    parser.add_argument("--topics", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, m, k = args.nodes, args.edges, args.topics
    src = rng.integers(0, n, m)
    dst = np.minimum((n * rng.random(m) ** 2.5).astype(np.int64), n - 1)
    W = adjacency(src, dst, np.log2(1 + rng.integers(1, 5, m).astype(float)), n)
    U = np.zeros((n, k))
    for t in range(k):
        authors = rng.choice(n, size=max(10, n // 200), replace=False)
        U[authors, t] = rng.random(len(authors))
    start = time.perf_counter()
    separate = np.stack([pagerank(W, personalization=U[:, t]) for t in range(k)], axis=1)
    t_separate = time.perf_counter() - start
    start = time.perf_counter()
    block = block_pagerank(W, U)
    t_block = time.perf_counter() - start
    start = time.perf_counter()
    renown_block = pagerank(W, personalization=U)
    t_renown = time.perf_counter() - start
    print(f"machine: {machine()}\n")
    print("| nodes | edges | topics | separate sparse loops s | dense block s | renown block s | max abs difference |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    worst = max(np.abs(separate - block).max(), np.abs(separate - renown_block).max())
    print(f"| {n:,} | {m:,} | {k} | {t_separate:.1f} | {t_block:.1f} | {t_renown:.1f} | {worst:.1e} |")


if __name__ == "__main__":
    main()
