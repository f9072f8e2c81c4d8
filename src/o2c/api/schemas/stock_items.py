"""Bodies and answers of ``routes.stock_items``."""

from __future__ import annotations

from pydantic import Field

from o2c.api.schemas.common import (
    Amount,
    Command,
    CommandPublic,
    Day,
    Dec,
    LongText,
    Name,
    Out,
    Quantity,
    Sku,
)


class RegisterStockItem(Command):
    """A SKU added to the item master."""

    sku: Sku
    name: Name


class ReceiveStock(Command):
    """Goods received at a unit cost; ``date``, when they arrived (the business date when
    omitted; never later)."""

    quantity: Quantity
    unit_cost: Amount
    date: Day | None = None


class AdjustStock(Command):
    """A physical count; ``date``, when it was counted (the business date when omitted)."""

    counted_quantity: Quantity
    reason: LongText
    date: Day | None = None


class ValuePublic(CommandPublic):
    """A stock movement with the value it posted."""

    value: Dec


class LayerPublic(Out):
    """A FIFO cost layer."""

    quantity: Dec
    unit_cost: Dec
    value: Dec


class StockItemPublic(Out):
    """A SKU's stock."""

    sku: str
    id: str
    version: int
    name: str
    on_hand: Dec
    reserved: Dec
    available: Dec
    value: Dec
    layers: list[LayerPublic]


class StockItemItemPublic(Out):
    """A stock item in a list (``GET /stock-items``): ``status`` is ``in_stock``, ``low``
    or ``out`` by the available quantity."""

    sku: str
    name: str
    on_hand: Dec
    reserved: Dec
    available: Dec
    value: Dec
    status: str


class StockItemListPublic(Out):
    """A page of stock items."""

    items: list[StockItemItemPublic]
    next_cursor: str | None = Field(description="The next page's `cursor`; null on the last.")
    position: int = Field(description="The log position the read models had reached.")
