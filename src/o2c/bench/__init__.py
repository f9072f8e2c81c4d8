"""``o2c bench``: each performance figure measured beside its physical limit, in one run.

The limit is the same database doing the same row writes or reads with the
plain driver (sqlite3 or psycopg) and no o2c code (``o2c.bench.raw``). Every
run uses a fresh store (a temporary SQLite file, or a new PostgreSQL schema
dropped at the end), so it never touches real data. Timings are wall-clock on
whatever machine runs it: compare the ratios, measured side by side.

Modules, each importing only those after it: ``harness`` (the run: what is
measured, in which order, on which store), ``http`` (the servers and load of the
HTTP figure) and ``bare`` (its bare route), ``workload`` (what o2c does: order
cycles, growth, rebuilds), ``figures`` (each figure's record and the prose that
explains it), ``machine`` (CPU time, CPU model and memory from ``/proc``, versions)
and ``raw`` (the limit).
"""

from __future__ import annotations

import json
from typing import Any

from o2c.bench import harness
from o2c.bench.figures import Figure, Say
from o2c.bench.machine import environment

__all__ = ["Figure", "Say", "as_json", "run"]


def run(database_url: str | None, scale: str = "quick", say: Say | None = None
        ) -> list[Figure]:
    """Every figure at ``scale`` (tiny, quick or full) on a fresh store beside
    ``database_url`` (a temporary SQLite file when None)."""
    return harness.run(database_url, scale, say or (lambda _: None))


def as_json(figures: list[Figure], database_url: str | None = None,
            scale: str | None = None) -> str:
    """The ``--json`` output: ``{"figures": [...], "environment": {...}}``."""
    payload: dict[str, Any] = {"figures": [f.as_dict() for f in figures],
                               "environment": environment(database_url)}
    if scale:
        payload["scale"] = scale
    return json.dumps(payload, indent=2, default=str)
