"""renown: open, explainable influence scoring.

Modules, in pipeline order: :mod:`renown.events` (the one event schema),
:mod:`renown.ingest` (one pure mapper per network), :mod:`renown.store` (the
embedded Parquet + DuckDB event log), :mod:`renown.simulate` (synthetic data
in the real formats), :mod:`renown.cli`. Errors: :mod:`renown.errors`.
"""

__version__ = "0.1.0"

import os as _os

# NumPy marks every array of 4 MB or more MADV_HUGEPAGE. Where the kernel's transparent-hugepage
# "defrag" setting is ``madvise`` (its default), faulting such memory in when no huge page is free
# stalls on synchronous compaction (numpy/numpy#31590): scoring 10M events spent ≈ 2 s of its 22 s
# there. Off unless the environment says otherwise; it must be set before NumPy is imported.
_os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
