"""Both engines on the same event log: wall time, peak memory and the Spark/embedded ratio.

    python bench/spark_bench.py [--sizes 1000000:100000 10000000:1000000] [--master local[2]]

Uses ``score_bench``'s synthetic heavy-tailed event logs (cached under ``bench/out``) and
runs ``renown score --engine E --json`` in a fresh process per engine. Peak memory is the
largest *sum* of resident memory over the process tree, sampled every 0.1 s: the Python
driver plus, for Spark, its JVM (in local mode the executors run inside the driver JVM);
"Python driver" is the renown process alone (what a cluster's driver must hold beside its JVM).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from ingest_bench import machine  # noqa: E402
from score_bench import dataset  # noqa: E402


def run(data_dir: Path, engine: str, master: str | None) -> dict:
    command = [sys.executable, "-m", "renown", "--data-dir", str(data_dir), "score", "--engine", engine, "--json"]
    if master and engine == "spark":
        command += ["--master", master]
    start = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = driver = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            driver = max(driver, process.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - start
    out = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"{engine} run failed ({process.returncode})")
    return {**orjson.loads(out), "wall": wall, "peak_mb": peak / 2**20, "driver_mb": driver / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000000:100000", "10000000:1000000"])
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    parser.add_argument("--master", default=None)
    parser.add_argument("--topics", type=int, default=0, help="topics the authors tag their posts with")
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    print("| events | engine | accounts | pairs | wall s | features s | graph+model s | topics s | evidence s "
          "| snapshot s | peak memory MB | Python driver MB | Spark/embedded wall |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        events, data_dir = dataset(args.workdir, size, args.topics)
        walls = {}
        for engine in ("embedded", "spark"):
            r = run(data_dir, engine, args.master)
            s = r["seconds"]
            walls[engine] = r["wall"]
            ratio = f"{walls['spark'] / walls['embedded']:.1f}" if engine == "spark" else ""
            print(f"| {events:,} | {engine} | {r['accounts']:,} | {r['pairs']:,} | {r['wall']:.1f} | {s['features']:.1f} | "
                  f"{s['graph+model']:.1f} | {s['topics']:.1f} | {s['evidence']:.1f} | {s['snapshot']:.1f} | "
                  f"{r['peak_mb']:.0f} | {r['driver_mb']:.0f} | {ratio} |",
                  flush=True)


if __name__ == "__main__":
    main()
