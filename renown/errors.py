"""Exceptions renown raises on purpose.

The hierarchy, in one place::

    RenownError                 anything renown reports to a user (the CLI prints
     │                          the message and exits 1, no traceback)
     ├── RecordError            one source record is malformed; names the field.
     │                          Never escapes an ingest: the record is quarantined
     ├── FormatError            a file's format is unknown or ambiguous
     ├── NothingLoaded          an ingest loaded nothing at all (or --strict saw
     │                          a quarantined record)
     └── StoreError             the data directory is unusable or locked
"""

from __future__ import annotations


class RenownError(Exception):
    """Base class: a problem to tell the user about, not a bug."""


class RecordError(RenownError):
    """A source record that cannot be mapped. ``field`` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class FormatError(RenownError):
    """The format of a path cannot be determined or is not supported."""


class NothingLoaded(RenownError):
    """An ingest ended without loading anything usable."""


class StoreError(RenownError):
    """The data directory cannot be read or written as asked."""
