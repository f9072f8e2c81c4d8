"""The order list read model: every sales order's number, customer and place in the log,
for paged and searched lists (``o2c.projections.lists.sales_orders``).

It keeps no amounts or status of its own: the list joins the order-status read model
(``rm_orders``) for those, so an order's status is worked out in one place, and an
order whose figures that model cannot hold (see ``projector``: it is stuck there,
loudly) still gets its list row here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from o2c.domain.sales_order import SalesOrder
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id
from o2c.projections.lists import search_text


def order_number(order_id: str) -> str:
    """The order's short reference, as ``SalesOrder.number`` gives it (a test holds the
    two equal): ``SO-`` and the first twelve hex digits of its id, upper case."""
    return "SO-" + UUID(order_id).hex[:12].upper()


class OrderList(ReadModel):
    """Per sales order: its number, customer, opportunity, where it was placed in the log
    and its search text."""

    name = "order_list"
    tables = (Table("rm_order_list", ("id",), (
        "id TEXT", "position BIGINT", "number TEXT", "customer_id TEXT",
        "opportunity_id TEXT", "placed_at TEXT", "search TEXT")),)
    indexes = (
        "CREATE INDEX IF NOT EXISTS {s}rm_order_list_position ON {t}rm_order_list (position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_order_list_customer ON {t}rm_order_list "
        "(customer_id, position)",
    )

    def register(self) -> None:
        self.on(SalesOrder.Placed, self._placed)

    def _placed(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event  # only the ids are decoded, never the order's lines
        number = order_number(aggregate_id(e))
        rows.put("rm_order_list", (aggregate_id(e),), {
            "id": aggregate_id(e), "position": e.position, "number": number,
            "customer_id": str(event.customer_id),
            "opportunity_id": str(event.opportunity_id) if event.opportunity_id else None,
            "placed_at": e.recorded_at, "search": search_text(number, aggregate_id(e))})
