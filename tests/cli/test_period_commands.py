"""o2c periods close / reopen / close-year / show, as a user runs them (both stores)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from o2c.bootstrap import build_app
from o2c.cli import cli
from o2c.config import Settings
from o2c.domain.accounting_period import AccountingPeriods

runner = CliRunner()
TODAY = datetime.now(UTC).date()
LAST = TODAY.year - 1


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("O2C_DATABASE_URL", database_url)
    return database_url


def run(*args: str) -> Any:
    return runner.invoke(cli, list(args))


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def head(url: str) -> int:
    app = build_app(Settings(database_url=url))
    try:
        return app.db.head()
    finally:
        app.close()


def balances(as_of: str) -> dict[str, str]:
    report = json.loads(ok("report", "trial-balance", "--as-of", as_of, "--format", "json"))
    assert report["totals"]["balance"] == "0.00"
    return {row["code"]: row["balance"] for row in report["accounts"]}


def test_future_close_exits_2_with_one_line(store: str) -> None:
    before = head(store)  # creates the store
    assert ok("periods", "show").strip() == "books never closed"
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    refused = run("periods", "close", "--through", tomorrow)
    assert refused.exit_code == 2
    assert refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{tomorrow} is after the business date {TODAY}" in lines[0]
    assert head(store) == before
    assert ok("periods", "close", "--through", TODAY.isoformat()).strip() == (
        f"books closed through {TODAY}")


def test_close_year_reopen_and_history(store: str) -> None:
    ok("journal", "post", "--memo", "sale", "--line", "1000:debit:300",
       "--line", "4000:credit:300", "--date", f"{LAST}-03-01")
    ok("journal", "post", "--memo", "loss", "--line", "5100:debit:40",
       "--line", "1000:credit:40", "--date", f"{LAST}-04-01")
    closed = ok("periods", "close-year", "--year", str(LAST))
    assert f"year {LAST} closed by journal entry" in closed
    assert f"books closed through {LAST}-12-31" in closed
    after = balances(f"{LAST}-12-31")
    assert (after["4000"], after["5100"], after["3100"]) == ("0.00", "0.00", "-260.00")
    before = head(store)
    again = run("periods", "close-year", "--year", str(LAST))
    assert again.exit_code == 2
    assert "already closed" in again.stderr
    no_reason = run("periods", "reopen", "--through", f"{LAST}-06-30")
    assert no_reason.exit_code == 2  # typer: the option is required
    empty = run("periods", "reopen", "--through", f"{LAST}-06-30", "--reason", " ")
    assert empty.exit_code == 2
    assert head(store) == before
    reopened = ok("periods", "reopen", "--through", f"{LAST}-06-30", "--reason",
                  "audit finding")
    assert f"books closed through {LAST}-06-30" in reopened
    assert f"year {LAST} reopened" in reopened
    assert "closing entry reversed by journal entry" in reopened
    back = balances(f"{LAST}-12-31")
    assert (back["4000"], back["5100"], back["3100"]) == ("-300.00", "40.00", "0.00")
    assert ok("periods", "show").strip() == f"books closed through {LAST}-06-30"
    history = json.loads(ok("audit", "history", str(AccountingPeriods.create_id()),
                            "--format", "json"))
    reopen = [step for step in history if step["event"] == "AccountingPeriods.Reopened"]
    assert len(reopen) == 1
    assert reopen[0]["data"]["reason"] == "audit finding"
    assert reopen[0]["actor"] == "cli"
    assert [s["event"] for s in history][-1] == "AccountingPeriods.YearReopened"
    table = ok("audit", "history", str(AccountingPeriods.create_id()))
    assert "AccountingPeriods.Reopened" in table
    closed_again = ok("periods", "close-year", "--year", str(LAST))
    assert f"year {LAST} closed by journal entry" in closed_again
    assert balances(f"{LAST}-12-31") == after
    assert f"year {LAST} closed by journal entry" in ok("periods", "show")
