"""The credit exposure read model (``credit_exposure``): per sales order, what a
confirmed, not cancelled order has still to invoice, with tax, counted as credit
control counts it (``o2c.domain.credit.uninvoiced_total``). AR aging and the customer
page add it to the open receivables (``reports.customer_credit``) to show each
customer's exposure."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from o2c.domain.credit import uninvoiced_total
from o2c.domain.sales_order import SalesOrder
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id


class CreditExposure(ReadModel):
    """Per order: its customer, lines, what is invoiced of each, and what is left to
    invoice with tax while it is confirmed and not cancelled."""

    name = "credit_exposure"
    tables = (Table("rm_credit_orders", ("order_id",), (
        "order_id TEXT", "customer_id TEXT", "tax_rate TEXT", "discount TEXT", "lines TEXT",
        "invoiced TEXT", "confirmed INTEGER", "cancelled INTEGER", "uninvoiced BIGINT")),)
    indexes = ("CREATE INDEX IF NOT EXISTS {s}rm_credit_orders_customer ON "
               "{t}rm_credit_orders (customer_id)",)

    def register(self) -> None:
        self.on(SalesOrder.Placed, self._placed)
        self.on(SalesOrder.Confirmed, lambda e, r: self._update(e, r, confirmed=True))
        self.on(SalesOrder.Invoiced, lambda e, r: self._update(e, r, lines=e.event.lines))
        self.on(SalesOrder.InvoiceCredited, lambda e, r: self._update(
            e, r, lines=e.event.lines, sign=-1))
        self.on(SalesOrder.Cancelled, lambda e, r: self._update(e, r, cancelled=True))

    def _placed(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        discount = getattr(event, "discount_percent", None)
        rows.put("rm_credit_orders", (aggregate_id(e),), {
            "order_id": aggregate_id(e), "customer_id": str(event.customer_id),
            "tax_rate": str(event.tax_rate), "discount": str(discount or ""),
            "lines": json.dumps([{k: str(v) for k, v in line.items()}
                                 for line in event.lines]),
            "invoiced": "{}", "confirmed": 0, "cancelled": 0, "uninvoiced": 0})

    def _update(self, e: Envelope, rows: Rows, *, confirmed: bool = False,
                cancelled: bool = False, lines: list[dict[str, Any]] | None = None,
                sign: int = 1) -> None:
        row = rows.get("rm_credit_orders", (aggregate_id(e),))
        assert row is not None, f"order {aggregate_id(e)} changed before it was placed"
        invoiced = {sku: Decimal(q) for sku, q in json.loads(row["invoiced"]).items()}
        for line in lines or ():
            invoiced[line["sku"]] = invoiced.get(line["sku"], Decimal(0)) + sign * line[
                "quantity"]
        row["invoiced"] = json.dumps({sku: str(q) for sku, q in invoiced.items()})
        row["confirmed"] = row["confirmed"] or int(confirmed)
        row["cancelled"] = row["cancelled"] or int(cancelled)
        row["uninvoiced"] = 0
        if row["confirmed"] and not row["cancelled"]:
            order_lines = [{k: (v if k == "sku" else Decimal(v)) for k, v in line.items()}
                           for line in json.loads(row["lines"])]
            row["uninvoiced"] = self.minor(uninvoiced_total(
                order_lines, invoiced, Decimal(row["tax_rate"]), self.places,
                Decimal(row["discount"]) if row["discount"] else None))
        rows.put("rm_credit_orders", (aggregate_id(e),), row)
