"""Per-pair work of the model, written once and run where the pairs are.

The model reads the reaction graph as one row per (reactor ``src``, author ``dst``) pair. Most of
what it asks of those rows is *a sum per account*: distinct reactors, weights received, reactions
made. Such a step is a **kernel**: a pure numpy function of a batch of pair columns and of per-account
arrays (indexed by ``src`` or ``dst``), returning per-pair values; :meth:`Pairs.sum_by` adds them up per
``src`` or per ``dst``.

On the embedded engine the batch is every pair (:class:`LocalPairs`, numpy arrays in the process).
On Spark (:class:`renown.score.spark.SparkPairs`) the pairs stay on the executors: each partition
holds every pair of its keys, the per-account arrays are broadcast, and only the per-account sums
come back to the driver. Both add each account's values in (dst, src) order, so the results are
bit-identical (``tests/test_spark.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

import numpy as np

#: A kernel: (pair columns, per-account arrays) → per-pair values to add up, by name.
Kernel = Callable[[Mapping[str, np.ndarray], Mapping[str, np.ndarray]], dict[str, np.ndarray]]
KEYS = ("src", "dst")


class Pairs(Protocol):
    """The window's pairs, wherever they are."""

    n: int  # accounts

    def sum_by(self, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Per account (``key`` ``src`` or ``dst``), the sums of ``kernel``'s per-pair values: arrays of
        length :attr:`n`, zero where an account has no pair."""

    def sum_by_group(self, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Sums per (account, group) of the pairs ``kernel`` keeps (``keep``), its ``group`` an integer per
        pair: the combinations in (account, group) order, with their sums."""

    def wrapped_sum_by(self, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None
                       ) -> dict[str, np.ndarray]:
        """Like :meth:`sum_by` for unsigned 64-bit values of the kept pairs, modulo 2⁶⁴."""

    def with_flag(self, name: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None) -> Pairs:
        """These pairs and a per-pair flag ``name``, computed by ``kernel`` on batches that hold both
        directions of every pair of accounts (whether the reverse pair exists is such a flag)."""

    def select(self, kernel: Kernel, columns: tuple[str, ...], nodes: Mapping[str, np.ndarray] | None = None
               ) -> dict[str, np.ndarray]:
        """``columns`` of the pairs ``kernel`` keeps (few: they come to this process)."""

    def rows_by(self, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None
                ) -> Iterator[dict[str, np.ndarray]]:
        """The rows ``kernel`` makes of each batch holding every pair of its accounts (``key``), handed over
        a chunk at a time (columns of equal length; rows in no particular order): a few per account, too
        many at scale to hold at once — the caller writes each chunk away."""


def sums(keys: np.ndarray, values: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """``values`` added up per key, in row order (how both engines add, so both agree exactly)."""
    return {name: np.bincount(keys, weights=np.asarray(v, dtype=np.float64), minlength=n) for name, v in values.items()}


#: Pairs per slice of :meth:`LocalPairs.rows_by`.
ROWS_CHUNK = 1 << 20


class LocalPairs:
    """Pairs held as numpy columns in this process (the embedded engine), sorted by (dst, src)."""

    def __init__(self, columns: Mapping[str, np.ndarray], n: int) -> None:
        self.columns, self.n = columns, n

    def sum_by(self, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        return sums(self.columns[checked(key)], kernel(self.columns, nodes or {}), self.n)

    def sum_by_group(self, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        return group_sums(self.columns[checked(key)], kernel(self.columns, nodes or {}))

    def wrapped_sum_by(self, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None
                       ) -> dict[str, np.ndarray]:
        return wrapped_sums(*kept(self.columns[checked(key)], kernel(self.columns, nodes or {})), self.n)

    def with_flag(self, name: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None) -> LocalPairs:
        return LocalPairs({**self.columns, name: kernel(self.columns, nodes or {})[name]}, self.n)

    def select(self, kernel: Kernel, columns: tuple[str, ...], nodes: Mapping[str, np.ndarray] | None = None
               ) -> dict[str, np.ndarray]:
        keep = kernel(self.columns, nodes or {})["keep"]
        return {name: self.columns[name][keep] for name in columns}

    def rows_by(self, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None
                ) -> Iterator[dict[str, np.ndarray]]:
        """By ``dst`` a slice of about :data:`ROWS_CHUNK` pairs at a time (views: the pairs are sorted by
        dst), so the kernel's per-pair temporaries and its rows are a slice's, not all of them at once."""
        if checked(key) == "src":
            yield kernel(self.columns, nodes or {})
            return
        dst = self.columns["dst"]
        cuts = np.unique(np.searchsorted(dst, dst[np.arange(0, len(dst), ROWS_CHUNK)], side="left"))
        for start, stop in zip(cuts, [*cuts[1:], len(dst)]):
            yield kernel({name: column[start:stop] for name, column in self.columns.items()}, nodes or {})


def checked(key: str) -> str:
    if key not in KEYS:
        raise ValueError(f"pairs are summed by one of {KEYS}, not {key!r}")
    return key


def kept(keys: np.ndarray, values: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The keys and values of the rows a kernel keeps (its ``keep`` mask, taken out of ``values``)."""
    keep = values.pop("keep")
    return keys[keep], {name: v[keep] for name, v in values.items()}


def group_sums(keys: np.ndarray, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """:func:`grouped_sums` of what a grouping kernel returned (``keep``, ``group`` and values)."""
    keys, values = kept(keys, values)
    group = values.pop("group")
    return grouped_sums(keys, group, values)


def grouped_sums(keys: np.ndarray, groups: np.ndarray, values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``values`` added up per (key, group), in row order within each; the combinations in (key, group) order."""
    if len(keys) == 0:
        return keys.astype(np.int64), groups.astype(np.int64), {name: np.zeros(0) for name in values}
    order = np.lexsort((groups, keys))  # stable: rows of one combination keep their order
    k, g = keys[order], groups[order]
    starts = np.r_[0, np.flatnonzero((np.diff(k) != 0) | (np.diff(g) != 0)) + 1]
    combination = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(k)]))
    # bincount adds one row after another (reduceat would add pairwise, rounding differently)
    return k[starts], g[starts], {name: np.bincount(combination, weights=np.asarray(v, dtype=np.float64)[order])
                                  for name, v in values.items()}


def wrapped_sums(keys: np.ndarray, values: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Unsigned 64-bit ``values`` added up per key modulo 2⁶⁴ (hash signatures: any order gives the same)."""
    out = {}
    with np.errstate(over="ignore"):
        for name, v in values.items():
            total = np.zeros(n, dtype=np.uint64)
            np.add.at(total, keys, np.asarray(v, dtype=np.uint64))
            out[name] = total
    return out
