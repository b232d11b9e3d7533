"""The CSV files people hand renown: event exports, CRM data, customer lists, identity links.

They come from spreadsheets as often as from scripts: UTF-8 with or without the byte-order mark
Windows tools write, separated by commas — or by semicolons or tabs, as spreadsheets export them
in many locales. The header decides the separator: the first under which it names every column
the file needs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Field separators a header may use, tried in this order.
DELIMITERS = (",", ";", "\t")
#: UTF-8, skipping a byte-order mark when there is one: how renown decodes every text file it is given
#: (CSV, JSON, JSON lines, archives), as Windows tools (Excel's "CSV UTF-8", Notepad) often write one.
ENCODING = "utf-8-sig"


def columns(header: str, delimiter: str = ",") -> list[str]:
    """The column names of a header line split at ``delimiter``."""
    return [column.strip() for column in header.strip().split(delimiter)] if header.strip() else []


def delimiter_for(header: str, required: Iterable[str]) -> str | None:
    """The first separator under which ``header`` names every ``required`` column, or None."""
    needed = list(required)
    for delimiter in DELIMITERS:
        if all(c in columns(header, delimiter) for c in needed):
            return delimiter
    return None


@contextmanager
def rows(path: Path, required: Iterable[str]) -> Iterator[csv.DictReader]:
    """A reader of ``path``'s rows as dicts, with the separator its header uses (a comma when no
    separator names every ``required`` column: the caller's header check then says what is missing)."""
    with open(path, newline="", encoding=ENCODING) as handle:
        delimiter = delimiter_for(handle.readline(), required) or ","
        handle.seek(0)
        yield csv.DictReader(handle, delimiter=delimiter)
