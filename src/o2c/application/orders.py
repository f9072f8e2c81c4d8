"""Use cases of the order-to-cash flow: order, confirm (reserve), ship, invoice, get paid."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from o2c.application.base import UseCaseBase
from o2c.application.runner import Attempt, Outcome, Result, command
from o2c.domain import posting_rules
from o2c.domain.customer import Customer
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem


class Orders(UseCaseBase):
    """Sales orders (sales places them, the warehouse confirms and ships, finance bills)."""

    @command("place_sales_order")
    def place_sales_order(self, run: Attempt, customer_id: object,
                          lines: Sequence[Mapping[str, object]]) -> Outcome:
        """Places an order for an existing customer."""
        customer = self.get(Customer, str(customer_id), "customer", reference=True)
        order = self.new_order(customer, lines)
        return Result(str(order.id), order.version), [order]

    @command("confirm_order", id="order_id")
    def confirm_order(self, run: Attempt, order_id: object) -> Outcome:
        """Reserves stock for every line, all or nothing, and confirms the order."""
        order = self._order(run, order_id)
        order.check_confirmable()
        skus = [line["sku"] for line in order.lines]
        self._hold(run, skus)
        items = [(self.stock_item_of(line["sku"]), line["quantity"]) for line in order.lines]
        for item, quantity in items:
            item.check_reservable(quantity)
        for item, quantity in items:
            item.reserve(order.id, quantity)
        order.confirm()
        return Result(str(order.id), order.version), [order, *(i for i, _ in items)]

    @command("ship_order", id="order_id")
    def ship_order(self, run: Attempt, order_id: object,
                   lines: Sequence[Mapping[str, object]]) -> Outcome:
        """Ships reserved stock (in part or whole) and posts its FIFO cost to COGS."""
        order = self._order(run, order_id)
        planned = order.plan_shipment(lines)
        self._hold(run, planned.skus)
        items, costs = [], {}
        for sku, quantity in planned.lines:
            item = self.stock_item_of(sku)
            costs[sku] = item.issue(order.id, quantity, places=self.places)
            items.append(item)
        when = run.business_date()
        order.ship(planned, costs, when)
        cost = sum(costs.values(), Decimal(0))
        entry = self.books.caused_by(posting_rules.order_shipped(cost), when=when,
                                     memo=f"Shipment {order.shipments} of {order.number}",
                                     source=order)
        return (Result(str(order.id), order.version,
                       extra={"shipment_no": order.shipments, "cost": str(cost)}),
                [order, *items, *entry])

    @command("invoice_order", id="order_id")
    def invoice_order(self, run: Attempt, order_id: object) -> Outcome:
        """Invoices what shipped and is not yet invoiced: Dr Receivable, Cr Revenue and Tax."""
        order = self._order(run, order_id)
        when = run.business_date()
        invoice = order.invoice(when)
        entry = self.books.caused_by(
            posting_rules.invoice_issued(invoice.net, invoice.tax, invoice.total),
            when=when, memo=f"Invoice {invoice.invoice_number}", source=order)
        return (Result(str(order.id), order.version,
                       extra={"invoice_number": invoice.invoice_number,
                              "net": str(invoice.net), "tax": str(invoice.tax),
                              "total": str(invoice.total)}),
                [order, *entry])

    @command("pay_order", id="order_id")
    def pay_order(self, run: Attempt, order_id: object, amount: object,
                  reference: object = None) -> Outcome:
        """Records a customer payment against the order's open invoices: Dr Cash, Cr Receivable."""
        order = self._order(run, order_id)
        when = run.business_date()
        allocations = order.pay(amount, reference, when)
        received = sum((a["amount"] for a in allocations), Decimal(0))
        entry = self.books.caused_by(posting_rules.payment_received(received), when=when,
                                     memo=f"Payment on {order.number}", source=order)
        return (Result(str(order.id), order.version,
                       extra={"open_balance": str(order.open_balance)}),
                [order, *entry])

    @command("credit_invoice", id="order_id", invoice="invoice_number")
    def credit_invoice(self, run: Attempt, order_id: object, invoice_number: object,
                       reason: object) -> Outcome:
        """Issues a credit note for an unpaid invoice, reversing its postings."""
        order = self._order(run, order_id)
        when = run.business_date()
        note = order.credit(invoice_number, reason, when)
        entry = self.books.caused_by(
            posting_rules.invoice_credited(note.net, note.tax, note.total), when=when,
            memo=f"Credit note {note.credit_note_number} for {note.invoice_number}",
            source=order)
        return (Result(str(order.id), order.version,
                       extra={"credit_note_number": note.credit_note_number,
                              "total": str(note.total)}), [order, *entry])

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

    @staticmethod
    def _hold(run: Attempt, skus: Iterable[str]) -> None:
        """Holds the hot stock items among checked ``skus`` for this attempt."""
        run.hold(StockItem.create_id(sku) for sku in skus)
