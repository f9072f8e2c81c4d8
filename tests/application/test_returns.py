"""Returns (issue 13, part 3): invoiced goods come back, restocked at the cost they left
at or written off when damaged, credited by a numbered credit note that settles the
invoices they were on, the rest left as the customer's credit -- on SQLite and PostgreSQL.

Every test ends with ``Books(app).check()``: the DESIGN.md invariants read back from the
log (trial balance zero, Inventory == stock value, Receivable == open invoices - unapplied
credit, returned <= invoiced <= shipped <= ordered per line).
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from o2c.application import O2C, Context
from o2c.domain.errors import (
    InvalidInputError,
    InvalidStateError,
    PeriodClosedError,
    VersionMismatchError,
)
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.returns import NotInvoicedError, OverReturnError
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem
from support.books import Books

D = Decimal
TODAY = date(2026, 3, 20)
CTX = Context(actor="test", today=TODAY)


def balance(app: O2C, account: str) -> Decimal:
    total = D(0)
    for notification in app.recorder.select_notifications(start=1, limit=1_000_000):
        event = app.mapper.to_domain_event(notification)
        if isinstance(event, JournalEntry.Posted):
            total += sum((x["debit"] - x["credit"] for x in event.lines
                          if x["account"] == account), D(0))
    return total


def order_with(app: O2C, quantity: str = "10", price: str = "10.00",
               layers: tuple[tuple[str, str], ...] = (("1000", "4.00"),)) -> tuple[str, str]:
    """A customer and a confirmed order of ``quantity`` S-1 at ``price`` (8% tax), the
    stock received in ``layers`` of (quantity, unit cost)."""
    if not app.exists(StockItem.create_id("S-1")):
        app.register_stock_item(CTX, "S-1", "Sensor")
        for qty, cost in layers:
            app.receive_stock(CTX, "S-1", qty, cost)
    customer = app.register_customer(CTX, "Buyer Ltd", "buyer@example.com").id
    order = app.place_sales_order(CTX, customer, [
        {"sku": "S-1", "quantity": quantity, "unit_price": price}]).id
    app.confirm_order(CTX, order)
    return customer, order


def test_a_partial_return_restocks_at_cost_and_credits_the_invoice(app: O2C) -> None:
    _customer, order = order_with(app)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "4"}], date="2026-03-01")
    app.invoice_order(CTX, order, date="2026-03-02")
    cogs, inventory = balance(app, "5000"), app.stock_item("S-1").value
    done = app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}], date="2026-03-05",
                            reason="Wrong model")
    assert done.extra["credit_note_number"] == "CN-2026-000001"
    assert (done.extra["restocked_cost"], done.extra["net"], done.extra["tax"],
            done.extra["total"], done.extra["applied"], done.extra["unapplied"]) == (
        "4.00", "10.00", "0.80", "10.80", "10.80", "0.00")
    assert balance(app, "5000") == cogs - D("4.00")
    assert app.stock_item("S-1").value == inventory + D("4.00")
    so = app.sales_order(order)
    assert so.returned["S-1"] == D(1)
    assert so.invoices[0]["total"] - so.invoices[0]["paid"] == D("32.40")  # 43.20 - 10.80
    assert so.open_balance == D("32.40")
    assert so.returns[0]["credit_note_number"] == "CN-2026-000001"
    Books(app).check()


def test_returning_everything_restores_exactly_the_cogs_and_revenue_posted(app: O2C) -> None:
    # Layers at awkward unit costs, partial quantities, shipments spanning layers.
    _customer, order = order_with(app, "7.5", "13.37",
                                  layers=(("2.25", "3.33"), ("3", "4.07"), ("10", "5.11")))
    for qty in ("1.125", "2.5", "3.875"):
        app.ship_order(CTX, order, [{"sku": "S-1", "quantity": qty}])
        app.invoice_order(CTX, order)
    cogs, revenue, tax = balance(app, "5000"), balance(app, "4000"), balance(app, "2100")
    value_before = app.stock_item("S-1").value
    assert cogs > 0
    for qty in ("0.333", "2", "1.111", "4.056"):
        app.return_goods(CTX, order, [{"sku": "S-1", "quantity": qty}])
        Books(app).check()
    assert balance(app, "5000") == 0
    assert balance(app, "4000") == 0
    assert balance(app, "2100") == 0
    assert revenue < 0
    assert tax < 0
    assert balance(app, "1100") == 0  # nothing paid, everything credited
    assert app.stock_item("S-1").value == value_before + cogs
    so = app.sales_order(order)
    assert all(i["paid"] == i["total"] for i in so.invoices)
    assert so.open_balance == 0
    assert so.returned["S-1"] == D("7.5")
    with pytest.raises(OverReturnError):
        app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "0.001"}])


def test_the_cost_comes_from_the_most_recent_shipments_first(app: O2C) -> None:
    _customer, order = order_with(app, "10", "10.00",
                                  layers=(("5", "2.00"), ("5", "3.00")))
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "5"}])  # the 2.00 layer
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "5"}])  # the 3.00 layer
    app.invoice_order(CTX, order)
    assert app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "6"}]).extra[
        "restocked_cost"] == "17.00"  # 5 x 3.00 + 1 x 2.00
    assert app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "4"}]).extra[
        "restocked_cost"] == "8.00"
    Books(app).check()


def test_damaged_goods_are_written_off_and_never_restocked(app: O2C) -> None:
    _customer, order = order_with(app)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "5"}])
    app.invoice_order(CTX, order)
    on_hand, value = app.stock_item("S-1").on_hand, app.stock_item("S-1").value
    done = app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "2", "damaged": True}])
    assert (done.extra["damaged_cost"], done.extra["restocked_cost"]) == ("8.00", "0.00")
    assert (app.stock_item("S-1").on_hand, app.stock_item("S-1").value) == (on_hand, value)
    assert balance(app, "5100") == D("8.00")
    assert balance(app, "5000") == D("12.00")  # 20.00 shipped - 8.00 reversed
    assert done.extra["total"] == "21.60"
    Books(app).check()


def test_a_return_on_a_paid_invoice_leaves_credit_the_next_invoice_uses(app: O2C) -> None:
    customer, order = order_with(app)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "5"}])
    first = app.invoice_order(CTX, order).extra["invoice_number"]
    app.pay_order(CTX, order, "40.00", "part")  # 54.00 invoiced, 14.00 open
    done = app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "2"}])
    assert (done.extra["total"], done.extra["applied"], done.extra["unapplied"]) == (
        "21.60", "14.00", "7.60")
    assert done.extra["customer_credit"] == "7.60"
    assert done.extra["credits"] == [{"invoice_number": first, "total": "21.60",
                                      "applied": "14.00"}]
    assert app.customer(customer).credit == D("7.60")
    Books(app).check()
    # The next invoice uses the credit.
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}])
    assert app.invoice_order(CTX, order).extra["credit_applied"] == "7.60"
    assert app.customer(customer).credit == 0
    Books(app).check()


def test_the_credit_a_return_leaves_can_be_refunded(app: O2C) -> None:
    customer, order = order_with(app)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "2"}])
    app.invoice_order(CTX, order)
    app.pay_order(CTX, order, "21.60")
    app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "2"}])
    assert app.customer(customer).credit == D("21.60")
    app.refund_customer_credit(CTX, customer, "21.60", "cheque 7")
    assert balance(app, "1000") == 0
    assert balance(app, "1100") == 0
    Books(app).check()


def test_refusals_record_nothing(app: O2C) -> None:
    _customer, order = order_with(app)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "5"}], date="2026-03-10")
    app.invoice_order(CTX, order, date="2026-03-10")
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "2"}], date="2026-03-11")
    app.register_stock_item(CTX, "OTHER", "Other")
    head = app.db.head()
    refused: list[tuple[type[Exception], list[dict[str, object]], dict[str, object]]] = [
        (OverReturnError, [{"sku": "S-1", "quantity": "8"}], {}),
        (NotInvoicedError, [{"sku": "S-1", "quantity": "6"}], {}),
        (InvalidInputError, [{"sku": "OTHER", "quantity": "1"}], {}),
        (InvalidInputError, [{"sku": "S-1", "quantity": "1"}, {"sku": "s-1", "quantity": "1"}],
         {}),
        (InvalidInputError, [{"sku": "S-1", "quantity": "1", "damaged": "yes"}], {}),
        (InvalidInputError, [{"sku": "S-1", "quantity": "0"}], {}),
        (InvalidInputError, [{"sku": "S-1", "quantity": "-1"}], {}),
        (InvalidInputError, [], {}),
        (InvalidInputError, [{"sku": "S-1", "quantity": "1"}], {"date": "2026-03-21"}),
        (InvalidInputError, [{"sku": "S-1", "quantity": "1"}], {"date": "2026-03-10"}),
        (InvalidInputError, [{"sku": "S-1", "quantity": "1"}], {"reason": 5}),
    ]
    for error, lines, extra in refused:
        with pytest.raises(error):
            app.return_goods(CTX, order, lines, **extra)
    with pytest.raises(VersionMismatchError):
        app.return_goods(Context(actor="t", today=TODAY, expected_version=1), order,
                         [{"sku": "S-1", "quantity": "1"}])
    with pytest.raises(Exception, match="no sales order"):
        app.return_goods(CTX, "00000000-0000-0000-0000-000000000000",
                         [{"sku": "S-1", "quantity": "1"}])
    assert app.db.head() == head
    app.close_period(CTX, "2026-03-12")
    head = app.db.head()
    with pytest.raises(PeriodClosedError):
        app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}], date="2026-03-12")
    assert app.db.head() == head
    Books(app).check()


def test_an_invoice_with_returned_goods_cannot_be_credited_in_full(app: O2C) -> None:
    _customer, order = order_with(app, price="0.00")  # a free line: nothing applied
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "3"}])
    number = app.invoice_order(CTX, order).extra["invoice_number"]
    app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}])
    head = app.db.head()
    with pytest.raises(InvalidStateError, match="returned"):
        app.credit_invoice(CTX, order, number, "changed mind")
    assert app.db.head() == head
    Books(app).check()


def test_a_retried_return_records_nothing_more(app: O2C) -> None:
    _customer, order = order_with(app)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "3"}])
    app.invoice_order(CTX, order)
    ctx = Context(actor="test", today=TODAY, idempotency_key="ret-1")
    first = app.return_goods(ctx, order, [{"sku": "S-1", "quantity": "1"}])
    head = app.db.head()
    again = app.return_goods(ctx, order, [{"sku": "S-1", "quantity": "1"}])
    assert app.db.head() == head
    assert again.extra == first.extra
    assert app.sales_order(order).returned["S-1"] == D(1)


def test_replay_gives_the_same_order_and_stock(app: O2C) -> None:
    _customer, order = order_with(app, "9", "3.33", layers=(("4", "1.11"), ("10", "1.37")))
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "6"}])
    app.invoice_order(CTX, order)
    app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "2.5", "damaged": False}])
    app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1", "damaged": True}])
    so = app.sales_order(order)
    replayed: SalesOrder | None = None
    for notification in app.recorder.select_notifications(start=1, limit=1_000_000):
        event = app.mapper.to_domain_event(notification)
        if isinstance(event, SalesOrder.Event) and str(event.originator_id) == order:
            replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.returns == so.returns
    assert replayed.paid == so.paid
    assert replayed.issue_layers("S-1") == so.issue_layers("S-1")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_mix_of_shipments_invoices_payments_and_returns_keeps_the_books(
        app: O2C, seed: int) -> None:
    """Random partial shipments, invoices, payments, returns (sound and damaged), credit
    notes and refunds; every DESIGN.md invariant after each step."""
    rng = random.Random(seed)
    customer, order = order_with(app, "20", "7.77", layers=(("6", "1.13"), ("30", "2.71")))
    books = Books(app)
    for _ in range(14):
        so = app.sales_order(order)
        step = rng.choice(["ship", "invoice", "pay", "return", "return", "refund"])
        try:
            if step == "ship":
                left = D(20) - so.shipped["S-1"]
                if left:
                    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": str(
                        min(left, D(rng.randint(1, 4000)) / 1000))}])
            elif step == "invoice":
                app.invoice_order(CTX, order)
            elif step == "pay" and so.open_balance:
                app.pay_order(CTX, order, str(min(so.open_balance + D("3.00"),
                                                  D(rng.randint(100, 9000)) / 100)))
            elif step == "return":
                room = so.invoiced["S-1"] - so.returned["S-1"]
                if room:
                    app.return_goods(CTX, order, [{
                        "sku": "S-1", "quantity": str(min(room, D(rng.randint(1, 3000)) / 1000)),
                        "damaged": rng.random() < 0.3}])
            elif step == "refund" and app.customer(customer).credit:
                app.refund_customer_credit(CTX, customer, str(app.customer(customer).credit))
        except (InvalidStateError, NotInvoicedError):
            pass
        books.check()
    # Invoice what is shipped, return all that is left of the invoiced goods.
    if not app.sales_order(order).shipped["S-1"]:
        app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}])
    if app.sales_order(order).shipped["S-1"] > app.sales_order(order).invoiced["S-1"]:
        app.invoice_order(CTX, order)
    so = app.sales_order(order)
    room = so.invoiced["S-1"] - so.returned["S-1"]
    if room:
        app.return_goods(CTX, order, [{"sku": "S-1", "quantity": str(room)}])
    books.check()
    so = app.sales_order(order)
    assert so.returns
    assert so.returned["S-1"] == so.invoiced["S-1"] > 0
