"""Where renown keeps its data: ``--data-dir``, else ``$RENOWN_HOME``, else ``./renown-data``."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "RENOWN_HOME"
DEFAULT_HOME = "renown-data"


def data_dir(option: str | os.PathLike | None = None) -> Path:
    if option:
        return Path(option)
    return Path(os.environ.get(ENV_HOME) or DEFAULT_HOME)
