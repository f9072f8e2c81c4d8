"""Returns of an order's invoiced goods (warehouse and finance)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, allow
from o2c.api.routes._common import answer, example, lines_of, versioned
from o2c.api.schemas.common import ExactJSONRoute
from o2c.api.schemas.returns import (
    OrderReturnsPublic,
    ReturnableLinePublic,
    ReturnGoods,
    ReturnPublic,
    ReturnRecordPublic,
)

router = APIRouter(prefix="/sales-orders", tags=["sales orders"], route_class=ExactJSONRoute)


# The warehouse receives the goods; finance may record a return it was told of.
@router.post("/{order_id}/returns", status_code=201, response_model=ReturnPublic,
             dependencies=[allow("warehouse", "finance")])
def return_goods(app: AppDep, ctx: ContextDep, order_id: PathId, body: Annotated[
        ReturnGoods, example("Two back, one damaged", {
            "lines": [{"sku": "NT-SENSOR-100", "quantity": "2"},
                      {"sku": "NT-GATEWAY-200", "quantity": "1", "damaged": True}],
            "date": "2026-03-09", "reason": "Wrong model"})]) -> ReturnPublic:
    """Record invoiced goods returned: restocked at cost or written off, and credited."""
    return answer(app.return_goods(ctx, order_id, lines_of(body.lines), date=body.date,
                                   reason=body.reason), ReturnPublic)


@router.get("/{order_id}/returns", response_model=OrderReturnsPublic,
            dependencies=[allow(*ALL_ROLES)])
def order_returns(response: Response, app: AppDep, order_id: PathId) -> OrderReturnsPublic:
    """An order's returns, and per line what may still be returned."""
    order = app.sales_order(order_id)
    returned = order.returned
    return versioned(response, OrderReturnsPublic(
        id=str(order.id), version=order.version, number=order.number,
        lines=[ReturnableLinePublic(
            sku=line["sku"], shipped=order.shipped[line["sku"]],
            invoiced=order.invoiced[line["sku"]], returned=returned[line["sku"]],
            returnable=order.invoiced[line["sku"]] - returned[line["sku"]])
            for line in order.lines],
        returns=[ReturnRecordPublic.model_validate(record) for record in order.returns]))
