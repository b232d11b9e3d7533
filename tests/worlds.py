"""A simulated world written in the real export formats, ingested into a store and scored:
the starting point of every test that needs a small, realistic data directory."""

from __future__ import annotations

from pathlib import Path

from renown.ingest.pipeline import ingest
from renown.score.run import run_score
from renown.simulate import simulate, write_dataset
from renown.store import Store


def scored_world(root: Path, accounts: int, days: int, seed: int) -> Store:
    """``root/source`` holds the exports, ``root/data`` the scored store."""
    write_dataset(simulate(accounts=accounts, days=days, seed=seed), root / "source")
    store = Store(root / "data")
    ingest(store, [root / "source"])
    run_score(store)
    return store
