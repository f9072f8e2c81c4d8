"""The order status read model: per order, its status and what was ordered,
shipped, invoiced and paid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from o2c.domain.sales_order import SalesOrder, order_status, order_totals
from o2c.projections.base import QTY_SCALE, Envelope, ReadModel, Rows, Table, aggregate_id


class OrderStatus(ReadModel):
    """Per order: status and what was ordered, shipped, invoiced and paid."""

    name = "order_status"
    tables = (Table("rm_orders", ("id",), (
        "id TEXT", "customer_id TEXT", "opportunity_id TEXT", "status TEXT",
        "ordered_qty BIGINT", "shipped_qty BIGINT", "invoiced_qty BIGINT", "net BIGINT",
        "cost BIGINT", "invoiced BIGINT", "paid BIGINT", "confirmed INTEGER",
        "cancelled INTEGER", "placed_at TEXT", "updated_at TEXT")),)
    indexes = ("CREATE INDEX IF NOT EXISTS {s}rm_orders_customer ON {t}rm_orders "
               "(customer_id)",)

    def register(self) -> None:
        self.on(SalesOrder.Placed, self._placed)
        self.on(SalesOrder.Confirmed, lambda e, r: self._update(e, r, confirmed=1))
        self.on(SalesOrder.Shipped, lambda e, r: self._update(
            e, r, shipped_qty=self._lines_quantity(e), cost=self.minor(e.event.cost)))
        self.on(SalesOrder.Invoiced, lambda e, r: self._update(
            e, r, invoiced_qty=self._lines_quantity(e), invoiced=self.minor(e.event.total)))
        self.on(SalesOrder.PaymentReceived, lambda e, r: self._update(
            e, r, paid=self.minor(e.event.amount)))
        self.on(SalesOrder.CreditAllocated, lambda e, r: self._update(
            e, r, paid=self.minor(e.event.amount)))
        self.on(SalesOrder.InvoiceCredited, lambda e, r: self._update(
            e, r, invoiced_qty=-self._lines_quantity(e), invoiced=-self.minor(e.event.total)))
        self.on(SalesOrder.Cancelled, lambda e, r: self._update(e, r, cancelled=1))
        # A return's credit settles open invoices as a payment would (the aggregate's
        # ``paid`` counts it too); what it left is the customer's credit.
        self.on(SalesOrder.Returned, lambda e, r: self._update(e, r, paid=sum(
            self.minor(credit["applied"]) for credit in e.event.credits)))

    @staticmethod
    def _lines_quantity(e: Envelope) -> int:
        """The thousandths of all the event's lines, read from the stored lines (decoding
        every line's fields just to add their quantities was most of these handlers)."""
        total = 0
        for line in e.event.raw["lines"]:
            quantity = line["quantity"]
            assert quantity["_type_"] == "decimal_str", quantity
            total += int(Decimal(quantity["_data_"]).scaleb(QTY_SCALE))
        return total

    def _placed(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        # ``discount_percent``: the order's discount; absent from version 1 events.
        discount = event.discount_percent if "discount_percent" in event.raw else None
        net = self.minor(order_totals(event.lines, event.tax_rate, self.places,
                                      discount).net)
        row = {
            "id": aggregate_id(e), "customer_id": str(event.customer_id),
            "opportunity_id": str(event.opportunity_id) if event.opportunity_id else None,
            "status": "", "ordered_qty": sum(self.milli(x["quantity"]) for x in event.lines),
            "shipped_qty": 0, "invoiced_qty": 0, "net": net, "cost": 0, "invoiced": 0,
            "paid": 0, "confirmed": 0, "cancelled": 0, "placed_at": e.recorded_at,
            "updated_at": e.recorded_at}
        row["status"] = self._status(row)
        rows.put("rm_orders", (aggregate_id(e),), row)

    @staticmethod
    def _update(e: Envelope, rows: Rows, *, confirmed: int = 0, cancelled: int = 0,
                **deltas: int) -> None:
        row = rows.get("rm_orders", (aggregate_id(e),))
        assert row is not None, f"order {aggregate_id(e)} changed before it was placed"
        for column, delta in deltas.items():
            row[column] += delta
        row["confirmed"] = row["confirmed"] or confirmed
        row["cancelled"] = row["cancelled"] or cancelled
        row["status"] = OrderStatus._status(row)
        row["updated_at"] = e.recorded_at
        rows.put("rm_orders", (aggregate_id(e),), row)

    @staticmethod
    def _status(row: dict[str, Any]) -> str:
        """The status the SalesOrder aggregate reports, asked with the row's counts
        (sums over the lines: no line is shipped past its order, nor invoiced past its
        shipments, so the sums are equal exactly when every line's are)."""
        return order_status(
            cancelled=bool(row["cancelled"]), confirmed=bool(row["confirmed"]),
            any_shipped=bool(row["shipped_qty"]),
            fully_shipped=row["shipped_qty"] == row["ordered_qty"],
            fully_invoiced=row["invoiced_qty"] == row["shipped_qty"],
            settled=row["invoiced"] == row["paid"])
