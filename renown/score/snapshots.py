"""Dated score snapshots: the history every explanation and diff reads.

Layout: ``snapshots/<as-of date>/<run id>/{scores.parquet, evidence.parquet,
meta.json}``. A run is written into a hidden temporary folder and renamed into
place in one step, so a crash never leaves a half-written snapshot: readers
see the previous runs or the complete new one. Re-scoring a date adds a run;
the newest run of each date is the one shown, older runs stay for audit.
"""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterable

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from renown.errors import RenownError
from renown.events import networks_of
from renown.store import file_version, sql_text


class NoSnapshot(RenownError):
    """No score snapshot matches what was asked."""


@dataclass(frozen=True)
class Run:
    as_of: date
    path: Path

    @property
    def meta(self) -> dict:
        return orjson.loads((self.path / "meta.json").read_bytes())

    @property
    def scores(self) -> Path:
        return self.path / "scores.parquet"

    @property
    def evidence(self) -> Path:
        return self.path / "evidence.parquet"

    @property
    def topics(self) -> Path:
        return self.path / "topics.parquet"

    @property
    def has_topic_scores(self) -> bool:
        """Whether the run scored any topic (before 2026-11-26 a run without one wrote a table of
        only ``account`` and ``topic``, which answers must not query for the other columns)."""
        return self.topics.exists() and pq.read_metadata(self.topics).num_rows > 0


def root(data_dir: Path) -> Path:
    return Path(data_dir) / "snapshots"


#: Rows per row group of a file written from a stream of batches (:func:`write`).
STREAM_ROW_GROUP = 1 << 18


def write(data_dir: Path, as_of: date, tables: dict[str, pa.Table | pa.RecordBatchReader], meta: dict) -> Run:
    """Write a run: each table (or stream of batches, written as it arrives) to ``<name>.parquet``."""
    base = root(data_dir) / as_of.isoformat()
    base.mkdir(parents=True, exist_ok=True)
    for leftover in base.glob(".*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:6]
    tmp = base / f".{run_id}.tmp"
    tmp.mkdir()
    with ThreadPoolExecutor(max_workers=len(tables) or 1) as pool:  # the writer releases the GIL
        for future in [pool.submit(_write_file, table, tmp / f"{name}.parquet") for name, table in tables.items()]:
            future.result()
    (tmp / "meta.json").write_bytes(orjson.dumps({**meta, "run_id": run_id}, option=orjson.OPT_INDENT_2))
    for path in tmp.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    os.rename(tmp, base / run_id)
    return Run(as_of, base / run_id)


def _write_file(rows: pa.Table | pa.RecordBatchReader, path: Path) -> None:
    if isinstance(rows, pa.Table):
        pq.write_table(rows, path, compression="zstd")
        return
    with pq.ParquetWriter(path, rows.schema, compression="zstd") as writer:
        held, count = [], 0
        for batch in rows:
            held.append(batch)
            count += batch.num_rows
            if count >= STREAM_ROW_GROUP:
                writer.write_table(pa.Table.from_batches(held, rows.schema))
                held, count = [], 0
        if held:
            writer.write_table(pa.Table.from_batches(held, rows.schema))


def runs(data_dir: Path) -> list[Run]:
    """The newest run of every date, oldest date first."""
    found = []
    base = root(data_dir)
    if not base.exists():
        return found
    for day in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        complete = sorted(p for p in day.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "meta.json").exists())
        if complete:
            found.append(Run(date.fromisoformat(day.name), complete[-1]))
    return found


def latest(data_dir: Path, as_of: date | None = None) -> Run:
    """The run for ``as_of`` (or the newest date), raising NoSnapshot with advice."""
    available = runs(data_dir)
    if not available:
        raise NoSnapshot(f"no scores in {data_dir} yet: run `renown score` first")
    if as_of is None:
        return available[-1]
    for run in available:
        if run.as_of == as_of:
            return run
    raise NoSnapshot(f"no snapshot for {as_of}; available: {', '.join(str(r.as_of) for r in available[-5:])}")


def on_or_before(data_dir: Path, day: date) -> Run | None:
    candidates = [r for r in runs(data_dir) if r.as_of <= day]
    return candidates[-1] if candidates else None


def query(sql: str, params: list | None = None) -> list[dict]:
    con = duckdb.connect()
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    con.close()
    return rows


#: Whether readers hold whole snapshot files in memory, indexed by account: right for a server
#: answering many requests (see :func:`hold_in_memory`), wasteful for a command asking about one
#: account, which reads its rows with a query instead (10M events: 0.1 s against 6 s).
_held = False


def hold_in_memory(enabled: bool = True) -> None:
    """Keep snapshot files in memory for fast repeated look-ups (the HTTP server does)."""
    global _held
    _held = enabled


def holding() -> bool:
    """Whether readers hold whole snapshot files (see :func:`hold_in_memory`)."""
    return _held


def account_row(run: Run, account: str) -> dict | None:
    if not _held:
        rows = query("SELECT * FROM read_parquet(?) WHERE account = ?", [str(run.scores), account])
        return rows[0] if rows else None
    ranked = ranking(run)
    i = ranked.position.get(account)
    return ranked.table.slice(i, 1).to_pylist()[0] if i is not None else None


EVIDENCE_ORDER = "component, rank, weight DESC, ref"


def evidence_rows(run: Run, account: str) -> list[dict]:
    """The account's evidence, ordered by component, rank and weight."""
    if not _held:
        return query(f"SELECT * FROM read_parquet(?) WHERE account = ? ORDER BY {EVIDENCE_ORDER}",
                     [str(run.evidence), account])
    table, spans = _evidence(str(run.evidence), file_version(run.evidence))
    start, stop = spans.get(account, (0, 0))
    return table.slice(start, stop - start).to_pylist()


@dataclass(frozen=True)
class Ranking:
    """A run's scores held in memory in leaderboard order (exact score descending, then
    account), indexed by account. Snapshots never change in place (erasure replaces
    files), so a reader keeps one per file version: a server answers a profile or a
    leaderboard page without scanning Parquet per request."""

    table: pa.Table
    accounts: np.ndarray
    scores: np.ndarray
    networks: np.ndarray

    @cached_property
    def position(self) -> dict[str, int]:
        """Row of each account (built on first use: a one-page leaderboard does not need it)."""
        return {a: i for i, a in enumerate(self.accounts)}

    def mask(self, accounts: Iterable[str]) -> np.ndarray:
        """True at the rows of ``accounts`` (unknown ones are ignored)."""
        marked = np.zeros(len(self.accounts), dtype=bool)
        accounts = list(accounts)
        if accounts:
            marked[[i for i in (self.position.get(a) for a in accounts) if i is not None]] = True
        return marked


def ranking(run: Run) -> Ranking:
    return _ranking(str(run.scores), file_version(run.scores))


def _read_sorted(path: str, order: str) -> tuple[pa.Table, np.ndarray]:
    """A snapshot file in memory, sorted, with its account column as a numpy array to index by."""
    con = duckdb.connect()
    table = con.sql(f"SELECT * FROM read_parquet({sql_text(path)}) ORDER BY {order}").to_arrow_table()
    con.close()
    return table, np.asarray(table.column("account").to_numpy(zero_copy_only=False), dtype=object)


@lru_cache(maxsize=8)
def _ranking(path: str, stamp: tuple) -> Ranking:
    table, accounts = _read_sorted(path, "exact DESC, account")
    return Ranking(table, accounts, table.column("score").to_numpy(), networks_of(table.column("account")))


@lru_cache(maxsize=8)
def _evidence(path: str, stamp: tuple) -> tuple[pa.Table, dict[str, tuple[int, int]]]:
    table, accounts = _read_sorted(path, f"account, {EVIDENCE_ORDER}")
    if not len(accounts):
        return table, {}
    starts = np.concatenate([[0], np.flatnonzero(accounts[1:] != accounts[:-1]) + 1])
    stops = np.append(starts[1:], len(accounts))
    return table, {accounts[a]: (int(a), int(b)) for a, b in zip(starts, stops)}
