"""Hand-made event logs scored without a store, for property tests of the model."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow as pa

from renown.score.features import Window, compute
from renown.score.model import score


AS_OF = datetime(2026, 6, 30, 23, 59, 59, tzinfo=timezone.utc)


def score_events(rows: list[tuple], as_of=AS_OF, accounts: list[tuple] | None = None):
    """Score a hand-made event log without a store: ``rows`` are
    ``(actor, target, kind, days_before_as_of, post_id, parent_post_id[, attrs JSON])``
    with native ids (keys become ``t:<id>``);
    ``accounts`` optional ``(key, created_days_before_as_of, bot)``.
    Returns the model's Scores."""
    con = duckdb.connect()
    events = pa.table({
        "event_id": [f"e{i}" for i in range(len(rows))],
        "network": ["t"] * len(rows),
        "kind": [r[2] for r in rows],
        "actor": [f"t:{r[0]}" for r in rows],
        "target": [f"t:{r[1]}" if r[1] is not None else None for r in rows],
        "post_id": [r[4] for r in rows],
        "parent_post_id": [r[5] for r in rows],
        "created_at": pa.array([as_of - timedelta(days=r[3]) for r in rows], pa.timestamp("us", tz="UTC")),
        "attrs": pa.array([r[6] if len(r) > 6 else None for r in rows], pa.string()),
    })
    con.register("events", events)
    accounts = accounts or []
    con.register("accounts", pa.table({
        "key": pa.array([a[0] for a in accounts], pa.string()),
        "created_at": pa.array([as_of - timedelta(days=a[1]) for a in accounts], pa.timestamp("us", tz="UTC")),
        "bot": pa.array([a[2] for a in accounts], pa.bool_()),
    }))
    return score(compute(con, Window(as_of)))


def scores_of(result) -> dict[str, int]:
    return dict(zip(result.keys.tolist(), result.score.tolist()))
