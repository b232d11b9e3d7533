"""The reaction graph and weighted PageRank on it.

PageRank (Brin & Page 1998) is the stationary distribution of a random surfer
who, at each step, follows an out-edge with probability ``d`` (the damping
factor) — choosing edge ``i → j`` with probability ``W[i, j] / Σ_k W[i, k]`` —
and otherwise jumps to a node drawn from the teleport distribution ``u``::

    x ← d · (Pᵀ x + (dangling mass) · u) + (1 − d) · u

Dangling nodes (no out-edges) hand all their mass to ``u``, as in networkx.
renown adds one generalisation, the *keep* vector: node ``i`` passes only the
fraction ``keep[i]`` of its mass along its edges and hands the rest to ``u``
like a dangling node. A discounted reactor (a bot, a ring member) then cannot
push rank through its edges however they are normalised; ``keep = 1`` gives
classic PageRank.

Iteration stops when the L1 change is below ``n · tol`` (networkx's
criterion) and raises :class:`ConvergenceError` after ``max_iter`` steps
instead of returning an unconverged vector.

References: S. Brin, L. Page, "The anatomy of a large-scale hypertextual Web
search engine" (1998); A. Langville, C. Meyer, "Deeper inside PageRank",
Internet Mathematics 1(3) (2004); networkx ``pagerank_scipy``.
"""

from __future__ import annotations

import copy
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.sparse as sp
from scipy.sparse import _sparsetools

from renown.errors import RenownError


class ConvergenceError(RenownError):
    """Power iteration did not reach the tolerance within ``max_iter`` steps."""


@dataclass(frozen=True)
class Teleport:
    """K teleport distributions given by their non-zero entries: column ``topic[i]`` has weight ``weight[i]``
    at node ``node[i]`` (normalised per column by the ranker). Topic scores read each topic's rank only where
    its teleport is — at its authors — so a ranker answers there only (:meth:`at`): no engine builds or
    hands over an n × K array (at 17M accounts and 72 topics that would be ≈ 10 GB)."""

    node: np.ndarray
    topic: np.ndarray
    weight: np.ndarray
    topics: int

    def dense(self, n: int) -> np.ndarray:
        u = np.zeros((n, self.topics))
        u[self.node, self.topic] = self.weight
        return u

    def at(self, ranks: np.ndarray) -> np.ndarray:
        """Each entry's rank, from ``n × K`` ranks."""
        return ranks[self.node, self.topic]

    def normalised(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The checked entries in (topic, node) order, each weight divided by its topic's total: the start of
        every ranker. Totals are added as a dense column's would be (in node order; one column pairwise, as
        numpy sums a vector), so the entries and the dense form give the same bits."""
        self.check(n)
        node, topic = np.asarray(self.node, dtype=np.int64), np.asarray(self.topic, dtype=np.int64)
        weight = np.asarray(self.weight, dtype=np.float64)
        order = np.lexsort((node, topic))
        node, topic, weight = node[order], topic[order], weight[order]
        if self.topics == 1:
            column = np.zeros(n)
            column[node] = weight
            totals = np.array([column.sum()])
        else:
            totals = np.bincount(topic, weights=weight, minlength=self.topics)
        return node, topic, weight / totals[topic]

    def check(self, n: int) -> None:
        """Raise ``ValueError`` unless the entries name nodes below ``n`` and topics below :attr:`topics`, each
        (node, topic) once, with non-negative weights and a positive total per topic (what every ranker needs)."""
        node, topic = np.asarray(self.node, dtype=np.int64), np.asarray(self.topic, dtype=np.int64)
        weight = np.asarray(self.weight, dtype=np.float64)
        if len(node) and (node.min() < 0 or node.max() >= n or topic.min() < 0 or topic.max() >= self.topics):
            raise ValueError("teleport entries must name nodes below n and topics below their count")
        if len(np.unique(topic * n + node)) != len(node):
            raise ValueError("a teleport names each (node, topic) once")
        if (weight < 0).any() or (np.bincount(topic, weights=weight, minlength=self.topics) <= 0).any():
            raise ValueError("personalization must be non-negative, with a positive sum per topic")


def adjacency(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n: int) -> sp.csr_matrix:
    """Sparse ``n × n`` matrix with ``W[src, dst] = weight`` (duplicates summed)."""
    return sp.csr_matrix((weight.astype(np.float64), (src, dst)), shape=(n, n))


@dataclass(frozen=True)
class Transition:
    """Where the surfer goes from each node: ``Pᵀ`` (``W`` row-normalised, each row scaled by ``keep``) and
    the mass each node hands to the teleport instead (dangling: all of it; otherwise ``1 − keep``). Built once
    per graph, it serves any number of teleports: the global rank, then each block of topics."""

    matrix_t: sp.csr_matrix
    leak: np.ndarray

    @classmethod
    def of(cls, W: sp.csr_matrix, keep: np.ndarray | None = None) -> Transition:
        n = W.shape[0]
        out = np.asarray(W.sum(axis=1)).ravel()
        scale = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
        if keep is not None:
            scale = scale * np.clip(keep, 0.0, 1.0)
        leak = np.where(out > 0, 1.0 - (np.clip(keep, 0.0, 1.0) if keep is not None else 1.0), 1.0)
        return cls((sp.diags(scale) @ W).T.tocsr(), leak)


def pagerank(
    W: sp.csr_matrix | Transition,
    damping: float = 0.85,
    personalization: np.ndarray | Teleport | None = None,
    keep: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> np.ndarray:
    """Weighted PageRank of the graph ``W`` (``W[i, j]`` = weight of edge i → j), or of a prepared
    :class:`Transition` (which already holds ``keep``).

    ``personalization`` is the teleport distribution (uniform by default;
    normalised here), dense or as a :class:`Teleport`'s entries (then ranks are
    ``n × K``). Returns a vector summing to 1. An ``n × K`` personalization
    computes K topic-sensitive PageRanks at once, one column each: every step is
    one pass over the edges for all of them (measured 1.8× faster than K separate
    runs at 1M nodes, 8M edges, 30 topics: ``bench/topic_pagerank_bench.py``).
    """
    prepared = isinstance(W, Transition)
    if prepared and keep is not None:
        raise ValueError("keep is part of the transition: give it to Transition.of")
    n = (W.matrix_t if prepared else W).shape[0]
    if n == 0:
        return np.zeros(0)
    if not 0 <= damping < 1:
        raise ValueError("damping must be in [0, 1)")
    transition = W if prepared else Transition.of(W, keep)
    transition_t, leak = transition.matrix_t, transition.leak
    # the start (the normalised teleport, its active columns kept contiguous) and the teleport's terms
    current, teleport, single = _start(personalization, n)
    k = current.shape[1]
    x = np.empty((n, k))  # each column as it converges
    # each column stops at its own convergence, so a topic's rank does not depend on which
    # other topics share its block (nor on the engine: Spark stops each topic the same way)
    active = np.arange(k)
    spare, change = np.empty_like(current), np.empty_like(current)
    with _Product(transition_t, k) as product:
        for _ in range(max_iter):
            step = teleport.step(product(current, spare), leak @ current, damping)
            np.subtract(step, current, out=change)
            still = np.abs(change, out=change).sum(axis=0) >= n * tol
            if still.all():
                current, spare = step, current
                continue
            x[:, active[~still]] = step[:, ~still]
            active = active[still]
            if len(active) == 0:
                x = x / x.sum(axis=0)
                return x[:, 0] if single else x
            # copied once per change of the active set (a strided copy of the columns costs as much as a step);
            # the full-width buffers go before the narrower ones are made
            current, teleport = np.ascontiguousarray(step[:, still]), teleport.of(still)
            step = spare = change = None
            spare, change = np.empty_like(current), np.empty_like(current)
    raise ConvergenceError(f"PageRank did not converge to {tol:g} within {max_iter} iterations")


def _start(personalization: np.ndarray | Teleport | None, n: int) -> tuple[np.ndarray, _TeleportTerms, bool]:
    """The normalised teleport as an ``n × K`` start, its terms, and whether it was one vector.

    A :class:`Teleport` is taken by its entries (:meth:`Teleport.normalised`): no dense copy of it is made
    besides the start."""
    if isinstance(personalization, Teleport):
        node, topic, u = personalization.normalised(n)
        start = np.zeros((n, personalization.topics))
        start[node, topic] = u
        terms = _TeleportTerms(start, node, topic)
        return (start if terms.sparse else start.copy()), terms, False
    if personalization is None:
        u = np.full(n, 1.0 / n)
    else:
        u = np.asarray(personalization, dtype=np.float64)
        if u.shape[0] != n or u.ndim > 2 or (u < 0).any() or (u.sum(axis=0) <= 0).any():
            raise ValueError("personalization must be non-negative, of length n, with a positive sum (per column)")
        u = u / u.sum(axis=0)
    single = u.ndim == 1
    u = u.reshape(n, -1)
    terms = _TeleportTerms(u)
    # sparse terms keep no dense teleport, so it can become the start itself
    return (u if terms.sparse else u.copy()), terms, single


class _TeleportTerms:
    """Teleport columns and one PageRank step with them: ``d · (flow + (leaked mass) · u) + (1 − d) · u``.

    Topic teleports are sparse (a topic's authors, a few per cent of the nodes): where ``u`` is zero
    the step is ``d · flow``, so the teleport terms are added at its entries only — the dense formula's
    operations at every entry, without four ``n × K`` temporaries per step."""

    def __init__(self, u: np.ndarray, rows: np.ndarray | None = None, cols: np.ndarray | None = None) -> None:
        """Terms of the dense ``u``; ``rows`` and ``cols``, when given, say where its non-zero entries may be
        (a teleport's entries: no search of ``u``)."""
        if rows is None:
            count = np.count_nonzero(u)
        else:
            nonzero = u[rows, cols] != 0
            rows, cols = rows[nonzero], cols[nonzero]
            count = len(rows)
        self.sparse = count * 4 < u.size
        if not self.sparse:
            self.u = u
            return
        if rows is None:
            rows, cols = np.nonzero(u)
        self.u, self.rows, self.cols, self.weights = None, rows, cols, u[rows, cols]

    def of(self, columns: np.ndarray) -> _TeleportTerms:
        """The terms of the ``columns`` (a boolean mask) only."""
        if not self.sparse:
            return _TeleportTerms(np.ascontiguousarray(self.u[:, columns]))
        kept = copy.copy(self)
        keep = columns[self.cols]
        kept.rows, kept.cols, kept.weights = self.rows[keep], (np.cumsum(columns) - 1)[self.cols[keep]], self.weights[keep]
        return kept

    def step(self, flow: np.ndarray, leaked: np.ndarray, damping: float) -> np.ndarray:
        if not self.sparse:
            return damping * (flow + leaked * self.u) + (1.0 - damping) * self.u
        rows, cols, weights = self.rows, self.cols, self.weights
        at = damping * (flow[rows, cols] + leaked[cols] * weights) + (1.0 - damping) * weights
        flow *= damping
        flow[rows, cols] = at
        return flow


#: Below this many multiply-adds a step, one thread multiplies (threads would cost more than they save).
PARALLEL_WORK = 1 << 22


class _Product:
    """``matrix @ x`` for a CSR ``matrix``, written into a given C-contiguous array, rows split over threads.

    ``@`` returns a fresh ``n × K`` array: at 1M nodes and 32 topics, 256 MB of new pages every step,
    which cost as much as the multiplication itself. scipy's kernel behind ``@`` (``csr_matvecs``: each
    output row is the sum over the row's entries in order, whatever the split, so the result is
    bit-identical) adds into a given array and releases the GIL, so row blocks of about equal entries
    run in parallel. Measured in bench/README.md (topic scores). A scipy without that kernel gets ``@``."""

    def __init__(self, matrix: sp.csr_matrix, columns: int, threads: int | None = None) -> None:
        self.matrix = matrix
        kernel = getattr(_sparsetools, "csr_matvecs", None)
        self.kernel = kernel if kernel is not None and sp.isspmatrix_csr(matrix) else None
        if threads is None:
            threads = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
        if matrix.nnz * columns < PARALLEL_WORK:
            threads = 1
        indptr = matrix.indptr
        cuts = np.searchsorted(indptr, np.linspace(0, matrix.nnz, threads + 1)[1:-1])
        self.blocks = [(int(lo), int(hi), indptr[lo:hi + 1] - indptr[lo])  # each block's row pointers from 0
                       for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, matrix.shape[0]]) if hi > lo]
        self.pool = ThreadPoolExecutor(len(self.blocks)) if self.kernel is not None and len(self.blocks) > 1 else None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def __call__(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        if self.kernel is None or out.shape != x.shape or not (x.flags.c_contiguous and out.flags.c_contiguous):
            return self.matrix @ x
        if self.pool is None:
            for block in self.blocks:
                self._rows(x, out, *block)
        else:
            for done in [self.pool.submit(self._rows, x, out, *block) for block in self.blocks]:
                done.result()
        return out

    def _rows(self, x: np.ndarray, out: np.ndarray, lo: int, hi: int, indptr: np.ndarray) -> None:
        m = self.matrix
        rows = out[lo:hi]
        rows.fill(0.0)  # the kernel adds to what is there
        first, last = m.indptr[lo], m.indptr[hi]
        self.kernel(hi - lo, m.shape[1], x.shape[1], indptr, m.indices[first:last], m.data[first:last],
                    x.ravel(), rows.ravel())
