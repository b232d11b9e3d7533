"""Spark's node-block PageRank alone: what one step costs, by graph size and number of teleports.

    python bench/spark_pagerank_bench.py [--nodes 1000000] [--edges 8000000] [--topics 0 50] [--master local[2]]
                                         [--blocks B] [--conf KEY=VALUE ...]

Random heavy-tailed graph (uniform reactors, power-law authors, weights 1–4, every reactor keeping 0.9 of its
rank), as in ``topic_pagerank_bench.py`` but with the authors' numbers shuffled; ``--topics 0`` is the uniform teleport (the global rank), K > 0 puts
K teleports on random author sets of n/200 nodes each. ``build`` is the graph cut into blocks and the start;
a step's time is between two of the driver's per-step reads (``renown.score.spark_pagerank``'s debug records).
The per-step cost in core-seconds per million edges is what docs/spark.md's cluster estimate uses.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.ingest_bench import machine  # noqa: E402
from renown.score.graph import Teleport  # noqa: E402
from renown.score.model import pair_strength  # noqa: E402
from renown.score.spark import SparkEngine, session  # noqa: E402
from renown.score.spark_pagerank import block_pagerank  # noqa: E402


class Steps(logging.Handler):
    """The time of each debug record of the PageRank's log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.times: list[float] = []
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.times.append(time.perf_counter())
        self.messages.append(record.getMessage())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=8_000_000)
    parser.add_argument("--topics", type=int, nargs="+", default=[0, 50])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--blocks", type=int, default=None, help="fix the number of node blocks (default: block_count)")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, m = args.nodes, args.edges
    # node numbers in no relation to degree, as renown numbers accounts (by key): the blocks are contiguous
    # ranges of numbers, so authors numbered by popularity would put most of the work in one block
    popular = np.minimum((n * rng.random(m) ** 2.5).astype(np.int64), n - 1)
    pairs = np.unique(rng.integers(0, n, m) * n + rng.permutation(n)[popular])
    src, dst = pairs // n, pairs % n
    engine = SparkEngine(session(args.master, dict(item.split("=", 1) for item in args.conf)))
    cores = engine.spark.sparkContext.defaultParallelism
    graph = engine.spark.createDataFrame(pa.table({"src": src, "dst": dst, "weight": rng.integers(1, 5, len(src)),
                                                   "keep": np.full(len(src), 0.9)}))
    graph = graph.repartition(cores).localCheckpoint(eager=True)
    steps = Steps()
    logger = logging.getLogger("renown.score.spark_pagerank")
    logger.addHandler(steps)
    logger.setLevel(logging.DEBUG)
    print(f"machine: {machine()}, Spark {args.master}\n")
    print("| nodes | edges | teleports | layout | build s | steps | median step s | total s "
          "| core-s per M edges per step |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for k in args.topics:
        teleport = None
        if k:
            size = max(10, n // 200)
            node = np.concatenate([rng.choice(n, size, replace=False) for _ in range(k)])
            teleport = Teleport(node, np.repeat(np.arange(k), size), rng.random(len(node)), k)
        steps.times.clear()
        steps.messages.clear()
        start = time.perf_counter()
        block_pagerank(engine, graph, n, teleport, strength=pair_strength, blocks=args.blocks)
        total = time.perf_counter() - start
        layout = steps.messages[0].split(": ")[-1]
        step_times = np.diff(steps.times[1:])  # the first record is the layout, the second the first step
        built = steps.times[1] - start - (float(np.median(step_times)) if len(step_times) else 0.0)
        median = float(np.median(step_times)) if len(step_times) else float("nan")
        print(f"| {n:,} | {len(src):,} | {k or 'uniform'} | {layout} | {built:.1f} | {len(steps.times) - 1} | "
              f"{median:.2f} | {total:.1f} | {median * cores / (len(src) / 1e6):.2f} |", flush=True)


if __name__ == "__main__":
    main()
