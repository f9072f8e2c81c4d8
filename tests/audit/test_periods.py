"""Closed periods refuse postings dated inside them; corrections go in as reversals."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from o2c.application import O2C, Context
from o2c.cli import cli
from o2c.domain.errors import InvalidStateError, PeriodClosedError
from o2c.projections import Projector, reports

CTX = Context(actor="finance", today=date(2026, 11, 15))
LINES = [{"account": "1000", "debit": "40.00"}, {"account": "3000", "credit": "40.00"}]


def _cash(app: O2C) -> object:
    Projector(app.db, app.settings).catch_up()
    return next(r["balance"] for r in reports.trial_balance(app.db, app.places)["accounts"]
                if r["code"] == "1000")


def test_closed_period_refuses_and_reversal_corrects(app: O2C) -> None:
    wrong = app.post_journal_entry(CTX, "misposted capital", LINES, date="2026-10-20")
    app.close_period(CTX, "2026-10-31", "October closed")
    head = app.db.head()
    with pytest.raises(PeriodClosedError, match="closed through 2026-10-31"):
        app.post_journal_entry(CTX, "late October bill", LINES, date="2026-10-31")
    with pytest.raises(PeriodClosedError):
        app.reverse_journal_entry(CTX, wrong.id, date="2026-10-25")
    with pytest.raises(InvalidStateError):
        app.close_period(CTX, "2026-10-01")  # closing only moves forward
    assert app.db.head() == head
    reversal = app.reverse_journal_entry(CTX, wrong.id)  # dated today, in November
    assert reversal.extra["reverses"] == wrong.id
    assert app.journal_entry(reversal.id).date == date(2026, 11, 15)
    assert _cash(app) == 0
    # October as it was closed is untouched; the correction shows from November.
    october = reports.trial_balance(app.db, app.places, as_of=date(2026, 10, 31))
    assert next(r["balance"] for r in october["accounts"] if r["code"] == "1000") == 40


def test_automatic_postings_respect_the_close(app: O2C) -> None:
    app.register_stock_item(CTX, "K-1", "Kit")
    app.close_period(CTX, "2026-11-15")
    head = app.db.head()
    with pytest.raises(PeriodClosedError):
        app.receive_stock(CTX, "K-1", "5", "2.00")  # its posting would be dated the 15th
    assert app.db.head() == head
    app.receive_stock(Context(actor="w", today=date(2026, 11, 16)), "K-1", "5", "2.00")
    assert app.stock_item("K-1").on_hand == 5


def test_cli_refuses_a_posting_in_a_closed_period(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2C_DATABASE_URL", f"sqlite:///{tmp_path / 'books.sqlite3'}")
    runner = CliRunner()
    closed = runner.invoke(cli, ["periods", "close", "--through", "2026-09-30"])
    assert closed.exit_code == 0, closed.output
    refused = runner.invoke(cli, ["journal", "post", "--memo", "late", "--line", "1000:debit:5",
                                  "--line", "3000:credit:5", "--date", "2026-09-15"])
    assert refused.exit_code == 2
    assert "period_closed" in refused.output or "closed through" in refused.output
    accepted = runner.invoke(cli, ["journal", "post", "--memo", "fine", "--line",
                                   "1000:debit:5", "--line", "3000:credit:5", "--date",
                                   "2026-10-01"])
    assert accepted.exit_code == 0, accepted.output
