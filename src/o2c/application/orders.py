"""Use cases of the order-to-cash flow: order, confirm (reserve), ship, invoice, get paid."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate

from o2c.application import base
from o2c.application.base import UseCaseBase
from o2c.application.books import Books
from o2c.application.runner import Attempt, Outcome, Result, command
from o2c.domain import credit, posting_rules, values
from o2c.domain.customer import Customer
from o2c.domain.document_series import DocumentSeries
from o2c.domain.money import ZERO, quantize
from o2c.domain.sales_order import CANCELLED, PAID, SalesOrder
from o2c.domain.stock_item import StockItem


def effective_date(books: Books, run: Attempt, value: object) -> date:
    """A document's effective date: ``value`` (a date or ISO text), or the business date
    when None. Refused (invalid input) after the business date -- documents are not
    dated in the future -- and (period_closed) inside a closed period."""
    day = base.effective_date(run, value)
    books.check_open(day)
    return day


#: The port credit control reads a customer's orders through: ``open_orders_of(customer
#: id)`` is the ids of its confirmed orders that are neither cancelled nor paid in full
#: (those that may carry exposure), as the order-status read model has them plus every
#: order with an event it has not applied yet (bootstrap wires it; a superset is fine:
#: each is loaded and checked). The application never reads read models itself.
OpenOrdersOf = Callable[[UUID], Sequence[str]]


#: How many settled or cancelled orders a process remembers for credit control.
CLOSED_ORDERS_KEPT = 100_000


class RecentIds:
    """A bounded set of ids, safe across threads: the oldest go first when it is full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: dict[str, None] = {}
        self._guard = threading.Lock()

    def known(self, key: str) -> bool:
        """Whether ``key`` was added (and not yet pushed out)."""
        return key in self._ids

    def add(self, key: str) -> None:
        """Remembers ``key``, forgetting the oldest when full."""
        with self._guard:
            self._ids[key] = None
            while len(self._ids) > self.size:
                del self._ids[next(iter(self._ids))]


class Orders(UseCaseBase):
    """Sales orders (sales places them, the warehouse confirms and ships, finance bills)."""

    #: A customer's orders that may carry exposure (set by ``bootstrap.build_app``).
    open_orders_of: OpenOrdersOf | None = None

    @functools.cached_property
    def _closed_orders(self) -> RecentIds:
        """Orders this process saw paid in full or cancelled: credit control need not
        load them again (the read model it asks may not have seen them settle yet, and
        where no projector runs it names every order placed since it last ran)."""
        return RecentIds(CLOSED_ORDERS_KEPT)

    @command("place_sales_order", added=("discount_percent",))
    def place_sales_order(self, run: Attempt, customer_id: object,
                          lines: Sequence[Mapping[str, object]],
                          discount_percent: object = None) -> Outcome:
        """Places an order for an existing customer: lines without a unit price take the
        customer's price list on the business date (else the default list); an order
        ``discount_percent`` applies to the lines' sum."""
        customer = self.get(Customer, str(customer_id), "customer", reference=True)
        order = self.new_order(customer, lines, discount=discount_percent,
                               day=run.business_date())
        return Result(str(order.id), order.version), [order]

    @command("confirm_order", id="order_id")
    def confirm_order(self, run: Attempt, order_id: object) -> Outcome:
        """Reserves stock for every line, all or nothing, and confirms the order."""
        order = self._order(run, order_id)
        order.check_confirmable()
        self.check_credit(run, order)
        skus = [line["sku"] for line in order.lines]
        self._hold(run, skus)
        items = [(self.stock_item_of(line["sku"]), line["quantity"]) for line in order.lines]
        for item, quantity in items:
            item.check_reservable(quantity)
        for item, quantity in items:
            item.reserve(order.id, quantity)
        order.confirm()
        return Result(str(order.id), order.version), [order, *(i for i, _ in items)]

    @command("release_order_credit", id="order_id")
    def release_order_credit(self, run: Attempt, order_id: object, reason: object) -> Outcome:
        """Finance releases one unconfirmed order from credit control (over the limit or
        on credit hold), with the reason: its confirmation then skips the credit check.
        Recorded on the customer (``Customer.CreditReleased``)."""
        order = self._order(run, order_id)
        order.check_confirmable()
        run.hold([order.customer_id], always=True)
        customer = self.get(Customer, order.customer_id, "customer")
        customer.release_order(order.id, reason, run.ctx.actor, run.business_date())
        return (Result(str(order.id), order.version,
                       extra={"customer_id": str(customer.id),
                              "customer_version": customer.version}),
                [customer])

    def check_credit(self, run: Attempt, order: SalesOrder) -> None:
        """Refuses to confirm ``order`` when its customer is on credit hold or would go
        past its credit limit (``o2c.domain.credit``), unless finance released it.

        Holds the customer's lock until the confirmation commits, so confirmations of
        one customer run one at a time, then reads its orders that may carry exposure
        (through the ``open_orders_of`` port: the order-status read model and the log
        after its position, read only) and loads each from the log."""
        run.hold([order.customer_id], always=True)
        customer = self.get(Customer, order.customer_id, "customer")
        if customer.released(order.id):
            return
        if self.open_orders_of is None:
            raise RuntimeError("no open-orders port: build the application with "
                               "o2c.bootstrap.build_app")
        others = []
        for order_id in self.open_orders_of(order.customer_id):
            if order_id == str(order.id) or self._closed_orders.known(order_id):
                continue
            other = self.sales_order(order_id)
            if other.status in (PAID, CANCELLED):  # final: it never carries exposure again
                self._closed_orders.add(order_id)
            elif other.customer_id == order.customer_id:
                others.append(other)
        grace = self.settings.credit_grace_days
        credit.check_credit(customer, order, credit.exposure(customer, others, self.places),
                            credit.overdue_invoices(others, run.business_date(), grace), grace)

    @command("ship_order", id="order_id", added=("date",))
    def ship_order(self, run: Attempt, order_id: object,
                   lines: Sequence[Mapping[str, object]], date: object = None) -> Outcome:
        """Ships reserved stock (in part or whole) and posts its FIFO cost to COGS, on
        ``date`` (the business date by default)."""
        order = self._order(run, order_id)
        when = self.document_date(run, date)
        planned = order.plan_shipment(lines)
        self._hold(run, planned.skus)
        items, costs = [], {}
        for sku, quantity in planned.lines:
            item = self.stock_item_of(sku)
            costs[sku] = item.issue(order.id, quantity, places=self.places)
            items.append(item)
        order.ship(planned, costs, when)
        cost = sum(costs.values(), Decimal(0))
        entry = self.books.caused_by(posting_rules.order_shipped(cost), when=when,
                                     memo=f"Shipment {order.shipments} of {order.number}",
                                     source=order)
        return (Result(str(order.id), order.version,
                       extra={"shipment_no": order.shipments, "cost": str(cost),
                              "date": when.isoformat()}),
                [order, *items, *entry])

    @command("invoice_order", id="order_id", added=("date",))
    def invoice_order(self, run: Attempt, order_id: object, date: object = None) -> Outcome:
        """Invoices what shipped and is not yet invoiced, on ``date``: Dr Receivable, Cr
        Revenue and Tax. The number is the next of the invoice series of that year; the
        customer's unapplied credit, if any, settles it at once (no posting)."""
        order = self._order(run, order_id)
        when = self.document_date(run, date)
        order.check_invoiceable(when)
        series = self.series(run, self.settings.invoice_prefix, when.year)
        invoice = order.invoice(when, series.issue())
        entry = self.books.caused_by(
            posting_rules.invoice_issued(invoice.net, invoice.tax, invoice.total),
            when=when, memo=f"Invoice {invoice.invoice_number}", source=order)
        changed: list[Aggregate] = [order, series, *entry]
        customer = self.get(Customer, order.customer_id, "customer")
        credit = quantize(ZERO, self.places)
        if customer.credit > ZERO and invoice.total > ZERO:
            credit, on = customer.credit_to_apply(invoice.total, when)
            customer.apply_credit(credit, order.id, invoice.invoice_number, on)
            order.allocate_credit(invoice.invoice_number, credit, on)
            changed.append(customer)
        return (Result(str(order.id), order.version,
                       extra={"invoice_number": invoice.invoice_number,
                              "gross": str(invoice.gross), "discount": str(invoice.discount),
                              "net": str(invoice.net), "tax": str(invoice.tax),
                              "total": str(invoice.total), "date": when.isoformat(),
                              "due_on": invoice.due_on.isoformat(),
                              "credit_applied": str(credit)}),
                changed)

    @command("pay_order", id="order_id", added=("invoices", "date"))
    def pay_order(self, run: Attempt, order_id: object, amount: object,
                  reference: object = None, invoices: Sequence[object] | None = None,
                  date: object = None) -> Outcome:
        """Records a customer payment on ``date``: Dr Cash, Cr Receivable for all of it. It
        settles the ``invoices`` named, in that order, or else the order's open invoices
        oldest due first; what is left is the customer's unapplied credit."""
        order = self._order(run, order_id)
        when = self.document_date(run, date)
        payment = order.pay(amount, reference, when,
                            None if invoices is None else list(invoices))
        changed: list[Aggregate] = [order] if payment.allocations else []
        if payment.applied:
            changed += self.books.caused_by(
                posting_rules.payment_received(payment.applied), when=when,
                memo=f"Payment on {order.number}", source=order)
        credit = None
        if payment.unapplied:
            customer = self.get(Customer, order.customer_id, "customer")
            customer.receive_credit(payment.unapplied,
                                    values.text(reference, "reference", optional=True),
                                    when, order.id)
            changed += [customer, *self.books.caused_by(
                posting_rules.credit_received(payment.unapplied), when=when,
                memo=f"Unapplied payment on {order.number}", source=customer)]
            credit = customer.credit
        return (Result(str(order.id), order.version,
                       extra={"open_balance": str(order.open_balance),
                              "applied": str(quantize(payment.applied, self.places)),
                              "unapplied": str(payment.unapplied),
                              "allocations": [{"invoice_number": a["invoice_number"],
                                               "amount": str(a["amount"])}
                                              for a in payment.allocations],
                              **({} if credit is None else {"customer_credit": str(credit)}),
                              "date": when.isoformat()}),
                changed)

    @command("credit_invoice", id="order_id", invoice="invoice_number", added=("date",))
    def credit_invoice(self, run: Attempt, order_id: object, invoice_number: object,
                       reason: object, date: object = None) -> Outcome:
        """Issues a credit note for an unpaid invoice on ``date``, reversing its postings;
        its number is the next of the credit note series of that year."""
        order = self._order(run, order_id)
        when = self.document_date(run, date)
        order.check_creditable(invoice_number, when)
        series = self.series(run, self.settings.credit_note_prefix, when.year)
        note = order.credit(invoice_number, reason, when, series.issue())
        entry = self.books.caused_by(
            posting_rules.invoice_credited(note.net, note.tax, note.total), when=when,
            memo=f"Credit note {note.credit_note_number} for {note.invoice_number}",
            source=order)
        return (Result(str(order.id), order.version,
                       extra={"credit_note_number": note.credit_note_number,
                              "total": str(note.total), "date": when.isoformat()}),
                [order, series, *entry])

    @command("cancel_order", id="order_id")
    def cancel_order(self, run: Attempt, order_id: object, reason: object) -> Outcome:
        """Cancels an unshipped order and releases its reservations."""
        order = self._order(run, order_id)
        order.cancel(reason)
        self._hold(run, [line["sku"] for line in order.lines])
        items = []
        for line in order.lines:
            item = self.stock_item_of(line["sku"])
            if item.reserved_for(order.id):
                item.release(order.id)
                items.append(item)
        return Result(str(order.id), order.version), [order, *items]

    def sales_order(self, order_id: object) -> SalesOrder:
        """A sales order by id."""
        return self.get(SalesOrder, str(order_id), "sales order")

    def _order(self, run: Attempt, order_id: object) -> SalesOrder:
        order = self.sales_order(order_id)
        run.check_version(order)
        return order

    def document_date(self, run: Attempt, value: object) -> date:
        """A document's effective date (``effective_date``)."""
        return effective_date(self.books, run, value)

    def series(self, run: Attempt, prefix: str, year: int) -> DocumentSeries:
        """The numbering series of ``prefix`` for ``year`` (opened if new), its lock held
        until the write commits: every document of the series writes it."""
        series_id = DocumentSeries.create_id(prefix, year)
        run.hold([series_id], always=True)
        if self.exists(series_id):
            return self.get(DocumentSeries, series_id, "document series")
        return DocumentSeries.open(prefix, year)

    @staticmethod
    def _hold(run: Attempt, skus: Iterable[str]) -> None:
        """Holds the hot stock items among checked ``skus`` for this attempt."""
        run.hold(StockItem.create_id(sku) for sku in skus)
