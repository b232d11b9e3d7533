"""Per-account columns of a scoring run, kept where the engine keeps them.

The model ends in per-account arithmetic: components, calibration, points, a snapshot row
(:func:`renown.score.run.score_rows`). Its inputs are per-account columns — feature sums from SQL,
kernel sums over the pairs, a few arrays this process computed (genuineness, rank). An
:class:`AccountColumns` gathers them where the engine keeps its data and runs that arithmetic there,
handing the rows over in account order:

- the embedded engine (:class:`LocalAccounts`): numpy arrays in this process, a slice of accounts at
  a time, so the score rows are never all held at once;
- Spark (:class:`renown.score.spark.SparkAccounts`): frames on the executors, brought together by account and
  mapped a partition at a time; the driver holds neither the inputs nor the rows.

The arithmetic is the same function on both, and per account, so a score does not depend on the
batch it was computed in: both engines write the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from renown.score.engine import Engine
    from renown.score.pairs import Kernel, Pairs

#: Per-account arithmetic: (the batch's account keys, its columns by name) → its rows.
RowMaker = Callable[[pa.Array, Mapping[str, np.ndarray]], pa.RecordBatch]
#: Accounts per batch of :meth:`LocalAccounts.rows` (≈ 100 MB of score rows).
ROWS_CHUNK = 1 << 18


class AccountColumns(Protocol):
    """A scoring run's per-account columns, indexed by node (0 … n−1)."""

    n: int

    def add(self, columns: Mapping[str, np.ndarray], at: np.ndarray | None = None, fill: float | str = 0.0) -> None:
        """Columns this process holds: every account's (length :attr:`n`), or those of the accounts ``at``
        (the others get ``fill``)."""

    def add_query(self, sql: str, fill: Mapping[str, float]) -> None:
        """The columns of a query's rows (``idx`` and one column per name of ``fill``); accounts without a
        row get ``fill``."""

    def add_sums(self, pairs: Pairs, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None) -> None:
        """The per-account sums :meth:`~renown.score.pairs.Pairs.sum_by` makes, where the pairs are."""

    def column(self, name: str) -> np.ndarray:
        """One column, in this process."""

    def rows(self, make: RowMaker, schema: pa.Schema) -> pa.RecordBatchReader:
        """``make`` applied to every account, a batch of accounts at a time, where the columns are; its rows in
        account order."""


class LocalAccounts:
    """Per-account columns as numpy arrays in this process (the embedded engine)."""

    def __init__(self, keys: pa.Array, engine: Engine) -> None:
        self.keys, self.n, self.engine = keys, len(keys), engine
        self.columns: dict[str, np.ndarray] = {}

    def add(self, columns: Mapping[str, np.ndarray], at: np.ndarray | None = None, fill: float | str = 0.0) -> None:
        for name, values in columns.items():
            if at is None:
                self.columns[name] = np.asarray(values)
            else:
                full = np.full(self.n, fill, dtype=object if isinstance(fill, str) else np.asarray(values).dtype)
                full[at] = values
                self.columns[name] = full

    def add_query(self, sql: str, fill: Mapping[str, float]) -> None:
        from renown.score.features import arrays, per_account

        self.columns.update(per_account(arrays(self.engine.table(sql)), fill, self.n))

    def add_sums(self, pairs: Pairs, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None) -> None:
        self.columns.update(pairs.sum_by(key, kernel, nodes))

    def column(self, name: str) -> np.ndarray:
        return self.columns[name]

    def rows(self, make: RowMaker, schema: pa.Schema) -> pa.RecordBatchReader:
        def batches() -> Iterator[pa.RecordBatch]:
            for start in range(0, self.n, ROWS_CHUNK):
                stop = min(start + ROWS_CHUNK, self.n)
                yield make(self.keys.slice(start, stop - start),
                           {name: values[start:stop] for name, values in self.columns.items()})

        return pa.RecordBatchReader.from_batches(schema, batches())
