"""Calibration: the fixed, monotone map from the raw model value ``z`` to 1–100.

Like Klout's score and Twitter's tweepcred, renown's scale is log-like: easy
to leave the bottom, ever harder to climb near the top. The map is anchored to
a *fixed reference distribution* — the raw values of a reference population,
frozen in :data:`KNOTS` for this scoring version — so a score means the same
thing in every run and does not inflate as the scored population grows.

The reference population is the simulator's (:mod:`renown.simulate`):
:data:`REFERENCE` accounts over as many days, seed 2026, with its brand's CRM
records, scored with this version. Its raw-value quantiles are pinned to target scores:

==========  =====
quantile    score
==========  =====
(z = 0)     1
25 %        12
50 %        22
75 %        33
90 %        45
99 %        72
99.9 %      85
==========  =====

(No knot below the lower quartile: the bottom tenth of a population is mostly
accounts whose few reactions were discounted, and pinning a score to their
near-zero values would make the first trace of attention — or of a discounted
ring — jump several points.) Between knots the map is linear; above the last knot it approaches 100
exponentially (``100 − 15 · exp(−(z − z_top) / τ)``, with τ chosen so the
slope keeps falling), so 100 is reached only by the truly extraordinary.
Run ``python -m renown.score.calibration`` to recompute the knots for a new
scoring version.
"""

from __future__ import annotations

import numpy as np

REFERENCE = {"accounts": 2000, "days": 30, "seed": 2026}
TARGET_QUANTILES = (0.25, 0.50, 0.75, 0.90, 0.99, 0.999)
TARGET_SCORES = (12.0, 22.0, 33.0, 45.0, 72.0, 85.0)

#: (z, score) knots (unchanged since SCORING_VERSION 1.0.0), from ``python -m renown.score.calibration``.
KNOTS: tuple[tuple[float, float], ...] = (
    (0.0, 1.0),
    (1.098, 12.0),
    (2.7549, 22.0),
    (4.9693, 33.0),
    (7.479, 45.0),
    (13.8353, 72.0),
    (20.3694, 85.0),
)


def _tail_tau(knots: tuple[tuple[float, float], ...]) -> float:
    (z1, s1), (z2, s2) = knots[-2], knots[-1]
    slope = (s2 - s1) / (z2 - z1)
    return (100.0 - s2) / slope  # the tail starts with the last segment's slope and only flattens


def calibrate(z: np.ndarray, knots: tuple[tuple[float, float], ...] = KNOTS) -> np.ndarray:
    """Monotone, never above 100; ``z ≤ 0`` gives 1."""
    z = np.asarray(z, dtype=np.float64)
    zs = np.array([k[0] for k in knots])
    ss = np.array([k[1] for k in knots])
    inside = np.interp(z, zs, ss)
    top_z, top_s = knots[-1]
    tail = 100.0 - (100.0 - top_s) * np.exp(-(z - top_z) / _tail_tau(knots))
    return np.where(z > top_z, tail, np.maximum(inside, 1.0))


def knots_from(z: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Knots pinning the quantiles of ``z`` to :data:`TARGET_SCORES` (strictly increasing)."""
    z = np.sort(np.asarray(z, dtype=np.float64))
    knots = [(0.0, 1.0)]
    for q, target in zip(TARGET_QUANTILES, TARGET_SCORES):
        value = float(np.quantile(z, q))
        if value > knots[-1][0] + 1e-9:
            knots.append((round(value, 4), target))
    return tuple(knots)


def reference_z(workdir) -> np.ndarray:
    """Raw model values of the reference population, scored with this version."""
    from pathlib import Path

    from renown.ingest.pipeline import ingest
    from renown.score.features import Window, compute, latest_event_time
    from renown.score.model import score
    from renown.simulate import simulate, write_dataset
    from renown.store import Store

    workdir = Path(workdir)
    write_dataset(simulate(**REFERENCE), workdir / "source")
    store = Store(workdir / "data")
    ingest(store, [workdir / "source"])
    con = store.connect()
    features = compute(con, Window(latest_event_time(con)))
    return score(features).z


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        knots = knots_from(reference_z(tmp))
    print("KNOTS = (")
    for z, s in knots:
        print(f"    ({z}, {s}),")
    print(")")
