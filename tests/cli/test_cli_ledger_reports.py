"""o2c report ledger ACCOUNT | pnl | balance-sheet, and trial-balance --from/--to, as a
user runs them; figures recomputed from the story's postings."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from o2c.bootstrap import build_app
from o2c.cli import cli
from o2c.config import Settings
from support.ledger_story import RENT, Story, record

runner = CliRunner()
D = Decimal


@pytest.fixture
def story(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Story:
    monkeypatch.setenv("O2C_DATABASE_URL", database_url)
    app = build_app(Settings(database_url=database_url))
    try:
        return record(app)
    finally:
        app.close()


def run(*args: str) -> Any:
    return runner.invoke(cli, list(args))


def as_json(*args: str) -> dict[str, Any]:
    result = run("report", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_ledger_pnl_balance_sheet_and_range(story: Story) -> None:
    ledger = as_json("ledger", "1000", "--from", "2025-06-01", "--to", "2025-12-31")
    assert ledger["opening_balance"] == "1000.00"
    assert ledger["closing_balance"] == str(story.balance("1000", end=date(2025, 12, 31)))
    assert len(ledger["lines"]) == len(story.select(account="1000", start=date(2025, 6, 1),
                                                    end=date(2025, 12, 31)))
    known = as_json("ledger", RENT, "--known-at", story.marker.isoformat())
    assert known["closing_balance"] == str(story.balance(RENT, known=True))

    pnl = as_json("pnl", "--from", "2025-01-01", "--to", "2025-12-31")
    assert pnl["net_profit"] == str(story.profit(start=date(2025, 1, 1),
                                                 end=date(2025, 12, 31)))
    monthly = as_json("pnl", "--from", "2026-01-01", "--to", "2026-02-28", "--monthly")
    assert monthly["net_profit_by_month"] == ["-45.50", "250.00"]

    sheet = as_json("balance-sheet", "--as-of", "2025-12-31")
    assert sheet["balanced"] is True
    assert sheet["equity"]["unclosed_profit"] == "0.00"

    ranged = as_json("trial-balance", "--from", "2026-01-01", "--to", "2026-01-31")
    rows = {a["code"]: a for a in ranged["accounts"]}
    assert rows["2000"]["opening"] == "0.00"
    assert rows["2000"]["credit"] == str(D("25.00") + D("45.50"))
    assert ranged["totals"]["closing"] == "0.00"
    # the existing single-date trial balance answers as before
    single = as_json("trial-balance", "--as-of", "2026-01-31")
    assert "opening" not in single["totals"]
    assert {a["code"]: a["balance"] for a in single["accounts"]} == {
        c: r["closing"] for c, r in rows.items()}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_tables_and_csv(story: Story) -> None:
    for args in (["ledger", "1000"], ["pnl"], ["pnl", "--monthly", "--from", "2025-11-01"],
                 ["balance-sheet"], ["trial-balance", "--from", "2025-01-01", "--monthly"]):
        table = run("report", *args)
        assert table.exit_code == 0, (args, table.output)
        assert table.stdout.strip()
        out = run("report", *args, "--format", "csv")
        assert out.exit_code == 0, (args, out.output)
        assert len(list(csv.DictReader(io.StringIO(out.stdout)))) >= 2, args
    assert "balanced" in run("report", "balance-sheet").stdout
    pnl_csv = list(csv.DictReader(io.StringIO(run(
        "report", "pnl", "--from", "2026-01-01", "--to", "2026-02-28", "--monthly",
        "--format", "csv").stdout)))
    net = next(r for r in pnl_csv if r["name"] == "Net profit")
    assert (net["2026-01"], net["2026-02"], net["amount"]) == ("-45.50", "250.00", "204.50")
    ledger_csv = list(csv.DictReader(io.StringIO(run(
        "report", "ledger", "1000", "--format", "csv").stdout)))
    assert ledger_csv[-1]["balance"] == str(story.balance("1000"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_usage_is_one_line_and_exit_2(story: Story) -> None:
    for bad in (["ledger"], ["ledger", "9999"], ["pnl", "1000"],
                ["pnl", "--from", "2026-02-01", "--to", "2026-01-01"],
                ["ledger", "1000", "--from", "2026-13-01"],
                ["balance-sheet", "--from", "2026-01-01"],
                ["pipeline", "--monthly"], ["inventory", "--known-at", "2026-01-01T00:00"],
                ["trial-balance", "--as-of", "2026-01-01", "--from", "2025-01-01"],
                ["pnl", "--from", "1990-01-01", "--monthly"]):
        result = run("report", *bad)
        assert result.exit_code == 2, (bad, result.output)
        assert len(result.stderr.strip().splitlines()) == 1, (bad, result.stderr)
    assert "9999" in run("report", "ledger", "9999").stderr
