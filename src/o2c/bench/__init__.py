"""``o2c bench``: each performance figure measured beside its physical limit, in one run.

The limit is the same database doing the same row writes or reads with the
plain driver (sqlite3 or psycopg) and no o2c code (``o2c.bench.raw``). Every
run uses a fresh store (a temporary SQLite file, or a new PostgreSQL schema
dropped at the end), so it never touches real data. Timings are wall-clock on
whatever machine runs it: compare the ratios, measured side by side.

Modules: ``harness`` (the run and its figures), ``workload`` (what o2c does:
order cycles, growth, rebuilds), ``raw`` (the limit), ``http`` and ``bare``
(the HTTP figure and its bare route).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from o2c.bench.harness import Figure, Say


def run(database_url: str | None, scale: str = "quick", say: Say | None = None
        ) -> list[Figure]:
    """Every figure at ``scale`` (tiny, quick or full) on a fresh store beside
    ``database_url`` (a temporary SQLite file when None)."""
    from o2c.bench import harness

    return harness.run(database_url, scale, say or (lambda _: None))


def as_json(figures: list[Figure], database_url: str | None = None,
            scale: str | None = None) -> str:
    """The ``--json`` output: ``{"figures": [...], "environment": {...}}``."""
    from o2c.bench import harness

    payload: dict[str, Any] = {"figures": [f.as_dict() for f in figures],
                               "environment": harness.environment(database_url)}
    if scale:
        payload["scale"] = scale
    return json.dumps(payload, indent=2, default=str)
