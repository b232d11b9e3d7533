"""Running an ingest: sources → format → pure mapper → store transaction.

Nothing is lost silently: every record either loads, is a duplicate, is
skipped on purpose (counted with its reason), or is quarantined with its
file, line, field and reason.

Line-based formats (JSON lines) are cut into blocks of whole lines; each block
is a *unit* mapped into its own staging files, by a pool of worker processes
when the input is large enough to pay for them. Other formats are one unit per
file. Units are numbered in input order, so duplicates resolve to the first
occurrence and quarantine entries keep file order whatever the parallelism.
"""

from __future__ import annotations

import codecs
import gc
import lzma
import multiprocessing
import os
import zipfile
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import zstandard

from renown.errors import FormatError, NothingLoaded, RecordError
from renown.ingest.formats import FORMATS, LINE_FORMATS, Format, detect
from renown.ingest.sources import (
    COMPRESSED_SUFFIXES,
    RawRecord,
    Source,
    discover,
    parse_records,
)
from renown.store import Staging, Store

#: Called with (source name, records read so far) as work progresses.
Progress = Callable[[str, int], None]

_SAMPLES = 5
_UNREADABLE = (OSError, EOFError, zlib.error, zstandard.ZstdError, lzma.LZMAError, zipfile.BadZipFile, UnicodeDecodeError)
_BLOCK_BYTES = 8 << 20
#: What a mapper raises when a record's value has a type it did not check (tests/test_ingest_mangled.py
#: hunts these down; the pipeline still quarantines one rather than stop).
_MAPPER_SLIPS = (TypeError, AttributeError, KeyError, IndexError, ValueError, OverflowError)
#: Line-format input (bytes on disk) from which worker processes pay for their start-up.
PARALLEL_MIN_BYTES = 48 << 20


@dataclass
class FileReport:
    name: str
    format: str | None
    records: int = 0
    quarantined: int = 0
    skipped: int = 0
    note: str | None = None


@dataclass
class IngestReport:
    ingest_id: str
    files: list[FileReport] = field(default_factory=list)
    loaded: Counter = field(default_factory=Counter)
    duplicate: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    quarantined: int = 0
    samples: list[dict] = field(default_factory=list)
    accounts: int = 0
    quarantine_file: str | None = None
    deleted: int = 0

    @property
    def total_loaded(self) -> int:
        return sum(self.loaded.values())

    def as_dict(self) -> dict:
        return {
            "ingest_id": self.ingest_id,
            "loaded": sum(self.loaded.values()),
            "duplicate": sum(self.duplicate.values()),
            "quarantined": self.quarantined,
            "skipped": sum(self.skipped.values()),
            "deleted": self.deleted,
            "by_kind": {k: {"loaded": self.loaded.get(k, 0), "duplicate": self.duplicate.get(k, 0)}
                        for k in sorted(set(self.loaded) | set(self.duplicate))},
            "skipped_by_reason": dict(self.skipped),
            "accounts": self.accounts,
            "quarantine_file": self.quarantine_file,
            "samples": self.samples,
            "files": [vars(f) for f in self.files],
        }


@dataclass
class UnitResult:
    """What mapping one unit produced, apart from the rows it staged."""

    records: int = 0
    quarantined: int = 0
    skipped: Counter = field(default_factory=Counter)
    samples: list[dict] = field(default_factory=list)


def map_records(records: Iterable[RawRecord], fmt: Format, context: dict, source_name: str, staging: Staging) -> UnitResult:
    """Map parsed records with ``fmt`` into ``staging``: the heart of every ingest."""
    result = UnitResult()

    def reject(record: RawRecord, field_name: str, reason: str, where: str) -> None:
        entry = {"source_file": where, "line": record.line, "field": field_name, "reason": reason,
                 "raw": record.raw[:2000]}
        if record.item is not None:
            entry["item"] = record.item
        staging.reject(entry)
        result.quarantined += 1
        if len(result.samples) < _SAMPLES:
            result.samples.append(entry)

    for record in records:
        result.records += 1
        where = record.source or source_name
        if record.error is not None:
            reject(record, "record", record.error, where)
            continue
        try:
            mapped_items = fmt.map_record(record.value, context)
        except RecordError as exc:
            reject(record, exc.field, exc.reason, where)
            continue
        except _MAPPER_SLIPS as exc:  # a shape no mapper test foresaw: this record is lost, not the load
            reject(record, "record", f"unreadable record ({type(exc).__name__}: {exc})", where)
            continue
        position = record.position
        raw = (where, position, record.raw)
        for mapped in mapped_items:
            if mapped.error is not None:
                err = mapped.error
                prefix = f"{mapped.where}." if mapped.where else ""
                reject(record, prefix + getattr(err, "field", "record"), getattr(err, "reason", str(err)), where)
                continue
            if mapped.skipped:
                result.skipped[mapped.skipped] += 1
            for event in mapped.events:
                event.source_file = where
                event.source_line = position
            staging.add(mapped.events, mapped.accounts, raw if mapped.events else None)
            if mapped.events:
                raw = None  # one raw copy per record
    return result


def map_block(fmt_name: str, source_name: str, block: bytes, first_line: int, directory: str, unit: int) -> UnitResult:
    """Map one block of whole JSON lines (runs in a worker process)."""
    staging = Staging(Path(directory), _unit_prefix(unit), unit << 32)
    was_enabled = gc.isenabled()
    gc.disable()  # the rows are acyclic; collection passes over them only cost time
    try:
        fmt = FORMATS[fmt_name]
        result = map_records(parse_records(_block_lines(block, first_line), fmt.parse_line), fmt, {}, source_name, staging)
        staging.close()
    finally:
        if was_enabled:
            gc.enable()
    return result


def _block_lines(block: bytes, first_line: int) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(block.split(b"\n"), start=first_line):
        line = line.rstrip(b"\r")
        if line.strip():
            yield number, line


def _unit_prefix(unit: int) -> str:
    return f"u{unit:07d}"


def _blocks(source: Source) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines with the number of their first line (without a leading byte-order mark)."""
    line = 1
    carry = b""
    with source.open_binary() as stream:
        while True:
            chunk = stream.read(_BLOCK_BYTES)
            if not chunk:
                break
            chunk = carry + (chunk.removeprefix(codecs.BOM_UTF8) if line == 1 and not carry else chunk)
            cut = chunk.rfind(b"\n")
            if cut < 0:
                carry = chunk
                continue
            block, carry = chunk[: cut + 1], chunk[cut + 1 :]
            yield block, line
            line += block.count(b"\n")
    if carry:
        yield carry, line


class _Units:
    """Runs units inline or on a process pool, in order, with bounded look-ahead."""

    def __init__(self, directory: Path, workers: int) -> None:
        self.directory, self.workers = directory, workers
        self.next_unit = 0
        self._pool: ProcessPoolExecutor | None = None

    def take(self) -> int:
        self.next_unit += 1
        return self.next_unit

    def run_blocks(self, fmt: Format, source: Source, parallel: bool) -> Iterator[UnitResult]:
        pending: deque[Future] = deque()
        for block, first_line in _blocks(source):
            args = (fmt.name, source.name, block, first_line, str(self.directory), self.take())
            if not parallel:
                yield map_block(*args)
                continue
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            pending.append(self._pool.submit(map_block, *args))
            if len(pending) > 2 * self.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def ingest(
    store: Store,
    paths: list[Path],
    format_name: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    names: dict[str, str] | None = None,
) -> IngestReport:
    """Load ``paths`` into ``store`` in one atomic transaction.

    ``workers`` caps the mapping processes (default: one per core); small
    inputs are mapped in this process whatever it says. ``names`` gives input
    paths the names provenance records instead (an upload's original file name
    rather than the temporary copy it was read from).
    """
    if format_name is not None and format_name not in FORMATS:
        raise FormatError(f"unknown format {format_name!r}; choose one of: {', '.join(FORMATS)}")
    discovered = discover(paths)
    sizes = [_size(source) for source in discovered]  # from the files, before any renaming
    sources = [_renamed(source, names) for source in discovered] if names else discovered
    workers = max(1, workers or os.cpu_count() or 1)
    with store.lock(), store.writer() as txn:
        report = IngestReport(txn.ingest_id)
        units = _Units(txn.dir, workers)
        plan = []
        try:
            for source, size in zip(sources, sizes):
                file_report = FileReport(source.name, None)
                report.files.append(file_report)
                try:
                    fmt = FORMATS[format_name] if format_name else detect(source)
                except FormatError as exc:
                    if format_name is None and len(sources) == 1:
                        raise
                    fmt, file_report.note = None, str(exc)
                    _reject_file(txn, units, report, file_report, None, "format", str(exc))
                except _UNREADABLE as exc:
                    fmt, file_report.note = None, f"unreadable: {exc}"
                    _reject_file(txn, units, report, file_report, None, "file", file_report.note)
                if fmt is not None:
                    file_report.format = fmt.name
                elif file_report.note is None:
                    file_report.note = "empty file"
                plan.append((source, fmt, file_report, size))
            line_bytes = sum(size for _, f, _, size in plan if f is not None and f.name in LINE_FORMATS)
            parallel = workers > 1 and line_bytes >= PARALLEL_MIN_BYTES
            for source, fmt, file_report, _ in plan:
                if fmt is not None:
                    _load_source(source, fmt, units, parallel, txn, file_report, report, progress)
        finally:
            units.close()
        txn.quarantined = sum(f.quarantined for f in report.files)
        if strict and txn.quarantined:
            raise NothingLoaded(f"--strict: {txn.quarantined} record(s) rejected, nothing was stored; first: {describe(report.samples[0])}")
        result = txn.commit({"paths": [_display(str(p), names or {}) for p in paths], "format": format_name,
                             "files": [vars(f) for f in report.files], "skipped": dict(report.skipped)})
    report.loaded, report.duplicate, report.accounts = result.loaded, result.duplicate, result.accounts
    report.deleted = result.deleted
    report.quarantined = result.quarantined
    if report.quarantined:
        report.quarantine_file = str(store.quarantine_dir / f"{report.ingest_id}.jsonl")
    if not report.total_loaded and not sum(report.duplicate.values()) and not report.skipped:
        if report.quarantined:
            raise NothingLoaded(f"nothing could be loaded: {report.quarantined} record(s) quarantined in "
                                f"{report.quarantine_file}; first: {describe(report.samples[0])}")
    return report


def _display(name: str, names: dict[str, str]) -> str:
    """``name`` with its input path replaced by the name given for it (``path!member`` and
    ``path/inner`` keep their tail)."""
    for path in sorted(names, key=len, reverse=True):  # the most specific path first
        if name == path or name.startswith((path + "!", path + "/")):
            return names[path] + name[len(path):]
    return name


def _renamed(source: Source, names: dict[str, str]) -> Source:
    return replace(source, name=_display(source.name, names),
                   members=tuple((_display(member, names), opener) for member, opener in source.members))


def _size(source: Source) -> int:
    """Approximate uncompressed bytes (JSON lines compress about tenfold)."""
    try:
        size = os.path.getsize(source.name)
    except OSError:
        return 0
    return size * 8 if source.name.lower().endswith(COMPRESSED_SUFFIXES) else size


def describe(entry: dict) -> str:
    """A quarantine entry in one line: its file, line and (in a JSON array or repository) item, field, reason."""
    where = entry["source_file"] + "".join(f", {key} {entry[key]}" for key in ("line", "item") if entry.get(key))
    return f"{where}, field {entry['field']}: {entry['reason']}"


def _merge(report: IngestReport, file_report: FileReport, result: UnitResult) -> None:
    file_report.records += result.records
    file_report.quarantined += result.quarantined
    file_report.skipped += sum(result.skipped.values())
    report.skipped.update(result.skipped)
    report.samples.extend(result.samples[: _SAMPLES - len(report.samples)])


def _reject_file(txn, units: _Units, report: IngestReport, file_report: FileReport, line: int | None, field_name: str, reason: str) -> None:
    staging = txn.staging(_unit_prefix(units.take()))
    entry = {"source_file": file_report.name, "line": line, "field": field_name, "reason": reason, "raw": ""}
    staging.reject(entry)
    staging.close()
    _merge(report, file_report, UnitResult(quarantined=1, samples=[entry]))


def _load_source(source: Source, fmt: Format, units: _Units, parallel: bool, txn, file_report: FileReport,
                 report: IngestReport, progress: Progress | None) -> None:
    try:
        if fmt.name in LINE_FORMATS:
            for result in units.run_blocks(fmt, source, parallel):
                _merge(report, file_report, result)
                if progress:
                    progress(source.name, file_report.records)
            return
        records, context = fmt.read(source)
        unit = units.take()
        staging = txn.staging(_unit_prefix(unit), unit << 32)
        _merge(report, file_report, map_records(records, fmt, context, source.name, staging))
        staging.close()
        if progress:
            progress(source.name, file_report.records)
    except FormatError as exc:
        file_report.note = str(exc)
        if len(report.files) == 1 and file_report.records == 0:
            raise
        _reject_file(txn, units, report, file_report, None, "format", str(exc))
    except _UNREADABLE as exc:
        file_report.note = f"unreadable after {file_report.records:,} records: {exc}"
        _reject_file(txn, units, report, file_report, None, "file", file_report.note)
