"""JournalEntry: balanced exactly over known accounts, never edited, reversed by a mirror."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from refusal import refused

from o2c.domain.errors import (
    InvalidAmountError,
    InvalidInputError,
    InvalidStateError,
    UnbalancedEntryError,
    UnknownReferenceError,
)
from o2c.domain.journal_entry import MAX_LINES, JournalEntry
from o2c.domain.ledger_account import DEFAULT_CHART
from o2c.domain.money import ZERO
from strategies import amount_decimals, balanced_lines, invalid_amounts

D = Decimal
ACCOUNTS = {code: kind for code, _, kind in DEFAULT_CHART}


def post(lines: list[dict[str, Any]], **kwargs: Any) -> JournalEntry:
    return JournalEntry.post(date=kwargs.pop("date", "2026-03-31"),
                             memo=kwargs.pop("memo", "accrual"), lines=lines,
                             accounts=ACCOUNTS, **kwargs)


def test_a_balanced_entry_is_posted_as_a_manual_entry() -> None:
    entry = post([{"account": "5000", "debit": "120"},
                  {"account": "2000", "credit": "100.5"},
                  {"account": "2100", "credit": "19.50"}])
    assert entry.lines == [
        {"account": "5000", "debit": D("120.00"), "credit": D("0.00")},
        {"account": "2000", "debit": D("0.00"), "credit": D("100.50")},
        {"account": "2100", "debit": D("0.00"), "credit": D("19.50")}]
    assert (entry.date, entry.memo, entry.total) == (date(2026, 3, 31), "accrual", D("120.00"))
    assert (entry.cause, entry.source_id, entry.source_version, entry.reverses) == (
        "JournalEntry.Posted", None, None, None)
    assert [type(e) for e in entry.pending_events] == [JournalEntry.Posted]


def test_an_entry_caused_by_a_business_event_names_it() -> None:
    source = uuid.uuid4()
    entry = post([{"account": "1100", "debit": "10.80"}, {"account": "4000", "credit": "10.00"},
                  {"account": "2100", "credit": "0.80"}],
                 cause="SalesOrder.Invoiced", source_id=source, source_version=4)
    event = entry.pending_events[0]
    assert isinstance(event, JournalEntry.Posted)
    assert (event.cause, event.source_id, event.source_version) == (
        "SalesOrder.Invoiced", source, 4)


@given(balanced_lines())
def test_any_balanced_lines_post_and_balance_exactly(lines: list[dict[str, str]]) -> None:
    entry = post(lines)
    debits = sum((x["debit"] for x in entry.lines), ZERO)
    credits = sum((x["credit"] for x in entry.lines), ZERO)
    assert debits == credits == entry.total > 0
    for line in entry.lines:
        assert (line["debit"] == 0) != (line["credit"] == 0)  # one side each


@given(balanced_lines(), st.sampled_from(["0.01", "-0.01", "1000.00"]), st.data())
def test_an_entry_off_by_any_amount_is_unbalanced(lines: list[dict[str, str]], skew: str,
                                                  data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    side = "debit" if "debit" in lines[index] else "credit"
    changed = D(lines[index][side]) + D(skew)
    if changed <= 0:
        return
    skewed = [dict(x) for x in lines]
    skewed[index][side] = str(changed)
    with pytest.raises(UnbalancedEntryError, match="do not equal"):
        post(skewed)


@pytest.mark.parametrize(("lines", "error"), [
    ([{"account": "1000", "debit": "1.00"}], UnbalancedEntryError),
    ([], UnbalancedEntryError),
    ([{"account": "1000", "debit": "1.00"}, {"account": "3000", "credit": "0.99"}],
     UnbalancedEntryError),
    ([{"account": "1000", "debit": "1.00", "credit": "1.00"},
      {"account": "3000", "credit": "1.00"}], UnbalancedEntryError),
    ([{"account": "1000"}, {"account": "3000", "credit": "1.00"}], UnbalancedEntryError),
    ([{"account": "9999", "debit": "1.00"}, {"account": "3000", "credit": "1.00"}],
     UnknownReferenceError),
    ([{"account": 1000, "debit": "1.00"}, {"account": "3000", "credit": "1.00"}],
     UnknownReferenceError),
    ([{"debit": "1.00"}, {"account": "3000", "credit": "1.00"}], UnknownReferenceError),
    ([{"account": "1000", "debit": "0"}, {"account": "3000", "credit": "0"}],
     InvalidAmountError),
    ([{"account": "1000", "debit": "-1.00"}, {"account": "3000", "credit": "-1.00"}],
     InvalidAmountError),
    ([{"account": "1000", "debit": "NaN"}, {"account": "3000", "credit": "NaN"}],
     InvalidAmountError),
    ([{"account": "1000", "debit": "Infinity"}, {"account": "3000", "credit": "Infinity"}],
     InvalidAmountError),
    ([{"account": "1000", "debit": "0.001"}, {"account": "3000", "credit": "0.001"}],
     InvalidAmountError),
    ([{"account": "1000", "debit": 0.1}, {"account": "3000", "credit": 0.1}],
     InvalidAmountError),
])
def test_malformed_entries_are_refused_with_the_named_error(
        lines: list[dict[str, object]], error: type[Exception]) -> None:
    with pytest.raises(error):
        post(lines)


@given(invalid_amounts.filter(lambda amount: amount is not None))  # None: no side given
def test_every_invalid_amount_on_a_line_is_refused(amount: object) -> None:
    with pytest.raises(InvalidAmountError):
        post([{"account": "1000", "debit": amount}, {"account": "3000", "credit": "1.00"}])


def test_an_entry_has_at_most_max_lines() -> None:
    lines = [{"account": "1000", "debit": "1.00"}] * MAX_LINES + [
        {"account": "3000", "credit": str(MAX_LINES)}]
    with pytest.raises(InvalidInputError, match="at most"):
        post(lines)


@pytest.mark.parametrize(("day", "memo"), [("2026-02-30", "m"), ("31/03/2026", "m"),
                                           (None, "m"), ("2026-03-31", ""),
                                           ("2026-03-31", "x" * 2001)])
def test_date_and_memo_are_checked(day: object, memo: str) -> None:
    with pytest.raises(InvalidInputError):
        post([{"account": "1000", "debit": "1"}, {"account": "3000", "credit": "1"}],
             date=day, memo=memo)


@given(amount_decimals)
def test_zero_decimal_books_refuse_cents(amount: D) -> None:
    whole = str(amount.to_integral_value() or 1)
    entry = post([{"account": "1000", "debit": whole}, {"account": "3000", "credit": whole}],
                 places=0)
    assert entry.total == D(whole)
    if amount != amount.to_integral_value():
        with pytest.raises(InvalidAmountError):
            post([{"account": "1000", "debit": str(amount)},
                  {"account": "3000", "credit": str(amount)}], places=0)


# Reversals ---------------------------------------------------------------------------------


def test_a_reversal_mirrors_every_line_and_marks_the_original() -> None:
    original = post([{"account": "5000", "debit": "120.00"},
                     {"account": "2000", "credit": "100.00"},
                     {"account": "2100", "credit": "20.00"}])
    reversal = original.reversal(date="2026-04-01", memo="wrong supplier")
    assert [(x["account"], x["debit"], x["credit"]) for x in reversal.lines] == [
        ("5000", D("0.00"), D("120.00")), ("2000", D("100.00"), D("0.00")),
        ("2100", D("20.00"), D("0.00"))]
    assert (reversal.reverses, reversal.source_id, reversal.cause) == (
        original.id, original.id, "JournalEntry.Reversed")
    assert reversal.source_version == original.version  # the Reversed event it pairs with
    assert original.reversed_by == reversal.id
    assert isinstance(original.pending_events[-1], JournalEntry.Reversed)
    for account in ("5000", "2000", "2100"):  # together they net to nothing
        net = sum((x["debit"] - x["credit"] for e in (original, reversal) for x in e.lines
                   if x["account"] == account), ZERO)
        assert net == 0


def test_an_entry_is_reversed_at_most_once_and_a_reversal_is_not_reversed() -> None:
    original = post([{"account": "1000", "debit": "5"}, {"account": "3000", "credit": "5"}])
    reversal = original.reversal(date="2026-04-01", memo="undo")
    refused(original, InvalidStateError,
            lambda: original.reversal(date="2026-04-02", memo="undo twice"))
    refused(reversal, InvalidStateError,
            lambda: reversal.reversal(date="2026-04-02", memo="redo"))


def test_a_reversal_with_a_bad_date_leaves_the_original_unmarked() -> None:
    original = post([{"account": "1000", "debit": "5"}, {"account": "3000", "credit": "5"}])
    refused(original, InvalidInputError, lambda: original.reversal(date="never", memo="undo"))
    assert original.reversed_by is None


@pytest.mark.parametrize("line", ["1000", None, ["1000", "1.00"]])
def test_a_line_that_is_not_an_object_is_invalid_input(line: object) -> None:
    with pytest.raises(InvalidInputError):
        post([line, {"account": "3000", "credit": "1.00"}])  # type: ignore[list-item]


@pytest.mark.parametrize("cause", ["SalesOrder.Invoiced", "SalesOrder.Shipped",
                                   "SalesOrder.PaymentReceived", "StockItem.Received"])
def test_an_automatic_posting_is_not_reversed_by_hand(cause: str) -> None:
    entry = post([{"account": "1100", "debit": "10.80"}, {"account": "4000", "credit": "10.80"}],
                 cause=cause, source_id=uuid.uuid4(), source_version=3)
    refused(entry, InvalidStateError, lambda: entry.reversal(date="2026-04-01", memo="undo"))
