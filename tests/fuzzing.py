"""How long the property-based fuzz tests search.

CI runs a fixed, repeatable sample, so a red run names a regression rather than a new find by chance
on an unrelated change; ``RENOWN_FUZZ_EXAMPLES=N`` searches ``N`` random examples per test instead
(run it when touching a mapper or a route, and keep what it finds as a regression test)."""

from __future__ import annotations

import os

from hypothesis import settings


def fuzz_settings(default: int, **kwargs) -> settings:
    wanted = os.environ.get("RENOWN_FUZZ_EXAMPLES")
    return settings(max_examples=int(wanted) if wanted else default, derandomize=wanted is None, deadline=None,
                    database=None, **kwargs)
