"""The benchmark harness runs end to end and reports every figure (timings not asserted)."""

from __future__ import annotations

import math

import pytest

from o2c import bench

NAMES = {"order_cycle_1", "order_cycle_8", "projection_lag", "hot_account",
         "report_current:trial_balance", "report_current:pipeline", "report_current:inventory",
         "report_as_of", "rebuild", "rebuild_memory", "http_command"}


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_every_figure_is_measured(database_url: str) -> None:
    base = database_url if database_url.startswith("postgres") else None
    figures = bench.run(base, "tiny")
    assert {f.name for f in figures} == NAMES
    for figure in figures:
        assert figure.value > 0 and math.isfinite(figure.value), figure
        assert figure.target
        assert figure.met in (True, False)
        if figure.limit is not None:
            assert figure.limit > 0
            assert figure.ratio == pytest.approx(figure.value / figure.limit, rel=0.01)
    payload = bench.as_json(figures)
    assert '"figures"' in payload and '"ratio"' in payload
