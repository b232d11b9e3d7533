"""PageRank on Spark in node blocks: the embedded iteration, run where the graph is.

:func:`renown.score.graph.pagerank`'s step, for K teleports at once::

    x ← d · (Pᵀ x + leaked · u) + (1 − d) · u,    leaked = Σᵢ leakᵢ · xᵢ

The nodes are cut into B contiguous blocks. The edges become B × B sparse matrices ``P_ij`` (reactors of block
``i`` → authors of block ``j``, stored as ``Pᵀ_ij`` in CSR over the authors it reaches), the ranks one dense
``n_i × K`` array per block. A step is two grouped maps on the executors:

1. *flow*: each block ``i`` of ranks meets its row of matrices and sends ``Pᵀ_ij xᵢ`` — only the rows it
   reaches — to block ``j``;
2. *update*: each block ``j`` adds what it received (in ``i`` order, so a run does not depend on task
   scheduling), applies the teleport terms at its entries (as :class:`~renown.score.graph._TeleportTerms`
   does), and reports per topic its L1 change, its leaked mass ``leakⱼ · xⱼ`` and its column sum.

The driver adds those B × K numbers (the leaked mass enters the next step, the change decides
convergence: each topic stops when its change is below ``n · tol``, as on the embedded engine) and never
holds the ranks: only a finished topic's values at its teleport's entries come back, or — for the
uniform teleport — the n ranks the model asks for.

Why blocks, not one row per (node, topic): a step then moves at most ``min(E, B · n) · K`` numbers as
packed arrays through numpy's sparse product, where rows moved ``E · K`` Spark rows through a join and
an aggregation (measured in ``bench/README.md``: Spark's topic step). The sums per author are those of
the embedded engine up to the order blocks are added in, so ranks agree to rounding and, once quantised
(:data:`~renown.score.model.RANK_QUANTUM`), almost always exactly.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from renown.score.graph import ConvergenceError, Teleport

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from renown.score.spark import SparkEngine

#: About how many bytes one block of ranks (``n_i × K`` doubles) or of matrices (≈ 16 bytes an edge) may take. Each
#: travels as one row, and the JVM grows a row's buffer by doubling: at 10M events and 50 topics, blocks of
#: 100 MB ran a 4 GB driver out of heap (local mode), so blocks stay small and grow in number instead.
BLOCK_BYTES = 32 << 20

#: Every frame of the iteration: rows of block ``i`` of one ``kind``, ``j`` the other block a matrix or a flow
#: is about, ``payload`` the arrays (pickled), ``numbers`` a state's per-topic numbers (pickled, small: what the
#: driver reads). One shape, so a step's two inputs are one union grouped by block: Spark estimates a union's
#: size as a sum, where a cogroup's estimate is a product — squared every step through the checkpoints'
#: kept statistics, until multiplying those numbers took minutes (measured on a 300-node graph: 0.3 s at step 11,
#: 169 s at step 23).
_ROWS = "i INT, kind INT, j INT, payload BINARY, numbers BINARY"
_MATRIX, _LEAK, _ENTRIES, _STATE, _FLOW = range(5)


def block_count(n: int, topics: int, edges: int, partitions: int) -> int:
    """Blocks for ``n`` nodes, ``topics`` teleports and ``edges``: one while the ranks and the matrices fit in
    :data:`BLOCK_BYTES` (a step is then one grouped map — the block's flow is its own — and the result the
    embedded engine's, bit for bit); beyond, at least one per partition (every core works) and as many as keep
    each block within it; never more than the nodes."""
    needed = max(-(-n * topics * 8 // BLOCK_BYTES), -(-edges * 16 // BLOCK_BYTES))
    return 1 if needed <= 1 else max(1, min(n, max(partitions, needed)))


def block_pagerank(engine: SparkEngine, graph: DataFrame, n: int, teleport: Teleport | None = None,
                   strength: Callable[[np.ndarray], np.ndarray] | None = None, damping: float = 0.85,
                   tol: float = 1e-10, max_iter: int = 200, blocks: int | None = None) -> np.ndarray:
    """PageRank of the graph ``graph`` (src, dst, weight, keep): edge src → dst of weight ``strength(weight)``
    (the weight itself without ``strength``), each node passing on the share ``keep`` (the same on each of its
    rows) of its rank — :class:`~renown.score.graph.Transition`'s terms, computed as it computes them.

    Returns every node's rank for the uniform teleport (``teleport`` None), or each topic's rank at its
    teleport's entries, in their order. :class:`ConvergenceError` after ``max_iter`` steps."""
    if n == 0:
        return np.zeros(0)
    if teleport is not None:
        teleport.check(n)
    with _planned_once(engine.spark):
        return _iterate(engine, graph, n, teleport, strength, damping, tol, max_iter, blocks)


@contextmanager
def _planned_once(spark):
    """Adaptive query execution off for the iteration: it re-plans each of the two stages of every step, which
    on small graphs cost a third of a step (measured: 0.63 → 0.41 s per step on 300 nodes), and the blocks
    leave it nothing to balance."""
    before = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    try:
        yield
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", before)


def _iterate(engine: SparkEngine, graph: DataFrame, n: int, teleport: Teleport | None,
             strength: Callable[[np.ndarray], np.ndarray] | None, damping: float, tol: float, max_iter: int,
             blocks: int | None) -> np.ndarray:
    from pyspark.sql import functions as F

    spark = engine.spark
    single = teleport is None
    topics = 1 if single else teleport.topics
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    count = blocks or block_count(n, topics, graph.count(), partitions)
    size = -(-n // count)
    built = (graph.select(F.expr(f"CAST(src DIV {size} AS INT)").alias("i"), "src", "dst", "weight", "keep")
             .repartition("i").mapInArrow(_matrices(size, strength), _ROWS).localCheckpoint(eager=True))
    matrices = built.filter(f"kind = {_MATRIX}")
    state = _initial_state(engine, built.filter(f"kind = {_LEAK}"), n, size, teleport)
    active = np.arange(topics)  # the topics still iterating: the columns of every block, in this order
    if not single:  # the entries by (topic, node), to place what comes back
        result = np.zeros(len(teleport.node))
        keys = np.asarray(teleport.topic, dtype=np.int64) * n + np.asarray(teleport.node, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
    numbers = _numbers(state, topics)
    try:
        for _ in range(max_iter):
            flow, update = _flow(len(active)), _update(n, damping, numbers["leaked"], active, single)
            if count == 1:  # the block's flow is its own: one grouped map
                new = matrices.unionByName(state).groupBy("i").applyInArrow(_in_one(flow, update), _ROWS)
            else:
                flows = matrices.unionByName(state).groupBy("i").applyInArrow(flow, _ROWS)
                new = flows.unionByName(state).groupBy("i").applyInArrow(update, _ROWS)
            new = new.localCheckpoint(eager=True)
            state.unpersist()
            state = new
            numbers = _numbers(state, len(active))
            still = numbers["change"] >= n * tol
            if still.all():
                continue
            if single:
                return _normalised(state, n)
            found, total = _finished(state, size, active, ~still, pairwise=topics == 1)
            at = order[np.searchsorted(keys, found["topic"] * n + found["node"])]
            result[at] = found["x"] / total[found["topic"]]
            if not still.any():
                return result
            state = _narrowed(state, still)  # the finished columns leave every block
            active = active[still]
            numbers = _numbers(state, len(active))
    finally:
        state.unpersist()
        built.unpersist()
    raise ConvergenceError(f"PageRank did not converge to {tol:g} within {max_iter} iterations")


def _pack(arrays: dict[str, np.ndarray]) -> bytes:
    return pickle.dumps({name: np.ascontiguousarray(a) for name, a in arrays.items()}, protocol=5)


def _unpack(value) -> dict[str, np.ndarray]:
    """A payload or numbers cell (an Arrow scalar, or bytes) as its arrays."""
    return pickle.loads(value.as_buffer() if isinstance(value, pa.Scalar) else value)


def _rows(rows: list[tuple[int, int, int, dict, dict | None]]) -> pa.Table:
    """Rows (i, kind, j, payload arrays, numbers arrays or None) as a table of :data:`_ROWS`."""
    return pa.table({"i": pa.array([r[0] for r in rows], pa.int32()), "kind": pa.array([r[1] for r in rows], pa.int32()),
                     "j": pa.array([r[2] for r in rows], pa.int32()),
                     "payload": pa.array([_pack(r[3]) for r in rows], pa.binary()),
                     "numbers": pa.array([_pack(r[4]) if r[4] is not None else None for r in rows], pa.binary())})


def _of_kind(table: pa.Table, kind: int) -> list[tuple[int, int, dict[str, np.ndarray]]]:
    """The rows of one kind in a group: (i, j, arrays), in the order of ``j``."""
    kinds, js = table.column("kind").to_numpy(), table.column("j").to_numpy()
    found = [(int(table.column("i")[k].as_py()), int(js[k]), _unpack(table.column("payload")[k]))
             for k in np.flatnonzero(kinds == kind)]
    return sorted(found, key=lambda row: row[1])


def _matrices(size: int, strength: Callable[[np.ndarray], np.ndarray] | None):
    """``mapInArrow`` over the graph (i, src, dst, weight, keep), each partition holding whole blocks ``i``: each
    (i, j) block as ``Pᵀ_ij`` in CSR over the authors it reaches (``rows``, local to block j; ``indices``, local
    to block i, ascending within a row), and per block ``i`` what its nodes that have edges leak. The terms are
    :meth:`Transition.of <renown.score.graph.Transition.of>`'s, in its order: a node's out-weight added up over
    its edges by author (as scipy adds a CSR row), scaled by ``keep``."""
    def build(batches):
        batches = list(batches)
        table = pa.Table.from_batches(batches) if batches else None
        if table is None or table.num_rows == 0:
            return
        src, dst = table.column("src").to_numpy(), table.column("dst").to_numpy()
        weight = table.column("weight").to_numpy().astype(np.float64)
        w = strength(weight) if strength is not None else weight
        keep = np.clip(table.column("keep").to_numpy().astype(np.float64), 0.0, 1.0)
        by_node = np.lexsort((dst, src))
        nodes, starts = np.unique(src[by_node], return_index=True)
        out = np.add.reduceat(w[by_node], starts)
        scale = np.divide(1.0, out, out=np.zeros(len(out)), where=out > 0) * keep[by_node][starts]
        leak = np.where(out > 0, 1.0 - keep[by_node][starts], 1.0)
        p = scale[np.searchsorted(nodes, src)] * w
        i, j = src // size, dst // size
        order = np.lexsort((src, dst, j, i))
        src, dst, p, i, j = src[order], dst[order], p[order], i[order], j[order]
        cuts = np.r_[0, np.flatnonzero((np.diff(i) != 0) | (np.diff(j) != 0)) + 1, len(src)]
        rows = []
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            bi, bj = int(i[lo]), int(j[lo])
            reached, first = np.unique(dst[lo:hi] - bj * size, return_index=True)
            rows.append((bi, _MATRIX, bj, {"rows": reached.astype(np.int32), "indptr": np.r_[first, hi - lo].astype(np.int64),
                                           "indices": (src[lo:hi] - bi * size).astype(np.int32), "data": p[lo:hi]}, None))
        for bi in np.unique(nodes // size):
            mine = nodes // size == bi
            rows.append((int(bi), _LEAK, -1, {"rows": (nodes[mine] - bi * size).astype(np.int32), "leak": leak[mine]}, None))
        yield from _rows(rows).to_batches()
    return build


def _state(i: int, x: np.ndarray, leak: np.ndarray, entries: dict[str, np.ndarray], change: np.ndarray) -> tuple:
    """A block's state row: its ranks, what it leaks, its teleport entries, and the numbers the driver adds up."""
    return (i, _STATE, -1, {"x": x, "leak": leak, **entries}, {"change": change, "leaked": leak @ x})


def _initial_state(engine: SparkEngine, leaks: DataFrame, n: int, size: int, teleport: Teleport | None) -> DataFrame:
    """Each block's start (the normalised teleport), leak and teleport entries, kept on the executors."""
    topics = 1 if teleport is None else teleport.topics
    if teleport is None:
        node, topic, u = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    else:
        node, topic, u = teleport.normalised(n)
    count = -(-n // size)
    block = node // size
    entries = engine.spark.createDataFrame(_rows([  # every block has a row, with or without entries
        (b, _ENTRIES, -1, {"rows": (node[block == b] - b * size).astype(np.int32),
                           "topics": topic[block == b].astype(np.int32), "weights": u[block == b]}, None)
        for b in range(count)]))
    uniform = teleport is None

    def start(table: pa.Table) -> pa.Table:
        (i, _, entries), = _of_kind(table, _ENTRIES)
        leak = np.ones(min(size, n - i * size))
        for _, _, part in _of_kind(table, _LEAK):
            leak[part["rows"]] = part["leak"]
        if uniform:
            x = np.full((len(leak), 1), 1.0 / n)
        else:
            x = np.zeros((len(leak), topics))
            x[entries["rows"], entries["topics"]] = entries["weights"]
        return _rows([_state(i, x, leak, entries, np.zeros(topics))])

    return leaks.unionByName(entries).groupBy("i").applyInArrow(start, _ROWS).localCheckpoint(eager=True)


def _block_state(table: pa.Table, columns: int) -> tuple[int, dict[str, np.ndarray], np.ndarray] | None:
    """A group's state row: its block, its arrays and its ranks as rows of ``columns``; None without one."""
    states = _of_kind(table, _STATE)
    if not states:
        return None
    (i, _, state), = states
    return i, state, state["x"].reshape(-1, columns)


def _flow(columns: int):
    """The flow step's grouped map (block ``i``'s matrices and state): ``Pᵀ_ij xᵢ`` for each block ``j`` reached,
    as a row of block ``j``."""
    def flow(table: pa.Table) -> pa.Table:
        import scipy.sparse as sp

        found = _block_state(table, columns)
        if found is None:
            return _rows([])
        i, state, x = found
        out = []
        for _, j, m in _of_kind(table, _MATRIX):
            matrix = sp.csr_matrix((m["data"], m["indices"], m["indptr"]), shape=(len(m["indptr"]) - 1, len(x)))
            out.append((j, _FLOW, i, {"rows": m["rows"], "flow": matrix @ x}, None))
        return _rows(out)
    return flow


def _update(n: int, damping: float, leaked: np.ndarray, active: np.ndarray, uniform: bool):
    """The update step's grouped map (what block ``j`` received, its state): the new ranks and their numbers."""
    columns = len(active)

    def update(table: pa.Table) -> pa.Table:
        found = _block_state(table, columns)
        if found is None:
            return _rows([])
        i, state, old = found
        flow = np.zeros_like(old)
        for _, _, part in _of_kind(table, _FLOW):  # in block order: a run repeats exactly
            flow[part["rows"]] += part["flow"]
        entries = {name: state[name] for name in ("rows", "topics", "weights")}
        if uniform:
            u = np.full((len(old), 1), 1.0 / n)
            new = damping * (flow + leaked * u) + (1.0 - damping) * u
        else:  # the teleport terms at the entries of the active topics (graph._TeleportTerms, sparse)
            column_of = np.full(int(active.max()) + 1, -1)
            column_of[active] = np.arange(columns)
            topics = entries["topics"]
            on = topics < len(column_of)
            on[on] = column_of[topics[on]] >= 0
            r, c, w = entries["rows"][on], column_of[topics[on]], entries["weights"][on]
            at = damping * (flow[r, c] + leaked[c] * w) + (1.0 - damping) * w
            flow *= damping
            flow[r, c] = at
            new = flow
        return _rows([_state(i, new, state["leak"], entries, np.abs(new - old).sum(axis=0))])
    return update


def _in_one(flow, update):
    """Both maps of a step on one group: a single block's matrices and state."""
    def step(table: pa.Table) -> pa.Table:
        state = table.filter(pc.equal(table.column("kind"), _STATE))
        return update(pa.concat_tables([flow(table).cast(state.schema), state]))
    return step


def _numbers(state: DataFrame, columns: int) -> dict[str, np.ndarray]:
    """The per-topic numbers of every block (``change``, ``leaked``), each added up in block order."""
    table = state.select("i", "numbers").toArrow().sort_by("i")
    numbers = {name: np.zeros(columns) for name in ("change", "leaked")}
    for value in table.column("numbers"):
        for name, part in _unpack(value).items():
            numbers[name] += part
    return numbers


def _normalised(state: DataFrame, n: int) -> np.ndarray:
    """The uniform teleport's ranks, every node's, divided by their sum as the embedded engine divides them."""
    table = state.select("i", "payload").toArrow().sort_by("i")
    x = np.concatenate([_unpack(value)["x"].ravel() for value in table.column("payload")]).reshape(n, 1)
    return (x / x.sum(axis=0))[:, 0]


def _finished(state: DataFrame, size: int, active: np.ndarray, done: np.ndarray, pairwise: bool
              ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The ranks of the ``done`` topics (a mask over ``active``, the blocks' columns) at their entries, and each
    topic's total by topic number: within a block added as the embedded engine adds a column of ranks — pairwise
    when it ranks one topic (an ``n × 1`` sum), one row after another when several — then block after block."""
    columns = len(active)
    finished = active[done]

    def pick(batches):
        for batch in batches:
            for i, _, block in _of_kind(pa.Table.from_batches([batch]), _STATE):
                x = block["x"].reshape(-1, columns)
                mine = np.isin(block["topics"], finished)
                rows, topics = block["rows"][mine], block["topics"][mine]
                sums = [x[:, c].sum() if pairwise else np.cumsum(x[:, c])[-1] if len(x) else 0.0
                        for c in np.flatnonzero(done)]
                yield pa.record_batch([pa.array(np.r_[topics, finished].astype(np.int64)),
                                       pa.array(np.r_[i * size + rows.astype(np.int64), np.full(len(finished), -1 - i)]),
                                       pa.array(np.r_[x[rows, np.searchsorted(active, topics)], sums])],
                                      names=["topic", "node", "x"])

    found = state.mapInArrow(pick, "topic BIGINT, node BIGINT, x DOUBLE").toArrow()
    node = found.column("node").to_numpy()
    totals = found.filter(pa.array(node < 0)).sort_by([("node", "descending")])  # block 0 first
    total = np.zeros(int(active.max()) + 1)
    for topic, value in zip(totals.column("topic").to_numpy(), totals.column("x").to_numpy()):
        total[topic] += value
    entries = found.filter(pa.array(node >= 0))
    return {name: entries.column(name).to_numpy() for name in ("topic", "node", "x")}, total


def _narrowed(state: DataFrame, still: np.ndarray) -> DataFrame:
    """The state without the finished columns."""
    columns = len(still)

    def narrow(batches):
        for batch in batches:
            table = pa.Table.from_batches([batch])
            numbers = {int(table.column("i")[k].as_py()): _unpack(table.column("numbers")[k]) for k in range(table.num_rows)}
            rows = [_state(i, block["x"].reshape(-1, columns)[:, still], block["leak"],
                           {name: block[name] for name in ("rows", "topics", "weights")}, numbers[i]["change"][still])
                    for i, _, block in _of_kind(table, _STATE)]
            yield from _rows(rows).to_batches()

    narrowed = state.mapInArrow(narrow, _ROWS).localCheckpoint(eager=True)
    state.unpersist()
    return narrowed
