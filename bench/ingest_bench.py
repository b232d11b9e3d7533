"""Ingest throughput: events/s end to end and peak RSS, on simulated twarc2 + Jetstream files.

    python bench/ingest_bench.py [--accounts N] [--days D] [--workdir DIR]

Generates the data once (cached in the work directory), then times
``renown ingest`` in a fresh process per run and prints a markdown table with
the machine it ran on. Peak RSS is the largest of the ingest process and its workers,
measured per run (``bench/measure.py``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from measure import measured  # noqa: E402


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) // 1024 // 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return f"{cpu}, {os.cpu_count()} cores, {mem} GiB, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def generate(folder: Path, accounts: int, days: int) -> None:
    from renown.simulate import simulate, write_dataset

    if (folder / "ground-truth.tsv").exists():
        return
    world = simulate(accounts=accounts, days=days, seed=1, networks=("twitter", "bluesky"))
    write_dataset(world, folder)
    shutil.rmtree(folder / "twitter-archive", ignore_errors=True)


def run(paths: list[Path], data_dir: Path) -> dict:
    shutil.rmtree(data_dir, ignore_errors=True)
    out, figures = measured([sys.executable, "-m", "renown", "--data-dir", str(data_dir), "ingest", "--json", *map(str, paths)])
    report = orjson.loads(out)
    events = report["loaded"] + report["duplicate"]
    return {"events": events, **figures,
            "bytes": sum(p.stat().st_size for path in paths for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=12000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    data = args.workdir / f"ingest-{args.accounts}x{args.days}"
    t = time.perf_counter()
    generate(data, args.accounts, args.days)
    print(f"data: {data} (generated/cached in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    cases = {"twarc2 (pages + flattened .gz)": [data / "twitter"], "jetstream (.zst)": [data / "bluesky"],
             "both": [data / "twitter", data / "bluesky"]}
    print(f"machine: {machine()}\n")
    print("| input | events | input MB (compressed) | wall s | events/s | CPU s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, paths in cases.items():
        r = run(paths, args.workdir / "ingest-store")
        print(f"| {name} | {r['events']:,} | {r['bytes'] / 1e6:.0f} | {r['wall']:.1f} | {r['events'] / r['wall']:,.0f} | {r['cpu']:.1f} | {r['rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
