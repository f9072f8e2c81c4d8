"""SalesOrder: invoiced <= shipped <= ordered, tax, payments, credit notes, cancelling."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from refusal import refused, replayed

from o2c.domain.errors import (
    InvalidAmountError,
    InvalidInputError,
    InvalidQuantityError,
    InvalidStateError,
    NothingToInvoiceError,
    OverShipmentError,
)
from o2c.domain.money import ZERO, quantize
from o2c.domain.sales_order import (
    CANCELLED,
    CONFIRMED,
    INVOICED,
    MAX_LINES,
    PAID,
    PARTIALLY_SHIPPED,
    PLACED,
    SHIPPED,
    SalesOrder,
    check_shipment_lines,
)
from strategies import invalid_order_line, order_lines, tax_rates

D = Decimal
CUSTOMER = uuid.uuid4()
DAY = date(2026, 3, 2)
_NUMBERS = itertools.count(1)


def nxt(prefix: str = "INV") -> str:
    """The next number of a series, as the application's DocumentSeries hands them out."""
    return f"{prefix}-2026-{next(_NUMBERS):06d}"


def placed(lines: list[dict[str, Any]] | None = None, *, tax_rate: str = "0.08",
           currency: str = "USD", terms: int = 30) -> SalesOrder:
    return SalesOrder.place(CUSTOMER, lines or [
        {"sku": "a-1", "quantity": "10", "unit_price": "9.99"},
        {"sku": "B-2", "quantity": "2.5", "unit_price": "100.00"},
    ], currency=currency, tax_rate=tax_rate, payment_terms_days=terms)


def confirmed(**kwargs: Any) -> SalesOrder:
    order = placed(**kwargs)
    order.confirm()
    return order


def ship(order: SalesOrder, *pairs: tuple[str, str], cost: str = "1.00",
         costs: dict[str, str] | None = None) -> None:
    """Plans and records a shipment, each SKU at the FIFO cost its stock item would return."""
    planned = order.plan_shipment([{"sku": sku, "quantity": qty} for sku, qty in pairs])
    order.ship(planned, {sku: D((costs or {}).get(sku, cost)) for sku in planned.skus}, DAY)


# Placing -----------------------------------------------------------------------------------


def test_placing_checks_and_normalises_the_lines() -> None:
    order = placed()
    assert [(x["sku"], x["quantity"], x["unit_price"]) for x in order.lines] == [
        ("A-1", D(10), D("9.99")), ("B-2", D("2.5"), D("100.00"))]
    assert (order.status, order.customer_id, order.currency, order.tax_rate) == (
        PLACED, CUSTOMER, "USD", D("0.08"))
    assert order.total == D("349.90")  # 99.90 + 250.00, before tax
    assert order.shipped == order.invoiced == {"A-1": ZERO, "B-2": ZERO}
    assert order.number == "SO-" + order.id.hex[:12].upper()
    assert [type(e) for e in order.pending_events] == [SalesOrder.Placed]


@given(order_lines(), tax_rates)
def test_any_valid_lines_place_an_order(lines: list[dict[str, str]], rate: str) -> None:
    order = placed(lines, tax_rate=rate)
    assert len(order.lines) == len(lines)
    assert [x["sku"] for x in order.lines] == [x["sku"].upper() for x in lines]
    assert order.total == sum((quantize(D(x["quantity"]) * D(x["unit_price"]))
                               for x in lines), ZERO)


@given(invalid_order_line, st.booleans())
def test_an_order_with_one_bad_line_is_refused(bad: dict[str, object], first: bool) -> None:
    good = {"sku": "Z-9", "quantity": "1", "unit_price": "1.00"}
    with pytest.raises(InvalidInputError):  # amounts, quantities and SKUs alike
        placed([bad, good] if first else [good, bad])


@pytest.mark.parametrize(("lines", "error"), [
    ([], InvalidInputError),
    ([{"sku": "A-1", "quantity": "1", "unit_price": "1.00"},
      {"sku": "a-1", "quantity": "2", "unit_price": "1.00"}], InvalidInputError),
    ([{"sku": "A-1", "quantity": "1"}], InvalidAmountError),
    ([{"sku": "A-1", "unit_price": "1.00"}], InvalidQuantityError),
    ([{"quantity": "1", "unit_price": "1.00"}], InvalidInputError),
    ([{"sku": "A-1", "quantity": "NaN", "unit_price": "1.00"}], InvalidQuantityError),
    ([{"sku": "A-1", "quantity": "1", "unit_price": "Infinity"}], InvalidAmountError),
    ([{"sku": "A-1", "quantity": "1", "unit_price": "0.001"}], InvalidAmountError),
    ([{"sku": "A-1", "quantity": "1", "unit_price": "-1.00"}], InvalidAmountError),
    ([{"sku": "A-1", "quantity": 2.0, "unit_price": "1.00"}], InvalidQuantityError),
])
def test_bad_orders_are_refused_with_the_named_error(lines: list[dict[str, object]],
                                                     error: type[Exception]) -> None:
    with pytest.raises(error):
        SalesOrder.place(CUSTOMER, lines, currency="USD", tax_rate="0.08",
                         payment_terms_days=30)


def test_an_order_has_at_most_max_lines() -> None:
    lines = [{"sku": f"S-{n}", "quantity": "1", "unit_price": "1.00"}
             for n in range(MAX_LINES + 1)]
    with pytest.raises(InvalidInputError, match="at most"):
        placed(lines)
    assert len(placed(lines[:MAX_LINES]).lines) == MAX_LINES


def test_prices_follow_the_currency_minor_unit() -> None:
    yen = placed([{"sku": "A-1", "quantity": "3", "unit_price": "500"}], currency="JPY")
    assert yen.places == 0
    assert yen.total == 1500
    with pytest.raises(InvalidAmountError):
        placed([{"sku": "A-1", "quantity": "3", "unit_price": "500.50"}], currency="JPY")


@pytest.mark.parametrize(("rate", "terms"), [("1.5", 30), ("-0.1", 30), ("NaN", 30),
                                             ("0.08", -1), ("0.08", 5000), ("0.08", "30")])
def test_tax_rate_and_terms_are_checked(rate: str, terms: Any) -> None:
    with pytest.raises(InvalidInputError):
        placed(tax_rate=rate, terms=terms)


# Confirming and shipping ---------------------------------------------------------------------


def test_confirming_a_placed_order() -> None:
    order = placed()
    order.confirm()
    assert order.status == CONFIRMED
    refused(order, InvalidStateError, order.confirm)  # only once


def test_shipping_needs_a_confirmed_order() -> None:
    order = placed()
    refused(order, InvalidStateError, lambda: ship(order, ("A-1", "1")))


def test_partial_then_full_shipment_tracks_quantities_and_cost() -> None:
    order = confirmed()
    ship(order, ("A-1", "4"), cost="2.50")
    assert order.status == PARTIALLY_SHIPPED
    assert (order.shipments, order.cost, order.shipped["A-1"]) == (1, D("2.50"), D(4))
    event = order.pending_events[-1]
    assert isinstance(event, SalesOrder.Shipped)
    assert (event.shipment_no, event.cost, event.shipped_on) == (1, D("2.50"), DAY)
    ship(order, ("a-1", "6"), ("B-2", "2.5"), costs={"A-1": "3.75", "B-2": "1.00"})
    assert order.fully_shipped
    assert order.status == SHIPPED
    assert (order.shipments, order.cost) == (2, D("7.25"))


def test_shipping_more_than_is_left_on_the_order_is_refused() -> None:
    order = confirmed()
    ship(order, ("A-1", "9"))
    refused(order, OverShipmentError, lambda: ship(order, ("A-1", "1.001")))
    refused(order, OverShipmentError, lambda: ship(order, ("B-2", "3")))
    refused(order, InvalidInputError, lambda: ship(order, ("C-3", "1")))  # not on the order
    ship(order, ("A-1", "1"))
    assert order.shipped["A-1"] == order.line("A-1")["quantity"]


@pytest.mark.parametrize("lines", [
    [], [{"sku": "A-1", "quantity": "0"}], [{"sku": "A-1", "quantity": "-2"}],
    [{"sku": "A-1", "quantity": "1"}, {"sku": "a-1", "quantity": "1"}],
    [{"sku": "bad sku", "quantity": "1"}],
])
def test_malformed_shipment_lines_are_refused(lines: list[dict[str, str]]) -> None:
    with pytest.raises(InvalidInputError):
        check_shipment_lines(lines)


# Invoicing -------------------------------------------------------------------------------------


def test_an_invoice_covers_what_shipped_and_was_not_invoiced_with_tax() -> None:
    order = confirmed(terms=14)
    refused(order, NothingToInvoiceError, lambda: order.invoice(DAY, nxt()))
    ship(order, ("A-1", "3"), ("B-2", "0.5"))
    invoice = order.invoice(DAY, nxt())
    # 3 x 9.99 = 29.97; 0.5 x 100.00 = 50.00; net 79.97; tax 8% = 6.3976 -> 6.40.
    assert (invoice.net, invoice.tax, invoice.total) == (
        D("79.97"), D("6.40"), D("86.37"))
    assert invoice.due_on == DAY + timedelta(days=14)
    assert invoice.invoice_number.startswith("INV-2026-")  # the number it was given
    assert order.invoiced == {"A-1": D(3), "B-2": D("0.5")}
    assert order.status == PARTIALLY_SHIPPED
    refused(order, NothingToInvoiceError, lambda: order.invoice(DAY, nxt()))  # nothing new shipped
    ship(order, ("A-1", "7"), ("B-2", "2"))
    second = order.invoice(DAY + timedelta(days=1), nxt())
    assert second.invoice_number != invoice.invoice_number
    assert second.net == D("69.93") + D("200.00")
    assert order.invoiced == order.shipped
    assert order.status == INVOICED
    assert order.invoiced_total == invoice.total + second.total


def test_tax_is_rounded_half_to_even_once_per_invoice() -> None:
    order = confirmed(lines=[{"sku": "A-1", "quantity": "1", "unit_price": "0.25"},
                             {"sku": "B-2", "quantity": "1", "unit_price": "0.25"}],
                      tax_rate="0.05")
    ship(order, ("A-1", "1"), ("B-2", "1"))
    invoice = order.invoice(DAY, nxt())
    assert (invoice.net, invoice.tax, invoice.total) == (
        D("0.50"), D("0.02"), D("0.52"))  # 0.025 -> 0.02, not 0.0125 + 0.0125 -> 0.02 + 0.02


def test_a_cancelled_order_cannot_be_invoiced_or_paid() -> None:
    order = confirmed()
    order.cancel("customer changed their mind")
    refused(order, InvalidStateError, lambda: order.invoice(DAY, nxt()))
    refused(order, InvalidStateError, lambda: order.pay("1.00", "r", DAY))
    refused(order, InvalidStateError, order.confirm)
    refused(order, InvalidStateError, lambda: ship(order, ("A-1", "1")))


# Payments ----------------------------------------------------------------------------------------


def invoiced_twice() -> SalesOrder:
    """Two invoices: 10.80 and 21.60 (10.00 and 20.00 net, 8% tax)."""
    order = confirmed(lines=[{"sku": "A-1", "quantity": "3", "unit_price": "10.00"}])
    ship(order, ("A-1", "1"))
    order.invoice(DAY, nxt())
    ship(order, ("A-1", "2"))
    order.invoice(DAY, nxt())
    return order


def test_payments_are_allocated_to_the_oldest_open_invoice_first() -> None:
    order = invoiced_twice()
    assert order.open_balance == D("32.40")
    payment = order.pay("15.00", "wire 1", DAY)
    assert payment.unapplied == ZERO
    assert payment.allocations == [
        {"invoice_number": order.invoices[0]["invoice_number"], "amount": D("10.80")},
        {"invoice_number": order.invoices[1]["invoice_number"], "amount": D("4.20")}]
    assert [i["paid"] for i in order.invoices] == [D("10.80"), D("4.20")]
    assert (order.paid, order.open_balance, order.status) == (D("15.00"), D("17.40"), INVOICED)
    event = order.pending_events[-1]
    assert isinstance(event, SalesOrder.PaymentReceived)
    assert (event.amount, event.reference, event.received_on) == (D("15.00"), "wire 1", DAY)
    order.pay("17.40", None, DAY)
    assert (order.open_balance, order.status) == (ZERO, PAID)


def test_an_overpayment_settles_what_is_open_and_leaves_the_rest_unapplied() -> None:
    # Was: overpayment refused. Now the rest is the customer's credit (the application
    # records it on the Customer); the order is never paid beyond its invoices.
    order = invoiced_twice()
    payment = order.pay("32.41", "r", DAY)
    assert (payment.applied, payment.unapplied) == (D("32.40"), D("0.01"))
    event = order.pending_events[-1]
    assert isinstance(event, SalesOrder.PaymentReceived)
    assert event.amount == D("32.40")  # what the order's invoices took
    assert (order.paid, order.open_balance, order.status) == (D("32.40"), ZERO, PAID)
    versions = order.version
    again = order.pay("0.01", "r", DAY)  # nothing open: all of it is credit, no order event
    assert (again.applied, again.unapplied, order.version) == (ZERO, D("0.01"), versions)


def test_paying_an_order_with_nothing_invoiced_is_all_unapplied() -> None:
    order = confirmed()
    payment = order.pay("1.00", "r", DAY)
    assert (payment.allocations, payment.unapplied, order.paid) == ([], D("1.00"), ZERO)
    assert not order.pending_events[-1:] or not isinstance(
        order.pending_events[-1], SalesOrder.PaymentReceived)


@pytest.mark.parametrize("amount", ["0", "-1.00", "1.001", "NaN", "Infinity", 1.5, None])
def test_bad_payment_amounts_are_refused(amount: object) -> None:
    order = invoiced_twice()
    refused(order, InvalidAmountError, lambda: order.pay(amount, "r", DAY))


# Credit notes ---------------------------------------------------------------------------------


def test_a_credit_note_reverses_an_unpaid_invoice_and_frees_its_goods_to_invoice_again() -> None:
    order = invoiced_twice()
    first, second = (i["invoice_number"] for i in order.invoices)
    credited = order.credit(second, "wrong price", DAY, nxt("CN"))
    assert next(i for i in order.invoices if i["invoice_number"] == second)["credited"]
    assert credited.invoice_number == second
    assert credited.total == D("21.60")
    assert order.invoiced["A-1"] == 1
    assert order.invoiced_total == D("10.80")
    assert order.status == SHIPPED
    event = order.pending_events[-1]
    assert isinstance(event, SalesOrder.InvoiceCredited)
    assert event.credit_note_number.startswith("CN-2026-")
    refused(order, InvalidStateError, lambda: order.credit(second, "again", DAY, nxt("CN")))
    again = order.invoice(DAY, nxt())  # the goods can be invoiced again
    assert again.invoice_number not in (first, second)
    assert again.total == D("21.60")
    order.pay("20.00", "r", DAY)  # skips the credited invoice
    assert [i["paid"] for i in order.invoices] == [D("10.80"), ZERO, D("9.20")]
    refused(order, InvalidStateError, lambda: order.credit(first, "paid already", DAY, nxt("CN")))
    refused(order, InvalidInputError, lambda: order.credit("INV-NOPE", "typo", DAY, nxt("CN")))
    refused(order, InvalidInputError,
            lambda: order.credit(again.invoice_number, "", DAY, nxt("CN")))


# Cancelling ------------------------------------------------------------------------------------


def test_a_placed_or_confirmed_order_can_be_cancelled_once() -> None:
    for order in (placed(), confirmed()):
        order.cancel("no longer needed")
        assert (order.status, order.cancel_reason) == (CANCELLED, "no longer needed")
        refused(order, InvalidStateError, lambda order=order: order.cancel("again"))


def test_cancel_is_refused_once_anything_shipped() -> None:
    order = confirmed()
    ship(order, ("B-2", "0.001"))
    refused(order, InvalidStateError, lambda: order.cancel("too late"), match="shipped")


def test_cancel_needs_a_reason() -> None:
    order = placed()
    refused(order, InvalidInputError, lambda: order.cancel("  "))


# Properties ----------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.sampled_from(["ship", "invoice", "pay", "credit"]),
                          st.integers(min_value=0, max_value=100)), max_size=30))
def test_invoiced_never_exceeds_shipped_nor_shipped_ordered(
        steps: list[tuple[str, int]]) -> None:
    order = confirmed()
    for action, percent in steps:
        try:
            if action == "ship":
                line = order.lines[percent % 2]
                left = line["quantity"] - order.shipped[line["sku"]]
                qty = max(D("0.001"), (left * percent / 100).quantize(D("0.001")))
                ship(order, (line["sku"], str(qty)))
            elif action == "invoice":
                order.invoice(DAY, nxt())
            elif action == "pay":
                order.pay(str(max(D("0.01"), quantize(order.open_balance * percent / 100))),
                          "r", DAY)
            elif order.invoices:
                order.credit(order.invoices[percent % len(order.invoices)]["invoice_number"],
                             "redo", DAY, nxt("CN"))
        except (OverShipmentError, InvalidStateError, InvalidInputError):
            pass
        for line in order.lines:
            sku = line["sku"]
            assert ZERO <= order.invoiced[sku] <= order.shipped[sku] <= line["quantity"]
        assert ZERO <= order.paid <= order.invoiced_total
        assert order.open_balance == sum((i["total"] - i["paid"] for i in order.invoices
                                          if not i["credited"]), ZERO)
        for invoice in order.invoices:
            assert invoice["total"] == invoice["net"] + invoice["tax"]
            assert ZERO <= invoice["paid"] <= invoice["total"]
    rebuilt = replayed(order)
    assert (rebuilt.shipped, rebuilt.invoiced, rebuilt.invoices, rebuilt.paid) == (
        order.shipped, order.invoiced, order.invoices, order.paid)


@pytest.mark.parametrize("line", ["A-1", None, ["A-1", "1", "1.00"]])
def test_a_line_that_is_not_an_object_is_invalid_input(line: object) -> None:
    with pytest.raises(InvalidInputError):
        placed([line])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError):
        check_shipment_lines([line])  # type: ignore[list-item]


def test_a_shipment_planned_on_an_older_version_of_the_order_is_refused() -> None:
    order = confirmed()
    planned = order.plan_shipment([{"sku": "A-1", "quantity": "1"}])
    ship(order, ("A-1", "1"))  # the order moved on since
    refused(order, InvalidStateError,
            lambda: order.ship(planned, {"A-1": D("1.00")}, DAY))
