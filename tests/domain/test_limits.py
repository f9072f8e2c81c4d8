"""Every figure o2c records, given or derived, fits what the read models store.

Read models keep money as 64-bit integers of minor units and quantities as 64-bit
integers of thousandths; ``money.MAX_AMOUNT`` and ``money.MAX_QUANTITY`` bound each
figure so sums stay exact. Each derived figure (a line's total, an order's total with
tax, an invoice, a receipt's or a count's value, a shipment's cost, a journal entry's
total) is refused beyond the limit before any event is triggered.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from refusal import refused

from o2c.domain.errors import (
    InvalidAmountError,
    InvalidQuantityError,
    LimitExceededError,
)
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.money import MAX_AMOUNT, MAX_QUANTITY
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem

D = Decimal
DAY = date(2026, 3, 2)
CUSTOMER = uuid.uuid4()


def _place(quantity: str, unit_price: str, tax_rate: str = "0") -> SalesOrder:
    return SalesOrder.place(CUSTOMER, [{"sku": "A-1", "quantity": quantity,
                                        "unit_price": unit_price}],
                            currency="USD", tax_rate=tax_rate, payment_terms_days=30)


def test_the_issues_poison_line_is_refused() -> None:
    # Each figure was within the old input limit (10^12); the line total is 10^24.
    with pytest.raises(InvalidQuantityError, match="limit"):
        _place("1000000000000", "1000000000000")
    with pytest.raises(InvalidAmountError, match=r"line 1 total \(quantity x unit_price\)"):
        _place(str(MAX_QUANTITY), "1000000000000")


@pytest.mark.parametrize(("quantity", "unit_price"), [
    (str(MAX_QUANTITY), "1000.00"), ("1", str(MAX_AMOUNT)), ("0.001", str(MAX_AMOUNT)),
    ("4", "250000000000"),
])
def test_a_line_total_at_the_limit_is_accepted(quantity: str, unit_price: str) -> None:
    order = _place(quantity, unit_price)
    assert order.total <= MAX_AMOUNT


@pytest.mark.parametrize(("quantity", "unit_price"), [
    (str(MAX_QUANTITY), "1000.01"), ("2", str(MAX_AMOUNT)), ("4", "250000000000.01"),
])
def test_a_line_total_beyond_the_limit_is_refused(quantity: str, unit_price: str) -> None:
    with pytest.raises(InvalidAmountError, match="line 1 total"):
        _place(quantity, unit_price)


def test_an_order_whose_total_with_tax_is_beyond_the_limit_is_refused() -> None:
    assert _place("1", str(MAX_AMOUNT), tax_rate="0").total == MAX_AMOUNT
    with pytest.raises(InvalidAmountError, match="total with tax"):
        _place("1", str(MAX_AMOUNT), tax_rate="0.01")
    # Many lines each within the limit, together beyond it.
    lines = [{"sku": f"S-{i}", "quantity": "1", "unit_price": str(MAX_AMOUNT / 4)}
             for i in range(5)]
    with pytest.raises(InvalidAmountError, match="total with tax"):
        SalesOrder.place(CUSTOMER, lines, currency="USD", tax_rate="0", payment_terms_days=30)


def test_a_receipt_worth_more_than_the_limit_is_refused_without_an_event() -> None:
    item = StockItem.register("A-1", "Part")
    assert item.receive(str(MAX_QUANTITY), "1000") == MAX_AMOUNT
    refused(item, InvalidAmountError, lambda: item.receive(str(MAX_QUANTITY), "1000.01"),
            match="receipt's value")


def test_a_count_gain_worth_more_than_the_limit_is_refused() -> None:
    item = StockItem.register("A-1", "Part")
    item.receive("1", "1000.01")
    # Counted a billion: the gain at the last unit cost (1000.01 each) is past the limit.
    refused(item, LimitExceededError,
            lambda: item.adjust(str(MAX_QUANTITY), "count"), match="count's value")


def test_a_count_loss_and_an_issue_worth_more_than_the_limit_are_refused() -> None:
    item = StockItem.register("A-1", "Part")
    item.receive("1", str(MAX_AMOUNT))
    item.receive("1", str(MAX_AMOUNT))  # two units, stock worth twice the limit
    refused(item, LimitExceededError, lambda: item.adjust("0", "lost"),
            match="count's value")
    order = uuid.uuid4()
    item.reserve(order, "2")
    refused(item, LimitExceededError, lambda: item.issue(order, "2"),
            match="cost of the issue")
    assert item.issue(order, "1") == MAX_AMOUNT  # one at a time is within it


def test_a_shipment_whose_cost_is_beyond_the_limit_is_refused() -> None:
    lines = [{"sku": f"S-{i}", "quantity": "1", "unit_price": "1"} for i in range(2)]
    order = SalesOrder.place(CUSTOMER, lines, currency="USD", tax_rate="0",
                             payment_terms_days=30)
    order.confirm()
    planned = order.plan_shipment([{"sku": "S-0", "quantity": "1"},
                                   {"sku": "S-1", "quantity": "1"}])
    # Each SKU's FIFO cost within the limit, the shipment's cost beyond it.
    costs = {"S-0": MAX_AMOUNT, "S-1": D("0.01")}
    refused(order, LimitExceededError, lambda: order.ship(planned, costs, DAY),
            match="cost of shipment 1")


def test_a_journal_entry_whose_total_is_beyond_the_limit_is_refused() -> None:
    accounts = {"1000": "asset", "3000": "equity"}
    half = MAX_AMOUNT / 2
    entry = JournalEntry.post(date=DAY, memo="at the limit", accounts=accounts, lines=[
        {"account": "1000", "debit": str(half)}, {"account": "1000", "debit": str(half)},
        {"account": "3000", "credit": str(half)}, {"account": "3000", "credit": str(half)}])
    assert entry.total == MAX_AMOUNT
    over = str(half + D("0.01"))
    with pytest.raises(InvalidAmountError, match="entry's total"):
        JournalEntry.post(date=DAY, memo="beyond", accounts=accounts, lines=[
            {"account": "1000", "debit": over}, {"account": "1000", "debit": over},
            {"account": "3000", "credit": over}, {"account": "3000", "credit": over}])
