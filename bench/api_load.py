"""Latency of ``renown serve`` under a steady request rate, on loopback.

    python bench/api_load.py [--rate 200] [--seconds 30] [--events 1000000] [--accounts 100000]

Builds (once) the synthetic event log of ``score_bench.py`` for the given size,
scores it, starts ``renown serve`` in its own process, then sends an
open-loop stream of requests at ``--rate`` per second for ``--seconds``
(bounded: it stops by itself): half profile (``GET /v1/accounts/{id}``, a
random scored account) and half leaderboard (``GET /v1/leaderboard``, a
random page of 20 among the first 1,000, a third of them with a score
filter). Latency is measured from each request's *scheduled* send time, so a
stalled server cannot hide its queueing (no coordinated omission). Requests
are spread over 16 brand keys, each within the per-key rate limit, as 16
integrations would be. Prints a table and the machine it ran on; the load
generator shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from ingest_bench import machine  # noqa: E402
from score_bench import generate  # noqa: E402

TARGET_P99_MS = 50.0


def prepare(data_dir: Path, events: int, accounts: int) -> tuple[list[str], list[str]]:
    from renown.api.keys import create_key
    from renown.score import snapshots
    from renown.store import Store

    generate(data_dir, events, accounts)
    store = Store(data_dir)
    if not store.accounts_file.exists():  # handles, as a real ingest leaves them, so look-ups are realistic
        con = duckdb.connect()
        con.execute(f"""COPY (SELECT key, 'bench' AS network, 'user_' || split_part(key, ':', 2) AS handle,
                                     NULL::VARCHAR AS display_name, NULL::BIGINT AS followers, NULL::TIMESTAMPTZ AS created_at,
                                     NULL::BOOLEAN AS bot, '{{}}' AS profile, now() AS observed_at
                              FROM (SELECT DISTINCT actor AS key FROM read_parquet('{data_dir}/events/*/*/*.parquet')))
                        TO '{store.accounts_file}' (FORMAT parquet)""")
        con.close()
    if not (data_dir / "snapshots").exists():
        subprocess.run([sys.executable, "-m", "renown", "--data-dir", str(data_dir), "score"], check=True,
                       capture_output=True)
    return [create_key(store, f"load-{n}", "brand") for n in range(16)], [
        r["account"] for r in snapshots.query(f"SELECT account FROM read_parquet('{snapshots.latest(data_dir).scores}')")]


async def load(base: str, keys: list[str], accounts: list[str], rate: float, seconds: float, seed: int = 1) -> list[tuple]:
    rng = random.Random(seed)
    total = int(rate * seconds)
    results: list[tuple] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        async def one(i: int, scheduled: float) -> None:
            key = keys[i % len(keys)]
            if i % 2 == 0:
                kind, url = "profile", f"/v1/accounts/{rng.choice(accounts)}"
            else:
                offset = rng.randrange(0, 1000, 20)
                kind, url = "leaderboard", f"/v1/leaderboard?limit=20&offset={offset}" + ("&min_score=10" if i % 3 == 0 else "")
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            try:
                response = await client.get(url, headers={"Authorization": f"Bearer {key}"})
                status = response.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            results.append((kind, status, (time.perf_counter() - scheduled) * 1000, scheduled - start))

        start = time.perf_counter() + 0.5
        await asyncio.gather(*(one(i, start + i / rate) for i in range(total)))
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    data_dir = args.workdir / f"score-{args.events}-{args.accounts}"
    keys, accounts = prepare(data_dir, args.events, args.accounts)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(args.workdir / "api-load-server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "renown", "--data-dir", str(data_dir), "serve", "--port", str(port)],
                              stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"renown serve did not start: see {log.name}")
                time.sleep(0.2)
        asyncio.run(load(base, keys, accounts, args.rate, 3.0, seed=99))  # warm-up, not reported
        results = asyncio.run(load(base, keys, accounts, args.rate, args.seconds))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    print(f"machine: {machine()}")
    print(f"{len(accounts):,} scored accounts, {args.rate:.0f} requests/s for {args.seconds:.0f} s, "
          f"target p99 < {TARGET_P99_MS:.0f} ms with zero errors\n")
    print("| endpoint | requests | errors | p50 ms | p90 ms | p99 ms | max ms | meets target |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for kind in ("profile", "leaderboard"):
        rows = [r for r in results if r[0] == kind]
        latencies = [r[2] for r in rows]
        errors = sum(1 for r in rows if r[1] != 200)
        p99 = percentile(latencies, 99)
        print(f"| {kind} | {len(rows):,} | {errors} | {percentile(latencies, 50):.1f} | {percentile(latencies, 90):.1f} | "
              f"{p99:.1f} | {max(latencies):.1f} | {'yes' if p99 < TARGET_P99_MS and errors == 0 else 'no'} |")
    slow = sorted((r for r in results if r[2] > TARGET_P99_MS), key=lambda r: r[3])
    if slow:
        print(f"\nover {TARGET_P99_MS:.0f} ms: {len(slow)} requests, sent at seconds "
              f"{', '.join(f'{r[3]:.1f}' for r in slow[:20])}{' ...' if len(slow) > 20 else ''}")
    statuses: dict = {}
    for r in results:
        statuses[r[1]] = statuses.get(r[1], 0) + 1
    print(f"\nstatuses: {statuses}")


if __name__ == "__main__":
    main()
