"""The benchmark harness runs end to end on both stores and reports every figure.

It runs at the ``tiny`` scale (the same code paths as ``--quick`` and the
full run, with small counts) and checks the shape of what it reports, never
a timing: the machine is shared, and the figures' targets are for
``o2c bench`` to report, not for the test suite to enforce.
"""

from __future__ import annotations

import json
import math

import psycopg
import pytest

from o2c import bench
from o2c.bench import raw

NAMES = {"order_cycle_1", "order_cycle_8", "projection_lag", "http_command", "hot_account",
         "rebuild", "rebuild_memory", "report_current:trial_balance",
         "report_current:pipeline", "report_current:inventory", "report_as_of",
         "command_growth", "rebuild_growth", "page_render:home", "page_render:pipeline",
         "page_render:order", "page_render:trial_balance"}
#: Figures with a limit measured beside them (the others compare with a smaller log or
#: have none).
WITH_RAW_LIMIT = {"order_cycle_1", "order_cycle_8", "http_command", "hot_account", "rebuild",
                  "page_render:home", "page_render:pipeline", "page_render:order",
                  "page_render:trial_balance"}


def _schemas(url: str) -> set[str]:
    with psycopg.connect(url.split("?", maxsplit=1)[0]) as conn:
        return {r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench_%'").fetchall()}


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_every_figure_is_measured_beside_its_limit(database_url: str) -> None:
    postgres = database_url.startswith("postgres")
    before = _schemas(database_url) if postgres else set()
    figures = bench.run(database_url, "tiny")
    assert [f.name for f in figures if f.name not in NAMES] == []
    assert {f.name for f in figures} == NAMES
    for figure in figures:
        record = figure.as_dict()
        for key in ("name", "value", "unit", "limit", "ratio", "target"):
            assert key in record, (figure.name, key)
        assert figure.target
        assert figure.unit
        assert figure.value > 0, figure
        assert math.isfinite(figure.value), figure
        assert figure.met in (True, False), figure
        if figure.name in WITH_RAW_LIMIT or figure.limit is not None:
            assert figure.limit is not None, figure
            assert figure.limit > 0, figure
            assert figure.ratio is not None, figure
            assert figure.ratio > 0, figure
            assert figure.ratio == pytest.approx(figure.value / figure.limit, rel=0.02)
    payload = json.loads(bench.as_json(figures, database_url, "tiny"))
    assert {f["name"] for f in payload["figures"]} == NAMES
    assert payload["environment"]["python"]
    # The store it ran on was its own, and is gone.
    assert not raw.holds_events(database_url)
    if postgres:
        assert _schemas(database_url) == before
