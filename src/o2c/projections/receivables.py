"""The receivables read model (``ar_aging``): every invoice with what was paid and
credited on it, each settlement by date (payments, credit notes, and customer credit
used by an invoice), and each customer's unapplied credit with its movements by date
(received from an overpayment, applied to an invoice, refunded), so AR aging can be
asked as of any date."""

from __future__ import annotations

from typing import Any

from o2c.domain.customer import Customer
from o2c.domain.sales_order import SalesOrder
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id


class Receivables(ReadModel):
    """Every invoice with what was paid on it, for AR aging."""

    name = "ar_aging"
    tables = (
        Table("rm_ar_orders", ("order_id",), ("order_id TEXT", "customer_id TEXT")),
        Table("rm_invoices", ("invoice_number",), (
            "invoice_number TEXT", "order_id TEXT", "customer_id TEXT", "issued_on TEXT",
            "due_on TEXT", "total BIGINT", "paid BIGINT", "credited BIGINT")),
        Table("rm_invoice_settlements", ("position", "invoice_number"), (
            "position BIGINT", "invoice_number TEXT", "settled_on TEXT", "amount BIGINT")),
        # Unapplied customer credit: the balance, and each movement (+ received,
        # - applied or refunded) on its effective date.
        Table("rm_customer_credit", ("customer_id",), (
            "customer_id TEXT", "credit BIGINT")),
        Table("rm_customer_credit_moves", ("position", "customer_id"), (
            "position BIGINT", "customer_id TEXT", "moved_on TEXT", "amount BIGINT")),
    )
    indexes = ("CREATE INDEX IF NOT EXISTS {s}rm_settlements_invoice ON "
               "{t}rm_invoice_settlements (invoice_number, settled_on)",
               "CREATE INDEX IF NOT EXISTS {s}rm_credit_moves_customer ON "
               "{t}rm_customer_credit_moves (customer_id, moved_on)")

    def register(self) -> None:
        self.on(SalesOrder.Placed, self._placed)
        self.on(SalesOrder.Invoiced, self._invoiced)
        self.on(SalesOrder.PaymentReceived, self._paid)
        self.on(SalesOrder.InvoiceCredited, self._credited)
        self.on(SalesOrder.CreditAllocated, self._credit_allocated)
        self.on(SalesOrder.Returned, self._returned)
        self.on(Customer.CreditReceived, lambda e, r: self._credit_moved(
            e, r, e.event.received_on, self.minor(e.event.amount)))
        self.on(Customer.CreditApplied, lambda e, r: self._credit_moved(
            e, r, e.event.applied_on, -self.minor(e.event.amount)))
        self.on(Customer.CreditRefunded, lambda e, r: self._credit_moved(
            e, r, e.event.refunded_on, -self.minor(e.event.amount)))

    def _credit_allocated(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        invoice = rows.get("rm_invoices", (event.invoice_number,))
        assert invoice is not None, f"credit allocated to unknown invoice {event.invoice_number}"
        amount = self.minor(event.amount)
        invoice["paid"] += amount
        rows.put("rm_invoices", (event.invoice_number,), invoice)
        rows.add("rm_invoice_settlements", {
            "position": e.position, "invoice_number": event.invoice_number,
            "settled_on": event.allocated_on.isoformat(), "amount": amount})

    def _returned(self, e: Envelope, rows: Rows) -> None:
        """A return's credit note settles what was open on the invoices its goods were on
        (counted as credited); what it left is the customer's credit (CreditReceived)."""
        event: Any = e.event
        for credit in event.credits:
            amount = self.minor(credit["applied"])
            if not amount:
                continue
            invoice = rows.get("rm_invoices", (credit["invoice_number"],))
            assert invoice is not None, f"return credits unknown {credit['invoice_number']}"
            invoice["credited"] += amount
            rows.put("rm_invoices", (credit["invoice_number"],), invoice)
            rows.add("rm_invoice_settlements", {
                "position": e.position, "invoice_number": credit["invoice_number"],
                "settled_on": event.returned_on.isoformat(), "amount": amount})

    @staticmethod
    def _credit_moved(e: Envelope, rows: Rows, day: Any, amount: int) -> None:
        customer = aggregate_id(e)
        row = rows.get("rm_customer_credit", (customer,)) or {
            "customer_id": customer, "credit": 0}
        row["credit"] += amount
        rows.put("rm_customer_credit", (customer,), row)
        rows.add("rm_customer_credit_moves", {
            "position": e.position, "customer_id": customer, "moved_on": day.isoformat(),
            "amount": amount})

    def _credited(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        invoice = rows.get("rm_invoices", (event.invoice_number,))
        assert invoice is not None
        invoice["credited"] = self.minor(event.total)
        rows.put("rm_invoices", (event.invoice_number,), invoice)
        rows.add("rm_invoice_settlements", {
            "position": e.position, "invoice_number": event.invoice_number,
            "settled_on": event.credited_on.isoformat(), "amount": invoice["credited"]})

    def _placed(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_ar_orders", (aggregate_id(e),), {"order_id": aggregate_id(e),
                                             "customer_id": str(event.customer_id)})

    def _invoiced(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        order = rows.get("rm_ar_orders", (aggregate_id(e),))
        assert order is not None
        rows.put("rm_invoices", (event.invoice_number,), {
            "invoice_number": event.invoice_number, "order_id": aggregate_id(e),
            "customer_id": order["customer_id"], "issued_on": event.issued_on.isoformat(),
            "due_on": event.due_on.isoformat(), "total": self.minor(event.total), "paid": 0,
            "credited": 0})

    def _paid(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        for allocation in event.allocations:
            invoice = rows.get("rm_invoices", (allocation["invoice_number"],))
            assert invoice is not None
            invoice["paid"] += self.minor(allocation["amount"])
            rows.put("rm_invoices", (allocation["invoice_number"],), invoice)
            rows.add("rm_invoice_settlements", {
                "position": e.position, "invoice_number": allocation["invoice_number"],
                "settled_on": event.received_on.isoformat(),
                "amount": self.minor(allocation["amount"])})
