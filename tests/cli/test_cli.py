"""The o2c command line, as a user runs it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from o2c.bootstrap import build_app
from o2c.cli import cli
from o2c.config import Settings

runner = CliRunner()


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("O2C_DATABASE_URL", database_url)
    return database_url


def run(*args: str) -> object:
    return runner.invoke(cli, list(args))


def report(name: str, *options: str) -> dict:
    result = run("report", name, "--format", "json", *options)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def head(url: str) -> int:
    app = build_app(Settings(database_url=url))
    try:
        return app.db.head()
    finally:
        app.close()


def test_demo_tells_the_story_right_to_the_cent(store: str) -> None:
    result = run("demo")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    for title in ("Pipeline", "Inventory", "Trial Balance", "Profit and Loss",
                  "Balance Sheet"):
        assert title in result.stdout  # type: ignore[attr-defined]
    # Worked out by hand from demo.py: FIFO layers 100 @ 42.00 then 50 @ 45.50 sensors,
    # 25 @ 310.00 gateways, 500 @ 3.20 cable; 8 % tax; a count finds 11 gateways of 12;
    # Cobalt's discounted order (2438.98 net, 195.12 tax) ships 20 sensors @ 42.00 and 130
    # cables; it returns a sensor (back @ 42.00) and 10 damaged cables (32.00 written off),
    # credited 143.97 and 11.52 tax.
    inventory = {i["sku"]: i for i in report("inventory")["items"]}
    assert inventory["NT-SENSOR-100"]["value"] == "2317.00"  # 50 @ 45.50 + 1 back @ 42.00
    assert inventory["NT-SENSOR-100"]["on_hand"] == "51"
    assert inventory["NT-GATEWAY-200"]["value"] == "3410.00"  # 25 - 5 - 8 - 1 lost
    assert inventory["NT-CABLE-5M"]["value"] == "800.00"  # 500 - 120 - 130 @ 3.20
    assert all(i["reserved"] == "0" for i in inventory.values())  # the cancellation released
    balances = {a["code"]: Decimal(a["balance"]) for a in report("trial-balance")["accounts"]}
    assert balances["1200"] == Decimal("6527.00")
    assert balances["1100"] == Decimal("7311.60") + Decimal("2883.60") + Decimal("5158.08") + (
        Decimal("2634.10")) - (Decimal("7311.60") + Decimal("1000.00") + Decimal("2000.00") + (
            Decimal("155.49")))
    assert balances["4000"] == -(Decimal("6770.00") + Decimal("2670.00") + Decimal("4776.00") + (
        Decimal("2438.98")) - Decimal("143.97"))
    assert balances["2100"] == -(Decimal("541.60") + Decimal("213.60") + Decimal("382.08") + (
        Decimal("195.12")) - Decimal("11.52"))
    assert balances["5000"] == Decimal("2100.00") + Decimal("1550.00") + Decimal("1260.00") + (
        Decimal("2480.00") + Decimal("384.00") + Decimal("840.00") + Decimal("416.00")) - (
            Decimal("42.00") + Decimal("32.00"))
    assert balances["5100"] == Decimal("310.00") + Decimal("32.00")
    assert sum(balances.values()) == 0
    pipeline = report("pipeline")
    assert {s["stage"]: s["count"] for s in pipeline["stages"]} == {
        "prospecting": 1, "qualification": 1, "proposal": 0, "negotiation": 1}
    assert (pipeline["won"]["count"], pipeline["lost"]["count"]) == (2, 1)
    assert pipeline["win_rate"] == "0.6667"
    assert pipeline["leads"] == {"total": 8, "converted": 5, "disqualified": 2, "open": 1}
    aging = report("ar-aging")
    assert Decimal(aging["total_open"]) == balances["1100"]
    # Profit: 16511.01 revenue less 8956.00 cost of goods and 342.00 of the count and the
    # damaged cable.
    assert report("pnl")["net_profit"] == "7213.01"
    sheet = report("balance-sheet")
    assert (sheet["equity"]["unclosed_profit"], sheet["liabilities_and_equity"],
            sheet["balanced"]) == ("7213.01", "160808.89", True)
    shown = run("periods", "show")
    assert "books closed through" in shown.stdout  # type: ignore[attr-defined]


def test_demo_twice_refuses_and_reset_starts_again(store: str) -> None:
    assert run("demo").exit_code == 0  # type: ignore[attr-defined]
    first = head(store)
    again = run("demo")
    assert again.exit_code == 2  # type: ignore[attr-defined]
    assert "already holds the NovaTech demo" in again.stderr  # type: ignore[attr-defined]
    assert len(again.stderr.strip().splitlines()) == 1  # type: ignore[attr-defined]
    assert head(store) == first
    assert run("demo", "--reset").exit_code == 0  # type: ignore[attr-defined]
    assert head(store) == first


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_reports_formats_and_time_travel(store: str) -> None:
    assert run("demo").exit_code == 0  # type: ignore[attr-defined]
    for name in ("pipeline", "inventory", "trial-balance", "ar-aging"):
        table = run("report", name)
        assert table.exit_code == 0, table.output  # type: ignore[attr-defined]
        csv_out = run("report", name, "--format", "csv")
        assert csv_out.exit_code == 0  # type: ignore[attr-defined]
        assert len(csv_out.stdout.splitlines()) >= 2  # type: ignore[attr-defined]
    before = report("trial-balance", "--known-at", "2000-01-01T00:00:00Z")
    assert all(a["balance"] == "0.00" for a in before["accounts"])
    early = report("trial-balance", "--as-of", "1999-12-31")
    assert early["totals"]["debit"] == "0.00"
    for bad in (["report", "trial-balance", "--as-of", "notadate"], ["report", "nope"],
                ["projections", "rebuild", "nope"], ["report", "pipeline", "--known-at",
                                                     "2026-01-01T00:00:00"]):
        assert run(*bad).exit_code == 2, bad  # type: ignore[attr-defined]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_projections_audit_export_tokens(store: str, tmp_path: Path) -> None:
    assert run("demo").exit_code == 0  # type: ignore[attr-defined]
    status = run("projections", "status")
    assert "trial_balance" in status.stdout  # type: ignore[attr-defined]
    before = report("trial-balance")
    rebuilt = run("projections", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output  # type: ignore[attr-defined]
    assert report("trial-balance") == before
    verified = run("audit", "verify")
    assert verified.exit_code == 0  # type: ignore[attr-defined]
    assert verified.stdout.startswith("OK ")  # type: ignore[attr-defined]
    history = run("audit", "history", "NT-SENSOR-100", "--format", "json")
    events = [e["event"] for e in json.loads(history.stdout)]  # type: ignore[attr-defined]
    assert events[:2] == ["StockItem.Registered", "StockItem.Received"]
    out = tmp_path / "books.beancount"
    assert run("export", "beancount", "--output", str(out)).exit_code == 0  # type: ignore[attr-defined]
    assert "^je-" in out.read_text()
    token = run("tokens", "create", "--role", "sales", "--name", "Dana")
    assert token.exit_code == 0  # type: ignore[attr-defined]
    assert len(token.stdout.strip().split()) == 1  # type: ignore[attr-defined]
    assert run("tokens", "create", "--role", "janitor").exit_code == 2  # type: ignore[attr-defined]


def test_python_dash_m_runs_the_cli() -> None:
    """``python -m o2c.cli`` is how the bench starts its projection worker."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "o2c.cli", "projections", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "rebuild" in done.stdout
