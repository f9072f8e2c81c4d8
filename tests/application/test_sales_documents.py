"""Sales documents (issue 12): effective dates, payments against invoices, customer credit
and refunds, and gap-free invoice and credit-note numbers -- on SQLite and PostgreSQL.

Every test checks the receivables invariant from the log: the Receivable account (1100)
equals the open invoices less the customers' unapplied credit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from o2c.application import O2C, Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.customer import Customer, InsufficientCreditError
from o2c.domain.document_series import DocumentSeries
from o2c.domain.errors import (
    InvalidInputError,
    InvalidStateError,
    NothingToInvoiceError,
    PeriodClosedError,
)
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem

D = Decimal
ZERO = D("0.00")
TODAY = date(2026, 3, 20)
CTX = Context(actor="test", today=TODAY)


def events(app: O2C) -> Iterator[object]:
    for notification in app.recorder.select_notifications(start=1, limit=1_000_000):
        yield app.mapper.to_domain_event(notification)


def balance(app: O2C, account: str, as_of: date | None = None) -> Decimal:
    return sum((line["debit"] - line["credit"] for e in events(app)
                if isinstance(e, JournalEntry.Posted) and (as_of is None or e.date <= as_of)
                for line in e.lines if line["account"] == account), D(0))


def check_receivable(app: O2C) -> None:
    """1100 == sum of open invoices - sum of unapplied customer credit; paid <= total."""
    open_total, credit, orders, customers = D(0), D(0), set(), set()
    for e in events(app):
        if isinstance(e, SalesOrder.Placed):
            orders.add(e.originator_id)
        if isinstance(e, Customer.Registered):
            customers.add(e.originator_id)
    for order_id in orders:
        for invoice in app.sales_order(order_id).invoices:
            assert ZERO <= invoice["paid"] <= invoice["total"]
            if not invoice["credited"]:
                open_total += invoice["total"] - invoice["paid"]
    for customer_id in customers:
        credit += app.customer(customer_id).credit
    assert balance(app, "1100") == open_total - credit


def causes(app: O2C) -> list[str]:
    return [e.cause for e in events(app) if isinstance(e, JournalEntry.Posted)]


def setup(app: O2C, quantity: str = "10", customer: str | None = None) -> tuple[str, str]:
    """A customer and a confirmed order of ``quantity`` at 10.00 (8% tax: 10.80 each)."""
    if not app.exists(StockItem.create_id("S-1")):
        app.register_stock_item(CTX, "S-1", "Sensor")
        app.receive_stock(CTX, "S-1", "1000", "4.00")
    customer = customer or app.register_customer(CTX, "Buyer Ltd", "buyer@example.com").id
    order = app.place_sales_order(CTX, customer, [
        {"sku": "S-1", "quantity": quantity, "unit_price": "10.00"}]).id
    app.confirm_order(CTX, order)
    return customer, order


def shipped_and_invoiced(app: O2C, *days: str) -> tuple[str, str, list[str]]:
    """One unit shipped and invoiced on each of ``days``."""
    customer, order = setup(app)
    numbers = []
    for day in days:
        app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}], date=day)
        numbers.append(app.invoice_order(CTX, order, date=day).extra["invoice_number"])
    return customer, order, numbers


# Dates -------------------------------------------------------------------------------------


def test_documents_take_the_date_given_and_post_on_it(app: O2C) -> None:
    _customer, order = setup(app)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "2"}], date="2026-02-10")
    invoice = app.invoice_order(CTX, order, date=date(2026, 2, 11))
    app.pay_order(CTX, order, "5.00", "part", date="2026-02-20")
    so = app.sales_order(order)
    assert so.invoices[0]["issued_on"] == date(2026, 2, 11)
    assert so.invoices[0]["due_on"] == date(2026, 3, 13)
    posted = {e.cause: e.date for e in events(app) if isinstance(e, JournalEntry.Posted)
              and e.cause.startswith("SalesOrder.")}
    assert posted == {"SalesOrder.Shipped": date(2026, 2, 10),
                      "SalesOrder.Invoiced": date(2026, 2, 11),
                      "SalesOrder.PaymentReceived": date(2026, 2, 20)}
    assert invoice.extra["date"] == "2026-02-11"
    # As of a day between them: the invoice, not the payment.
    assert balance(app, "1100", as_of=date(2026, 2, 15)) == D("21.60")
    assert balance(app, "1100", as_of=date(2026, 2, 20)) == D("16.60")
    # Without a date: the business date.
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}])
    assert app.invoice_order(CTX, order).extra["date"] == TODAY.isoformat()
    check_receivable(app)


def test_a_document_dated_after_the_business_date_is_refused_and_records_nothing(
        app: O2C) -> None:
    customer, order, _ = shipped_and_invoiced(app, "2026-03-01")
    head = app.db.head()
    future = "2026-03-21"
    for command in (
            lambda: app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}], date=future),
            lambda: app.invoice_order(CTX, order, date=future),
            lambda: app.pay_order(CTX, order, "1.00", date=future),
            lambda: app.credit_invoice(CTX, order, "INV-2026-000001", "x", date=future),
            lambda: app.refund_customer_credit(CTX, customer, "1.00", date=future),
            lambda: app.pay_order(CTX, order, "1.00", date="not a date")):
        with pytest.raises(InvalidInputError):
            command()
    assert app.db.head() == head


def test_documents_in_a_closed_period_are_refused(app: O2C) -> None:
    _customer, order, numbers = shipped_and_invoiced(app, "2026-01-20")
    app.close_period(CTX, "2026-01-31")
    head = app.db.head()
    for command in (
            lambda: app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}],
                                   date="2026-01-31"),
            lambda: app.pay_order(CTX, order, "1.00", date="2026-01-25"),
            lambda: app.credit_invoice(CTX, order, numbers[0], "x", date="2026-01-30")):
        with pytest.raises(PeriodClosedError):
            command()
    assert app.db.head() == head
    app.pay_order(CTX, order, "1.00", date="2026-02-01")  # the open period is fine


def test_an_invoice_is_not_dated_before_the_latest_shipment_nor_a_credit_note_before_it(
        app: O2C) -> None:
    _customer, order = setup(app)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}], date="2026-03-05")
    head = app.db.head()
    with pytest.raises(InvalidInputError, match="latest shipment"):
        app.invoice_order(CTX, order, date="2026-03-04")
    assert app.db.head() == head  # and no number was taken:
    number = app.invoice_order(CTX, order, date="2026-03-05").extra["invoice_number"]
    assert number == "INV-2026-000001"
    with pytest.raises(InvalidInputError, match="precede invoice"):
        app.credit_invoice(CTX, order, number, "wrong", date="2026-03-04")
    note = app.credit_invoice(CTX, order, number, "wrong", date="2026-03-05")
    assert note.extra["credit_note_number"] == "CN-2026-000001"
    check_receivable(app)


# Payments against invoices -----------------------------------------------------------------


def test_a_payment_settles_the_invoices_it_names_in_that_order(app: O2C) -> None:
    _, order, (first, second, third) = shipped_and_invoiced(
        app, "2026-03-01", "2026-03-02", "2026-03-03")
    result = app.pay_order(CTX, order, "15.00", "wire", invoices=[third, first])
    assert result.extra["allocations"] == [{"invoice_number": third, "amount": "10.80"},
                                           {"invoice_number": first, "amount": "4.20"}]
    assert result.extra["unapplied"] == "0.00"
    paid = {i["invoice_number"]: i["paid"] for i in app.sales_order(order).invoices}
    assert paid == {first: D("4.20"), second: ZERO, third: D("10.80")}
    with pytest.raises(InvalidStateError, match="paid in full"):
        app.pay_order(CTX, order, "1.00", invoices=[third])
    with pytest.raises(InvalidInputError, match="no invoice"):
        app.pay_order(CTX, order, "1.00", invoices=["INV-2026-999999"])
    with pytest.raises(InvalidInputError, match="twice"):
        app.pay_order(CTX, order, "1.00", invoices=[first, first])
    check_receivable(app)


def test_without_names_a_payment_settles_the_oldest_due_first(app: O2C) -> None:
    _, order, (first, second) = shipped_and_invoiced(app, "2026-03-01", "2026-03-02")
    result = app.pay_order(CTX, order, "12.00")
    assert [a["invoice_number"] for a in result.extra["allocations"]] == [first, second]
    assert result.extra["open_balance"] == "9.60"


def test_a_payment_settles_no_invoice_issued_after_it(app: O2C) -> None:
    _, order, (first, second) = shipped_and_invoiced(app, "2026-03-01", "2026-03-10")
    with pytest.raises(InvalidInputError, match="after the payment"):
        app.pay_order(CTX, order, "1.00", invoices=[second], date="2026-03-05")
    result = app.pay_order(CTX, order, "20.00", date="2026-03-05")
    # The first invoice only; the rest waits as credit, used by the next invoice.
    assert result.extra["allocations"] == [{"invoice_number": first, "amount": "10.80"}]
    assert result.extra["unapplied"] == "9.20"
    check_receivable(app)


# Overpayment, credit, refunds ----------------------------------------------------------------


def test_an_overpayment_is_credit_the_next_invoice_uses_and_a_refund_pays_back(
        app: O2C) -> None:
    customer, order, (_first,) = shipped_and_invoiced(app, "2026-03-01")
    paid = app.pay_order(CTX, order, "30.00", "wire 7", date="2026-03-02")
    assert (paid.extra["applied"], paid.extra["unapplied"], paid.extra["customer_credit"]) == (
        "10.80", "19.20", "19.20")
    assert app.customer(customer).credit == D("19.20")
    # Cash received in full; the postings name their causes.
    assert balance(app, "1000") == D("30.00")
    assert causes(app)[-2:] == ["SalesOrder.PaymentReceived", "Customer.CreditReceived"]
    check_receivable(app)
    # The customer's next invoice, on another order, uses the credit: no posting.
    _, other = setup(app, customer=customer)
    app.ship_order(CTX, other, [{"sku": "S-1", "quantity": "1"}], date="2026-03-03")
    posted = len(causes(app))
    invoice = app.invoice_order(CTX, other, date="2026-03-03")
    assert invoice.extra["credit_applied"] == "10.80"
    assert len(causes(app)) == posted + 1  # the invoice's own entry only
    assert app.sales_order(other).open_balance == ZERO
    assert app.customer(customer).credit == D("8.40")
    check_receivable(app)
    # A refund beyond the credit is refused; within it, it pays cash back.
    head = app.db.head()
    with pytest.raises(InsufficientCreditError):
        app.refund_customer_credit(CTX, customer, "8.41")
    assert app.db.head() == head
    with pytest.raises(InvalidInputError, match="before the credit"):
        app.refund_customer_credit(CTX, customer, "1.00", date="2026-03-01")
    refund = app.refund_customer_credit(CTX, customer, "8.40", "ACH out", date="2026-03-04")
    assert refund.extra["credit"] == "0.00"
    assert causes(app)[-1] == "Customer.CreditRefunded"
    assert balance(app, "1000") == D("30.00") - D("8.40")
    check_receivable(app)


def test_an_invoice_takes_only_what_it_needs_of_the_credit(app: O2C) -> None:
    customer, order = setup(app)
    paid = app.pay_order(CTX, order, "5.00", "prepayment", date="2026-03-01")  # no invoice
    assert (paid.extra["applied"], paid.extra["unapplied"]) == ("0.00", "5.00")
    assert app.sales_order(order).paid == ZERO
    assert app.customer(customer).credit == D("5.00")
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}], date="2026-03-02")
    app.invoice_order(CTX, order, date="2026-03-02")
    so = app.sales_order(order)
    assert (so.invoices[0]["paid"], so.open_balance) == (D("5.00"), D("5.80"))
    assert app.customer(customer).credit == ZERO
    check_receivable(app)


# Numbering -------------------------------------------------------------------------------


def test_numbers_are_sequential_per_series_and_year_and_refusals_take_none(app: O2C) -> None:
    _, order = setup(app)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}], date="2025-12-30")
    assert app.invoice_order(CTX, order, date="2025-12-31").extra[
        "invoice_number"] == "INV-2025-000001"
    with pytest.raises(NothingToInvoiceError):
        app.invoice_order(CTX, order, date="2026-01-02")
    numbers = []
    for day in ("2026-01-02", "2026-01-03", "2026-01-04"):
        app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}], date=day)
        numbers.append(app.invoice_order(CTX, order, date=day).extra["invoice_number"])
    assert numbers == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
    # A credited invoice keeps its number; the goods are invoiced again under a new one.
    note = app.credit_invoice(CTX, order, numbers[1], "wrong price", date="2026-01-05")
    assert note.extra["credit_note_number"] == "CN-2026-000001"
    again = app.invoice_order(CTX, order, date="2026-01-05").extra["invoice_number"]
    assert again == "INV-2026-000004"
    assert [i["invoice_number"] for i in app.sales_order(order).invoices] == [
        "INV-2025-000001", *numbers, again]


def test_the_prefixes_come_from_the_settings(settings: Settings) -> None:
    custom = build_app(settings.model_copy(update={"invoice_prefix": "F",
                                                   "credit_note_prefix": "AV"}))
    try:
        _, order = setup(custom)
        custom.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}])
        number = custom.invoice_order(CTX, order).extra["invoice_number"]
        assert number == "F-2026-000001"
        assert custom.credit_invoice(CTX, order, number, "x").extra[
            "credit_note_number"] == "AV-2026-000001"
    finally:
        custom.close()
    with pytest.raises(ValueError, match="prefix"):
        Settings(database_url=settings.database_url, invoice_prefix="inv-")


def test_a_series_is_snapshotted(settings: Settings) -> None:
    writer = build_app(settings)
    try:
        _, order = setup(writer, quantity="120")
        for _ in range(105):
            writer.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}])
            writer.invoice_order(CTX, order)
        series_id = DocumentSeries.create_id("INV", 2026)
        snapshots = list(writer.snapshots.get(series_id)) if writer.snapshots else []
        assert snapshots, "no snapshot of the series"
    finally:
        writer.close()
    fresh = build_app(settings)
    try:
        series = fresh.get(DocumentSeries, series_id, "series")
        assert series.last == 105
    finally:
        fresh.close()


WRITERS = 8
PER_WRITER = 4


def test_concurrent_writers_take_every_number_once_with_no_gap(settings: Settings) -> None:
    """8 writers, each its own application (its own connections), invoice different
    orders at once: the numbers issued are exactly 1..N."""
    setup_app = build_app(settings)
    orders = []
    for _ in range(WRITERS * PER_WRITER):
        _, order = setup(setup_app, quantity="1")
        setup_app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}])
        orders.append(order)
    apps = [build_app(settings) for _ in range(WRITERS)]
    gate = threading.Barrier(WRITERS)
    issued: list[str] = []
    failures: list[BaseException] = []
    guard = threading.Lock()

    def work(app: O2C, mine: list[str]) -> None:
        try:
            gate.wait(30)
            for order in mine:
                number = app.invoice_order(CTX, order).extra["invoice_number"]
                with guard:
                    issued.append(number)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(apps[i], orders[i::WRITERS]))
               for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert not failures, failures
        expected = [f"INV-2026-{n:06d}" for n in range(1, WRITERS * PER_WRITER + 1)]
        assert sorted(issued) == expected
        stored = sorted(i["invoice_number"] for o in orders
                        for i in setup_app.sales_order(o).invoices)
        assert stored == expected
    finally:
        for app in [setup_app, *apps]:
            app.close()
