"""The invoice list read model: every invoice with its order, customer, dates, amounts,
what was paid and credited, for paged, searched and filtered lists
(``o2c.projections.lists.invoices``)."""

from __future__ import annotations

from typing import Any

from o2c.domain.sales_order import SalesOrder
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id
from o2c.projections.lists import search_text
from o2c.projections.orders import order_number

#: An invoice's stored status; ``overdue`` is an open one past its due date, worked out
#: when the list is read (it changes with the day, not with an event).
OPEN, PAID, CREDITED = "open", "paid", "credited"


class InvoiceList(ReadModel):
    """Per invoice: order, customer, issue and due dates, net, tax, total, paid,
    credited (and the credit note), status; where it was issued in the log."""

    name = "invoice_list"
    tables = (
        Table("rm_invoice_list_orders", ("order_id",), ("order_id TEXT", "customer_id TEXT")),
        Table("rm_invoice_list", ("invoice_number",), (
            "invoice_number TEXT", "position BIGINT", "order_id TEXT", "order_number TEXT",
            "customer_id TEXT", "issued_on TEXT", "due_on TEXT", "net BIGINT", "tax BIGINT",
            "total BIGINT", "paid BIGINT", "credited BIGINT", "credit_note_number TEXT",
            "status TEXT", "search TEXT")),
    )
    indexes = (
        "CREATE INDEX IF NOT EXISTS {s}rm_invoice_list_position ON {t}rm_invoice_list "
        "(position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_invoice_list_status ON {t}rm_invoice_list "
        "(status, position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_invoice_list_due ON {t}rm_invoice_list "
        "(due_on, position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_invoice_list_customer ON {t}rm_invoice_list "
        "(customer_id, position)",
    )

    def register(self) -> None:
        self.on(SalesOrder.Placed, self._placed)
        self.on(SalesOrder.Invoiced, self._invoiced)
        self.on(SalesOrder.PaymentReceived, self._paid)
        self.on(SalesOrder.InvoiceCredited, self._credited)
        self.on(SalesOrder.CreditAllocated, self._credit_allocated)

    def _credit_allocated(self, e: Envelope, rows: Rows) -> None:
        """The customer's unapplied credit settled (part of) an invoice: paid, as a
        payment would."""
        event: Any = e.event
        key = (event.invoice_number,)
        invoice = rows.get("rm_invoice_list", key)
        assert invoice is not None, f"credit allocated to unknown invoice {key[0]}"
        invoice["paid"] += self.minor(event.amount)
        if invoice["paid"] >= invoice["total"]:
            invoice["status"] = PAID
        rows.put("rm_invoice_list", key, invoice)

    @staticmethod
    def _placed(e: Envelope, rows: Rows) -> None:
        # Only the customer, for the invoices to come (the lines are never decoded here).
        rows.put("rm_invoice_list_orders", (aggregate_id(e),), {
            "order_id": aggregate_id(e), "customer_id": str(e.event.customer_id)})

    def _invoiced(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        order = rows.get("rm_invoice_list_orders", (aggregate_id(e),))
        assert order is not None, f"order {aggregate_id(e)} invoiced before it was placed"
        number, total = order_number(aggregate_id(e)), self.minor(event.total)
        rows.put("rm_invoice_list", (event.invoice_number,), {
            "invoice_number": event.invoice_number, "position": e.position,
            "order_id": aggregate_id(e), "order_number": number,
            "customer_id": order["customer_id"], "issued_on": event.issued_on.isoformat(),
            "due_on": event.due_on.isoformat(), "net": self.minor(event.net),
            "tax": self.minor(event.tax), "total": total, "paid": 0, "credited": 0,
            "credit_note_number": None, "status": OPEN if total > 0 else PAID,
            "search": search_text(event.invoice_number, number)})

    def _paid(self, e: Envelope, rows: Rows) -> None:
        for allocation in e.event.allocations:
            key = (allocation["invoice_number"],)
            invoice = rows.get("rm_invoice_list", key)
            assert invoice is not None, f"payment on unknown invoice {key[0]}"
            invoice["paid"] += self.minor(allocation["amount"])
            if invoice["paid"] >= invoice["total"]:
                invoice["status"] = PAID
            rows.put("rm_invoice_list", key, invoice)

    def _credited(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        invoice = rows.get("rm_invoice_list", (event.invoice_number,))
        assert invoice is not None, f"credit note on unknown invoice {event.invoice_number}"
        invoice.update(credited=self.minor(event.total),
                       credit_note_number=event.credit_note_number, status=CREDITED,
                       search=invoice["search"] + "\n" + event.credit_note_number.casefold())
        rows.put("rm_invoice_list", (event.invoice_number,), invoice)
