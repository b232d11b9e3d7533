"""Choosing perk recipients on large populations: spread graph + IMM.

    python bench/perks_bench.py [--sizes 1000000:100000 10000000:1000000] [--budget 50] [--epsilon 0.3]

Uses the scored synthetic logs of ``score_bench.py`` (run that first, or this
generates and scores them). For each size: builds the spread graph over the
scoring window (DuckDB), runs IMM for ``--budget`` seeds over all accounts,
and estimates the chosen set's and the top-N-by-score set's reach on a fresh
RR sample. Prints wall time per stage and peak RSS, with the machine.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ingest_bench import machine  # noqa: E402
from score_bench import generate  # noqa: E402


def main() -> None:
    from renown.score import snapshots
    from renown.score.run import end_of_day
    from renown.spread import estimate, imm, rr_sets, spread_graph
    from renown.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000000:100000", "10000000:1000000"])
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--epsilon", type=float, default=0.3)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    print("| events | accounts in graph | edges | graph s | IMM s | RR sets | estimate s | chosen reach | top-N reach | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        events, accounts = (int(x) for x in size.split(":"))
        data_dir = args.workdir / f"score-{events}-{accounts}"
        generate(data_dir, events, accounts)
        if not (data_dir / "snapshots").exists():
            subprocess.run([sys.executable, "-m", "renown", "--data-dir", str(data_dir), "score"], check=True, capture_output=True)
        run = snapshots.latest(data_dir)
        ranked = snapshots.ranking(run)
        genuineness = dict(zip(ranked.accounts, ranked.table.column("genuineness").to_pylist()))
        end = end_of_day(run.as_of)
        tick = time.perf_counter()
        con = Store(data_dir).connect()
        graph = spread_graph(con, end - timedelta(days=90), end, genuineness)
        con.close()
        graph_s = time.perf_counter() - tick
        tick = time.perf_counter()
        seeds, used = imm(graph, args.budget, epsilon=args.epsilon, seed=1)
        imm_s = time.perf_counter() - tick
        tick = time.perf_counter()
        index = {k: i for i, k in enumerate(graph.keys)}
        top = np.array([index[a] for a in ranked.accounts[:args.budget] if a in index])
        fresh = rr_sets(graph, 200_000, np.random.default_rng(2))
        chosen, by_score = estimate(fresh, graph.n, seeds), estimate(fresh, graph.n, top)
        estimate_s = time.perf_counter() - tick
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"| {events:,} | {graph.n:,} | {len(graph.src):,} | {graph_s:.1f} | {imm_s:.1f} | {used:,} | {estimate_s:.1f} | "
              f"{chosen.people:,.0f} ± {(chosen.high - chosen.low) / 2:,.0f} | {by_score.people:,.0f} ± {(by_score.high - by_score.low) / 2:,.0f} | "
              f"{rss:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
