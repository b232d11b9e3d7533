"""Running an ingest: sources → format → pure mapper → store transaction.

Nothing is lost silently: every record either loads, is a duplicate, is
skipped on purpose (counted with its reason), or is quarantined with its
file, line, field and reason.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from renown.errors import FormatError, NothingLoaded, RecordError
from renown.ingest.formats import FORMATS, Format, detect
from renown.ingest.sources import Source, discover
from renown.store import Store

#: Called with (source name, records read so far) as work progresses.
Progress = Callable[[str, int], None]


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
            "by_kind": {k: {"loaded": self.loaded.get(k, 0), "duplicate": self.duplicate.get(k, 0)}
                        for k in sorted(set(self.loaded) | set(self.duplicate))},
            "skipped_by_reason": dict(self.skipped),
            "accounts": self.accounts,
            "quarantine_file": self.quarantine_file,
            "samples": self.samples,
            "files": [vars(f) for f in self.files],
        }


_SAMPLES = 5
_UNREADABLE = (OSError, EOFError, zlib.error, zstandard.ZstdError, UnicodeDecodeError)


def ingest(
    store: Store,
    paths: list[Path],
    format_name: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Load ``paths`` into ``store`` in one atomic transaction."""
    if format_name is not None and format_name not in FORMATS:
        raise FormatError(f"unknown format {format_name!r}; choose one of: {', '.join(FORMATS)}")
    sources = discover(paths)
    with store.lock(), store.writer() as txn:
        report = IngestReport(txn.ingest_id)

        def reject(source: Source, line: int | None, field_name: str, reason: str, raw: str = "") -> None:
            entry = {"source_file": source.name, "line": line, "field": field_name, "reason": reason, "raw": raw[:2000]}
            txn.reject(entry)
            if len(report.samples) < _SAMPLES:
                report.samples.append(entry)

        for source in sources:
            file_report = FileReport(source.name, None)
            report.files.append(file_report)
            quarantined_before = txn.quarantined
            try:
                fmt = FORMATS[format_name] if format_name else detect(source)
                if fmt is None:
                    file_report.note = "empty file"
                    continue
                file_report.format = fmt.name
                _load_source(source, fmt, txn, file_report, report, reject, progress)
            except FormatError as exc:
                if format_name is None and len(sources) == 1:
                    raise
                reject(source, None, "format", str(exc))
                file_report.note = str(exc)
            except _UNREADABLE as exc:
                reject(source, None, "file", f"unreadable: {exc}")
                file_report.note = f"unreadable: {exc}"
            file_report.quarantined = txn.quarantined - quarantined_before

        if strict and txn.quarantined:
            raise NothingLoaded(f"--strict: {txn.quarantined} record(s) rejected, nothing was stored; first: {_describe(report.samples[0])}")
        result = txn.commit({"paths": [str(p) for p in paths], "format": format_name,
                             "files": [vars(f) for f in report.files], "skipped": dict(report.skipped)})
    report.loaded, report.duplicate, report.accounts = result.loaded, result.duplicate, result.accounts
    report.quarantined = result.quarantined
    if report.quarantined:
        report.quarantine_file = str(store.quarantine_dir / f"{report.ingest_id}.jsonl")
    if not report.total_loaded and not sum(report.duplicate.values()) and not report.skipped:
        if report.quarantined:
            raise NothingLoaded(f"nothing could be loaded: {report.quarantined} record(s) quarantined in "
                                f"{report.quarantine_file}; first: {_describe(report.samples[0])}")
    return report


def _describe(entry: dict) -> str:
    where = f"{entry['source_file']}" + (f", line {entry['line']}" if entry.get("line") else "")
    return f"{where}, field {entry['field']}: {entry['reason']}"


def _load_source(source: Source, fmt: Format, txn, file_report: FileReport, report: IngestReport, reject, progress) -> None:
    records, context = fmt.read(source)
    for record in records:
        file_report.records += 1
        if progress and file_report.records % 5000 == 0:
            progress(source.name, file_report.records)
        if record.error is not None:
            reject(source, record.line, "record", record.error, record.raw)
            continue
        try:
            mapped_items = fmt.map_record(record.value, context)
        except RecordError as exc:
            reject(source, record.line, exc.field, exc.reason, record.raw)
            continue
        stored_any = False
        for mapped in mapped_items:
            if mapped.error is not None:
                err = mapped.error
                field_name = getattr(err, "field", "record")
                prefix = f"{mapped.where}." if mapped.where else ""
                reject(source, record.line, prefix + field_name, getattr(err, "reason", str(err)), record.raw)
                continue
            if mapped.skipped:
                report.skipped[mapped.skipped] += 1
                file_report.skipped += 1
            for event in mapped.events:
                event.source_file = source.name
                event.source_line = record.line
            raw = None
            if mapped.events and not stored_any:
                raw = (source.name, record.line, record.raw)
                stored_any = True
            txn.add(mapped.events, mapped.accounts, raw)
    if progress:
        progress(source.name, file_report.records)
