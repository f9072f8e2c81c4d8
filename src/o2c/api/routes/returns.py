"""Returns of an order's invoiced goods (warehouse and finance)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, allow
from o2c.api.routes._common import answer, example, lines_of, versioned
from o2c.api.schemas.common import ExactJSONRoute
from o2c.api.schemas.returns import (
    AuthoriseReturn,
    CancelReturnAuthorisation,
    OrderReturnsPublic,
    ReturnableLinePublic,
    ReturnAuthorisationDone,
    ReturnAuthorisationPublic,
    ReturnGoods,
    ReturnPublic,
    ReturnRecordPublic,
)
from o2c.domain import returns as return_rules
from o2c.domain.sales_order import SalesOrder

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
                                   reason=body.reason, authorisation=body.authorisation),
                  ReturnPublic)


# Sales (customer service) agrees a return with the customer; finance may too. The
# warehouse receives what was authorised.
@router.post("/{order_id}/return-authorisations", status_code=201,
             response_model=ReturnAuthorisationDone, dependencies=[allow("sales", "finance")])
def authorise_return(app: AppDep, ctx: ContextDep, order_id: PathId, body: Annotated[
        AuthoriseReturn, example("Two sensors may come back", {
            "lines": [{"sku": "NT-SENSOR-100", "quantity": "2"}],
            "reason": "Wrong model", "date": "2026-03-08"})]) -> ReturnAuthorisationDone:
    """Authorise a return of invoiced goods (an RMA): no goods or money move."""
    return answer(app.authorise_return(ctx, order_id, lines_of(body.lines), body.reason,
                                       date=body.date), ReturnAuthorisationDone)


@router.post("/{order_id}/return-authorisations/{rma_number}/cancel",
             response_model=ReturnAuthorisationDone, dependencies=[allow("sales", "finance")])
def cancel_return_authorisation(app: AppDep, ctx: ContextDep, order_id: PathId,
                                rma_number: PathId, body: Annotated[
        CancelReturnAuthorisation, example("The customer keeps the goods", {
            "reason": "Customer keeps them at a discount"})]) -> ReturnAuthorisationDone:
    """Cancel an RMA with goods still to come back: what it still authorises lapses."""
    return answer(app.cancel_return_authorisation(ctx, order_id, rma_number, body.reason),
                  ReturnAuthorisationDone)


def authorisations_of(order: SalesOrder) -> list[ReturnAuthorisationPublic]:
    """The order's RMAs with authorised, received and outstanding per SKU."""
    return [ReturnAuthorisationPublic.model_validate(return_rules.rma_view(rma))
            for rma in order.authorisations]


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
        returns=[ReturnRecordPublic.model_validate(record) for record in order.returns],
        authorisations=authorisations_of(order)))
