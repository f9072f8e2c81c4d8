"""Stock items: the item master, receipts at cost, counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, allow
from o2c.api.routes._common import answer, example, versioned
from o2c.api.routes._lists import ListQuery, list_query
from o2c.api.schemas.common import CommandPublic, ExactJSONRoute
from o2c.api.schemas.stock_items import (
    AdjustStock,
    LayerPublic,
    ReceiveStock,
    RegisterStockItem,
    StockItemListPublic,
    StockItemPublic,
    ValuePublic,
)
from o2c.domain.money import quantize

router = APIRouter(prefix="/stock-items", tags=["stock"], route_class=ExactJSONRoute)
WAREHOUSE = [allow("warehouse")]


@router.post("", status_code=201, response_model=CommandPublic, dependencies=WAREHOUSE)
def register_stock_item(app: AppDep, ctx: ContextDep, body: Annotated[
        RegisterStockItem, example("A new SKU", {"sku": "NT-SENSOR-100",
                                                 "name": "Industrial sensor module"})]
                        ) -> CommandPublic:
    """Add a SKU to the item master."""
    return answer(app.register_stock_item(ctx, body.sku, body.name), CommandPublic)


@router.post("/{sku}/receipts", status_code=201, response_model=ValuePublic,
             dependencies=WAREHOUSE)
def receive_stock(app: AppDep, ctx: ContextDep, sku: PathId, body: Annotated[
        ReceiveStock, example("100 units at 42.00", {"quantity": "100", "unit_cost": "42.00"})]
                  ) -> ValuePublic:
    """Receive goods at a unit cost (Dr Inventory, Cr Accounts Payable)."""
    return answer(app.receive_stock(ctx, sku, body.quantity, body.unit_cost, body.date),
                  ValuePublic)


@router.post("/{sku}/adjustments", response_model=ValuePublic, dependencies=WAREHOUSE)
def adjust_stock(app: AppDep, ctx: ContextDep, sku: PathId, body: Annotated[
        AdjustStock, example("Cycle count", {"counted_quantity": "97",
                                             "reason": "cycle count"})]) -> ValuePublic:
    """Book a physical count (a loss or gain against Inventory Adjustments)."""
    return answer(app.adjust_stock(ctx, sku, body.counted_quantity, body.reason, body.date),
                  ValuePublic)


@router.get("/{sku}", response_model=StockItemPublic, dependencies=[allow(*ALL_ROLES)])
def get_stock_item(response: Response, app: AppDep, sku: PathId) -> StockItemPublic:
    """A SKU's on-hand, reserved and available quantities and its FIFO layers."""
    item = app.stock_item(sku)
    return versioned(response, StockItemPublic(
        sku=item.sku, id=str(item.id), version=item.version, name=item.name,
        on_hand=item.on_hand, reserved=item.reserved, available=item.available,
        value=quantize(item.value, app.places),
        layers=[LayerPublic(**layer) for layer in item.layers]))


@router.get("", response_model=StockItemListPublic, dependencies=[allow(*ALL_ROLES)])
def list_stock_items(query: Annotated[ListQuery, list_query("stock_items")]
                     ) -> StockItemListPublic:
    """Stock items, a page at a time: search, filter in stock / low / out, sort."""
    return query.page(StockItemListPublic)
