"""A log written before the current code (tests/fixtures/log_eee711b) is read,
verified and rebuilt into exactly the reports it gave when it was written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from o2c.cli import cli

FIXTURE = Path(__file__).parent / "fixtures" / "log_eee711b"
HEAD = "126:60668f18328f981e6dec64ef0f6e551267ef1da886c86795da3e4bccde15153c"
REPORTS = {
    "pipeline.json": ["pipeline"],
    "inventory.json": ["inventory"],
    "trial-balance.json": ["trial-balance"],
    "ar-aging.json": ["ar-aging", "--as-of", "2026-12-02"],
    "tb-asof.json": ["trial-balance", "--as-of", "2026-10-15"],
}
runner = CliRunner()


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "log.sqlite3"
    shutil.copyfile(FIXTURE / "log.sqlite3", path)
    monkeypatch.setenv("O2C_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    return path


def run(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def reports() -> dict[str, object]:
    return {name: json.loads(run("report", *args, "--format", "json"))
            for name, args in REPORTS.items()}


def expected() -> dict[str, object]:
    return {name: json.loads((FIXTURE / name).read_text()) for name in REPORTS}


def test_the_old_log_verifies_to_the_head_it_had(stored: Path) -> None:
    assert "OK 126 events" in run("audit", "verify", "--expect", HEAD)


def test_the_old_read_models_are_read_as_they_were(stored: Path) -> None:
    assert without_new_receivables(reports()) == expected()


def without_new_receivables(found: dict[str, object]) -> dict[str, object]:
    """AR aging without what newer code adds (each invoice's customer name and order
    number, each customer's open amount and unapplied credit, the credit and net
    totals), each checked: the old log has no customer credit, so net == open."""
    without_stale(found)
    report: dict[str, object] = found["ar-aging.json"]  # type: ignore[assignment]
    invoices: list[dict[str, object]] = report["invoices"]  # type: ignore[assignment]
    for invoice in invoices:
        assert str(invoice.pop("order_number")).startswith("SO-")
        invoice.pop("customer_name")
    customers: list[dict[str, str]] = report.pop("customers")  # type: ignore[assignment]
    assert {c["customer_id"] for c in customers} == {i["customer_id"] for i in invoices}
    assert all(c["unapplied_credit"] == "0.00" and c["net"] == c["open"] for c in customers)
    assert (report.pop("unapplied_credit"), report.pop("net_receivable")) == (
        "0.00", report["total_open"])
    return found


def without_stale(found: dict[str, object]) -> None:
    """The pipeline without what activities added (the stale leads and deals: counts per
    stage and of leads, the list), checked to agree with each other."""
    report: dict[str, Any] = found["pipeline.json"]  # type: ignore[assignment]
    stale = report.pop("stale")
    by_stage = sum(stage["count"] for stage in stale["stages"])
    assert stale["count"] == len(stale["items"]) == by_stage + stale["leads"]
    assert [s["stage"] for s in stale["stages"]] == [s["stage"] for s in report["stages"]]


def without_new_accounts(found: dict[str, object]) -> dict[str, object]:
    """The reports without the accounts a store gains on its first start by newer code
    (3100 Retained Earnings), each checked to be there, empty."""
    for name in ("trial-balance.json", "tb-asof.json"):
        report: dict[str, list[dict[str, str]]] = found[name]  # type: ignore[assignment]
        added = [row for row in report["accounts"] if row["code"] == "3100"]
        assert [(r["type"], r["debit"], r["credit"]) for r in added] == [
            ("equity", "0.00", "0.00")], name
        report["accounts"] = [row for row in report["accounts"] if row["code"] != "3100"]
    return found


def test_a_rebuild_of_the_old_log_gives_the_same_reports_and_export(stored: Path) -> None:
    run("projections", "rebuild")  # a writer: the store gains 3100 Retained Earnings
    assert without_new_receivables(without_new_accounts(reports())) == expected()
    run("export", "beancount", "--output", "ledger.beancount")
    exported = (stored.parent / "ledger.beancount").read_text().splitlines(keepends=True)
    added = [line for line in exported if "Equity:3100-Retained-Earnings" in line]
    assert len(added) == 1
    assert " open " in added[0]
    # Metadata newer exports add (each account's code and type, each entry's recording
    # time), each line's value checked to be there; every older line is unchanged.
    newer = ("  code: ", "  type: ", "  recorded: ")
    assert sum(line.startswith("  recorded: ") for line in exported) == sum(
        line.startswith("  cause: ") for line in exported)
    exported = [line for line in exported if not line.startswith(newer)]
    assert "".join(line for line in exported if line not in added) == (
        FIXTURE / "ledger.beancount").read_text()
