"""Run one command and measure it: wall time, CPU time and peak RSS of its process tree.

    python bench/measure.py OUT.json COMMAND [ARGS...]

The benchmarks start every measured run through this small process, because Linux
reports a child's peak RSS as at least the RSS its parent had when it started it
(``exec`` keeps the parent's high-water mark): a benchmark that generated gigabytes
of data in-process and then started ``renown ingest`` saw its own size as the
child's peak. ``wait4`` on this small parent gives the command's own figures —
the largest of the command and the children it waited for (ingest workers).
The command's output passes through; the figures go to OUT.json.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson


def measured(command: list[str]) -> tuple[bytes, dict]:
    """Run ``command`` through this script: its standard output, and ``wall``, ``cpu`` and
    ``rss_mb`` of that one run (raises ``CalledProcessError`` when it fails)."""
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "figures.json"
        done = subprocess.run([sys.executable, __file__, str(figures), *command], check=True, capture_output=True)
        return done.stdout, orjson.loads(figures.read_bytes())


def main() -> int:
    out, command = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    with open(out, "wb") as handle:
        handle.write(orjson.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                                   "rss_mb": usage.ru_maxrss / 1024, "returncode": child.returncode}))
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
