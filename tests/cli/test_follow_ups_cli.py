"""o2c follow-ups as a salesperson runs it (both stores): table, JSON and CSV, one owner's
or everyone's, overdue first; and the stale count on ``o2c report pipeline``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from o2c.application import O2C, Context
from o2c.bootstrap import build_app
from o2c.cli import cli
from o2c.config import Settings

runner = CliRunner()
TODAY = datetime.now(UTC).date()


def _day(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


@pytest.fixture
def seeded(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("O2C_DATABASE_URL", database_url)
    app: O2C = build_app(Settings(database_url=database_url))
    try:
        ctx = Context(actor="sam")
        lead = app.capture_lead(ctx, "Dana", "Apex", "dana@apex.example", "web").id
        ids = {
            "later": app.log_activity(ctx, "lead", lead, "task", "Send quote",
                                      due_date=_day(5)).id,
            "late": app.log_activity(ctx, "lead", lead, "task", "Chase reply",
                                     due_date=_day(-2), date=_day(-4)).id,
            "anns": app.log_activity(ctx, "lead", lead, "task", "Ann's call",
                                     due_date=_day(1), owner="ann").id,
        }
        yield ids
    finally:
        app.close()


def _ok(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_follow_ups_in_every_format(seeded: dict[str, str]) -> None:
    report = json.loads(_ok("follow-ups", "--format", "json"))
    assert [(g["owner"], [i["id"] for i in g["items"]]) for g in report["owners"]] == [
        ("ann", [seeded["anns"]]), ("sam", [seeded["late"], seeded["later"]])]
    assert (report["open"], report["overdue"], report["as_of"]) == (3, 1, _day(0))

    rows = list(csv.DictReader(io.StringIO(_ok("follow-ups", "--owner", "sam",
                                               "--format", "csv"))))
    assert [(r["id"], r["overdue"], r["days_overdue"]) for r in rows] == [
        (seeded["late"], "True", "2"), (seeded["later"], "False", "0")]

    table = _ok("follow-ups", "--owner", "sam", "--as-of", _day(6))
    assert "Chase reply" in table
    assert "Send quote" in table
    assert "Ann's call" not in table
    assert table.index("Chase reply") < table.index("Send quote")
    assert "2 open, 2 overdue" in table

    bad = runner.invoke(cli, ["follow-ups", "--as-of", "soon"])
    assert bad.exit_code == 2


def test_the_pipeline_table_shows_the_stale_count(seeded: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert "stale 0 (no activity for 14 days)" in _ok("report", "pipeline")
    monkeypatch.setenv("O2C_STALE_DAYS", "30")
    report = json.loads(_ok("report", "pipeline", "--format", "json"))
    assert (report["stale"]["count"], report["stale"]["days"]) == (0, 30)
    monkeypatch.setenv("O2C_STALE_DAYS", "0")
    assert runner.invoke(cli, ["report", "pipeline"]).exit_code == 2
