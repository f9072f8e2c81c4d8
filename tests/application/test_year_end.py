"""Closing, reopening and the year-end close, on SQLite and PostgreSQL.

The year-end close moves every revenue and expense balance as of 31 December into
3100 Retained Earnings by one system entry; reopening a day of that year reverses it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c import audit
from o2c.application import O2C, Context
from o2c.domain import posting_rules
from o2c.domain.accounting_period import AccountingPeriods
from o2c.domain.errors import (
    InvalidInputError,
    InvalidStateError,
    PeriodClosedError,
    VersionMismatchError,
)
from o2c.projections import Projector, lists, reports

TODAY = date(2026, 3, 15)
CTX = Context(actor="finance", today=TODAY)
YEAR_END = date(2025, 12, 31)


def _entry(app: O2C, day: str, debit: str, credit: str, amount: str) -> str:
    return app.post_journal_entry(CTX, f"{debit}/{credit} {amount}", [
        {"account": debit, "debit": amount}, {"account": credit, "credit": amount}],
        date=day).id


def _balances(app: O2C, as_of: date | None = None) -> dict[str, Decimal]:
    Projector(app.db, app.settings).catch_up()
    report = reports.trial_balance(app.db, app.places, as_of=as_of)
    assert report["totals"]["balance"] == 0  # the trial balance always sums to zero
    return {row["code"]: row["balance"] for row in report["accounts"]}


def _profit_and_loss(app: O2C, as_of: date) -> dict[str, Decimal]:
    Projector(app.db, app.settings).catch_up()
    report = reports.trial_balance(app.db, app.places, as_of=as_of)
    return {row["code"]: row["balance"] for row in report["accounts"]
            if row["type"] in ("revenue", "expense")}


def _story(app: O2C) -> None:
    """2025: capital 1,000, sales 500 + 250.50, adjustments 120, an expense account of
    its own 30; 2026: sales 50."""
    app.open_ledger_account(CTX, "6100", "Freight", "expense")
    _entry(app, "2025-01-05", "1000", "3000", "1000.00")
    _entry(app, "2025-03-01", "1000", "4000", "500.00")
    _entry(app, "2025-11-20", "1000", "4000", "250.50")
    _entry(app, "2025-06-30", "5100", "1000", "120.00")
    _entry(app, "2025-12-31", "6100", "1000", "30.00")
    _entry(app, "2026-01-10", "1000", "4000", "50.00")


def test_chart_has_retained_earnings(app: O2C) -> None:
    account = app.ledger_account("3100")
    assert (account.name, account.type) == ("Retained Earnings", "equity")


def test_year_end_close_moves_profit_and_loss_to_retained_earnings(app: O2C) -> None:
    _story(app)
    result = app.year_end(CTX, 2025)
    periods = app.periods()
    assert periods is not None
    assert periods.closed_through == YEAR_END
    assert result.id == str(AccountingPeriods.create_id())
    assert result.extra["year"] == 2025
    assert periods.closed_years == {2025: app.journal_entry(result.extra["entry_id"]).id}
    # The one system entry: dated the year's last day, its cause and source named.
    entry = app.journal_entry(result.extra["entry_id"])
    assert entry.date == YEAR_END
    assert entry.cause == posting_rules.YEAR_END_CLOSE
    assert entry.source_id == periods.id
    assert entry.source_version == result.version
    assert {line["account"] for line in entry.lines} == {"4000", "5100", "6100", "3100"}
    # Every revenue and expense account is zero as of the year end; 3100 holds the profit.
    assert set(_profit_and_loss(app, YEAR_END).values()) == {Decimal("0.00")}
    at_year_end = _balances(app, YEAR_END)
    assert at_year_end["3100"] == Decimal("-600.50")  # a credit: 750.50 - 150.00
    assert at_year_end["1000"] == Decimal("1600.50")
    # The new year starts from zero: only 2026's sale shows.
    now = _balances(app)
    assert now["4000"] == Decimal("-50.00")
    assert now["3100"] == Decimal("-600.50")
    # It is in the ledger like any entry, and in the list of journal entries.
    [caused] = reports.journal_entries(app.db, app.places, str(periods.id))
    assert (caused["journal_entry_id"], caused["caused_by"], caused["date"]) == (
        str(entry.id), posting_rules.YEAR_END_CLOSE, "2025-12-31")
    listed = lists.journal_entries(app.db, app.places, q=posting_rules.YEAR_END_CLOSE)
    assert [str(item.id) for item in listed.items] == [str(entry.id)]


def test_a_year_is_closed_once(app: O2C) -> None:
    _story(app)
    app.year_end(CTX, 2025)
    head = app.db.head()
    with pytest.raises(InvalidStateError, match="already closed"):
        app.year_end(CTX, 2025)
    with pytest.raises(InvalidStateError, match="2025 is closed"):
        app.year_end(CTX, 2024)  # an earlier year after a later one
    assert app.db.head() == head


def test_reopening_reverses_the_close_and_closing_again_gives_the_same(app: O2C) -> None:
    _story(app)
    first = app.year_end(CTX, 2025)
    closed = _balances(app, YEAR_END)
    reopened = app.reopen_period(CTX, "2025-11-30", "late freight bill")
    periods = app.periods()
    assert periods is not None
    assert periods.closed_through == date(2025, 11, 30)
    assert periods.closed_years == {}
    assert reopened.extra["reopened_years"] == [2025]
    [reversal_id] = reopened.extra["reversal_ids"]
    reversal = app.journal_entry(reversal_id)
    assert reversal.cause == posting_rules.YEAR_END_REOPEN
    assert reversal.date == YEAR_END
    assert reversal.source_id == periods.id
    assert reversal.reverses == app.journal_entry(first.extra["entry_id"]).id
    assert app.journal_entry(first.extra["entry_id"]).reversed_by == reversal.id
    # The books are as before the close: revenue and expenses back, 3100 empty.
    again = _balances(app, YEAR_END)
    assert again["3100"] == 0
    assert again["4000"] == Decimal("-750.50")
    # Postings dated in the reopened days are accepted again; November stays closed.
    with pytest.raises(PeriodClosedError):
        _entry(app, "2025-11-30", "6100", "1000", "5.00")
    _entry(app, "2025-12-05", "6100", "1000", "5.00")
    second = app.year_end(CTX, 2025)
    assert second.extra["entry_id"] != first.extra["entry_id"]
    after = _balances(app, YEAR_END)
    assert set(_profit_and_loss(app, YEAR_END).values()) == {Decimal("0.00")}
    assert after["3100"] == closed["3100"] + Decimal("5.00")
    # Without the correction, closing again gives exactly the first result.
    app.reopen_period(CTX, "2025-11-30", "undo the late bill")
    _entry(app, "2025-12-06", "1000", "6100", "5.00")
    app.year_end(CTX, 2025)
    assert _balances(app, YEAR_END) == closed


def test_reopen_and_year_end_show_in_the_history(app: O2C) -> None:
    _story(app)
    app.year_end(CTX, 2025)
    app.reopen_period(CTX, "2025-06-30", "audit adjustment")
    steps = audit.history(app, str(AccountingPeriods.create_id()))
    assert [s["event"] for s in steps] == [
        "AccountingPeriods.Opened", "AccountingPeriods.Closed", "AccountingPeriods.YearClosed",
        "AccountingPeriods.Reopened", "AccountingPeriods.YearReopened"]
    reopened = steps[3]
    assert reopened["actor"] == "finance"
    assert reopened["data"]["reason"] == "audit adjustment"
    assert reopened["data"]["through"] == date(2025, 6, 30)
    assert reopened["data"]["previously_closed_through"] == YEAR_END


def test_reopen_refusals_record_nothing(app: O2C) -> None:
    head = app.db.head()
    with pytest.raises(InvalidStateError, match="never been closed"):
        app.reopen_period(CTX, "2025-01-01", "why not")
    app.close_period(CTX, "2025-12-31")
    head = app.db.head()
    with pytest.raises(InvalidStateError, match="earlier date"):
        app.reopen_period(CTX, "2025-12-31", "same day")
    with pytest.raises(InvalidStateError, match="earlier date"):
        app.reopen_period(CTX, "2026-01-31", "later")
    with pytest.raises(InvalidInputError, match="reason"):
        app.reopen_period(CTX, "2025-06-30", "")
    with pytest.raises(InvalidInputError):
        app.reopen_period(CTX, "not a date", "typo")
    with pytest.raises(VersionMismatchError):
        app.reopen_period(Context(actor="f", today=TODAY, expected_version=1),
                          "2025-06-30", "stale page")
    assert app.db.head() == head


def test_close_refuses_a_date_after_the_business_date(app: O2C) -> None:
    head = app.db.head()
    with pytest.raises(InvalidInputError, match="after the business date 2026-03-15"):
        app.close_period(CTX, "2026-03-16")
    with pytest.raises(InvalidInputError, match="after the business date"):
        app.year_end(CTX, 2026)  # the year is not over
    assert app.db.head() == head
    assert app.close_period(CTX, "2026-03-15").extra["closed_through"] == "2026-03-15"


def test_year_end_needs_the_year_closed_and_the_command_performs_it(app: O2C) -> None:
    _story(app)
    with pytest.raises(InvalidStateError, match="close the books through 2025-12-31"):
        app.close_year(CTX, 2025)  # the bare command requires it
    app.close_period(CTX, "2026-01-31")  # closed beyond the year end: fine
    result = app.year_end(CTX, 2025)
    periods = app.periods()
    assert periods is not None
    assert periods.closed_through == date(2026, 1, 31)  # not moved back
    assert result.extra["year"] == 2025
    with pytest.raises(InvalidInputError, match="year"):
        app.year_end(CTX, "twenty")


def test_year_end_with_nothing_to_move_records_the_year(app: O2C) -> None:
    _entry(app, "2025-02-01", "1000", "3000", "10.00")
    result = app.year_end(CTX, 2025)
    assert result.extra["entry_id"] is None
    periods = app.periods()
    assert periods is not None
    assert periods.closed_years == {2025: None}
    app.reopen_period(CTX, "2025-12-30", "nothing to undo")
    periods = app.periods()
    assert periods is not None
    assert periods.closed_years == {}


def test_year_end_is_idempotent_under_a_key(app: O2C) -> None:
    _story(app)
    keyed = Context(actor="finance", today=TODAY, idempotency_key="ye-2025")
    first = app.year_end(keyed, 2025)
    head = app.db.head()
    again = app.year_end(keyed, 2025)
    assert (again.id, again.version, again.extra) == (first.id, first.version, first.extra)
    assert app.db.head() == head


def test_reversal_not_before_the_entry_and_manual_entries_not_in_the_future(app: O2C) -> None:
    entry = _entry(app, "2026-03-10", "1000", "3000", "25.00")
    head = app.db.head()
    with pytest.raises(InvalidInputError, match="before the entry it reverses"):
        app.reverse_journal_entry(CTX, entry, date="2026-03-09")
    with pytest.raises(InvalidInputError, match="after the business date"):
        app.reverse_journal_entry(CTX, entry, date="2026-03-16")
    with pytest.raises(InvalidInputError, match="after the business date 2026-03-15"):
        _entry(app, "2026-03-16", "1000", "3000", "1.00")
    assert app.db.head() == head
    assert app.journal_entry(entry).reversed_by is None
    same_day = app.reverse_journal_entry(CTX, entry, date="2026-03-10")
    assert app.journal_entry(same_day.id).date == date(2026, 3, 10)
    _entry(app, "2026-03-15", "1000", "3000", "1.00")  # today is fine
