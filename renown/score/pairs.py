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

from collections.abc import Callable, Mapping
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


def sums(keys: np.ndarray, values: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """``values`` added up per key, in row order (how both engines add, so both agree exactly)."""
    return {name: np.bincount(keys, weights=np.asarray(v, dtype=np.float64), minlength=n) for name, v in values.items()}


class LocalPairs:
    """Pairs held as numpy columns in this process (the embedded engine), sorted by (dst, src)."""

    def __init__(self, columns: Mapping[str, np.ndarray], n: int) -> None:
        self.columns, self.n = columns, n

    def sum_by(self, key: str, kernel: Kernel, nodes: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        if key not in KEYS:
            raise ValueError(f"pairs are summed by one of {KEYS}, not {key!r}")
        return sums(self.columns[key], kernel(self.columns, nodes or {}), self.n)
