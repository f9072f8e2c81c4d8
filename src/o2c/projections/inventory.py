"""The inventory read model: per stock item, on hand, reserved and value."""

from __future__ import annotations

from typing import Any

from o2c.domain.stock_item import StockItem
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id


class Inventory(ReadModel):
    """Per SKU: on hand, reserved, available and cost value."""

    name = "inventory"
    tables = (Table("rm_inventory", ("item_id",), (
        "item_id TEXT", "sku TEXT", "name TEXT", "on_hand BIGINT", "reserved BIGINT",
        "value BIGINT")),)

    def register(self) -> None:
        self.on(StockItem.Registered, self._registered)
        self.on(StockItem.Received, lambda e, r: self._change(
            e, r, on_hand=self.milli(e.event.quantity),
            value=self.minor(e.event.value)))
        self.on(StockItem.Adjusted, lambda e, r: self._change(
            e, r, on_hand=self.milli(e.event.difference),
            value=self.minor(e.event.value)))
        self.on(StockItem.Reserved, lambda e, r: self._change(
            e, r, reserved=self.milli(e.event.quantity)))
        self.on(StockItem.Released, lambda e, r: self._change(
            e, r, reserved=-self.milli(e.event.quantity)))
        self.on(StockItem.Issued, lambda e, r: self._change(
            e, r, on_hand=-self.milli(e.event.quantity),
            reserved=-self.milli(e.event.quantity),
            value=-self.minor(e.event.cost)))
        self.on(StockItem.ReturnedToStock, lambda e, r: self._change(
            e, r, on_hand=self.milli(e.event.quantity), value=self.minor(e.event.value)))

    def _registered(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_inventory", (aggregate_id(e),), {"item_id": aggregate_id(e), "sku": event.sku,
                                             "name": event.name, "on_hand": 0, "reserved": 0,
                                             "value": 0})

    @staticmethod
    def _change(e: Envelope, rows: Rows, on_hand: int = 0, reserved: int = 0,
                value: int = 0) -> None:
        row = rows.get("rm_inventory", (aggregate_id(e),))
        assert row is not None, f"stock item {aggregate_id(e)} changed before it was registered"
        row["on_hand"] += on_hand
        row["reserved"] += reserved
        row["value"] += value
        rows.put("rm_inventory", (aggregate_id(e),), row)
