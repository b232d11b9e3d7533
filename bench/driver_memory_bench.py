"""The scoring process's memory step by step: where a run's driver holds what.

    python bench/driver_memory_bench.py [--size 10000000:1000000] [--topics 50] [--engine spark] [--master local[2]]

Scores ``score_bench``'s synthetic event log (cached under ``bench/out``) in this process and samples its
resident memory every 50 ms; prints, per step of the run (:data:`renown.score.run.STEPS`), its time, the
memory when it started and the most it reached. On Spark this is the Python driver alone (the JVM and the
Python workers are other processes): what grows with the scored accounts here is what a cluster's driver
must hold (docs/spark.md, "The score rows are made on the executors").
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ingest_bench import machine  # noqa: E402
from score_bench import dataset  # noqa: E402

from renown.score.run import EngineChoice, run_score  # noqa: E402
from renown.store import Store  # noqa: E402

MiB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10000000:1000000", help="events:accounts")
    parser.add_argument("--topics", type=int, default=50)
    parser.add_argument("--engine", default="spark", choices=("embedded", "spark"))
    parser.add_argument("--master", default=None)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    events, data_dir = dataset(args.workdir, args.size, args.topics)
    process = psutil.Process()
    marks: list[tuple[str, float, float]] = []  # (step, when it started, memory then)
    peaks: dict[str, float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            if marks:
                step = marks[-1][0]
                peaks[step] = max(peaks.get(step, 0.0), process.memory_info().rss / MiB)
            time.sleep(0.05)

    def on_step(name: str) -> None:
        marks.append((name, time.perf_counter(), process.memory_info().rss / MiB))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    info = run_score(Store(data_dir), engine=EngineChoice(args.engine, args.master), on_step=on_step)
    marks.append(("end", time.perf_counter(), process.memory_info().rss / MiB))
    time.sleep(0.1)
    done.set()
    sampler.join()
    print(f"machine: {machine()}\n")
    print(f"{events:,} events, {args.topics} topics, {info.accounts:,} accounts, {info.pairs:,} pairs, engine {args.engine}\n")
    print("| step | seconds | memory at start MiB | peak MiB |")
    print("|---|---:|---:|---:|")
    for (step, started, memory), (_, ended, _) in zip(marks, marks[1:]):
        print(f"| {step} | {ended - started:.1f} | {memory:.0f} | {max(peaks.get(step, 0.0), memory):.0f} |")


if __name__ == "__main__":
    main()
