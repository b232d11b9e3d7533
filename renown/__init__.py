"""renown: open, explainable influence scoring.

Modules, in pipeline order: :mod:`renown.events` (the one event schema),
:mod:`renown.ingest` (one pure mapper per network), :mod:`renown.store` (the
embedded Parquet + DuckDB event log), :mod:`renown.simulate` (synthetic data
in the real formats), :mod:`renown.cli`. Errors: :mod:`renown.errors`.
"""

__version__ = "0.1.0"
