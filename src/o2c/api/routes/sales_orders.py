"""Sales orders: place, confirm, ship, invoice, pay, credit, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, allow
from o2c.api.routes._common import answer, example, lines_of, versioned
from o2c.api.routes._lists import ListQuery, list_query
from o2c.api.schemas.common import CommandPublic, ExactJSONRoute
from o2c.api.schemas.sales_orders import (
    CancelOrder,
    CreditInvoice,
    CreditNotePublic,
    InvoiceOrder,
    InvoicePublic,
    InvoiceSummaryPublic,
    OrderLinePublic,
    PaymentPublic,
    PlaceSalesOrder,
    RecordPayment,
    ReleaseCredit,
    ReleasedPublic,
    SalesOrderListPublic,
    SalesOrderPublic,
    ShipmentPublic,
    ShipOrder,
)
from o2c.domain.money import ZERO, quantize
from o2c.domain.sales_order import line_amounts

router = APIRouter(prefix="/sales-orders", tags=["sales orders"], route_class=ExactJSONRoute)
SALES, WAREHOUSE, FINANCE = [allow("sales")], [allow("warehouse")], [allow("finance")]
#: An invoice's body may be left out: it is then dated the business date.
NO_DATE = InvoiceOrder()


@router.post("", status_code=201, response_model=CommandPublic, dependencies=SALES)
def place_sales_order(app: AppDep, ctx: ContextDep, body: Annotated[
        PlaceSalesOrder, example("Two gateways", {
            "customer_id": "0b8f7c6e-3c1a-4d3e-9a55-1f2b3c4d5e6f",
            "lines": [{"sku": "NT-GATEWAY-200", "quantity": "2", "unit_price": "480.00"}]})]
                      ) -> CommandPublic:
    """Place an order for an existing customer."""
    return answer(app.place_sales_order(ctx, body.customer_id, lines_of(body.lines),
                                        discount_percent=body.discount_percent),
                  CommandPublic)


# Confirming hands the order from sales to fulfilment (it reserves stock): either side may.
@router.post("/{order_id}/confirm", response_model=CommandPublic,
             dependencies=[allow("sales", "warehouse")])
def confirm_order(app: AppDep, ctx: ContextDep, order_id: PathId) -> CommandPublic:
    """Check availability and reserve stock for every line, all or nothing."""
    return answer(app.confirm_order(ctx, order_id), CommandPublic)


@router.post("/{order_id}/shipments", status_code=201, response_model=ShipmentPublic,
             dependencies=WAREHOUSE)
def ship_order(app: AppDep, ctx: ContextDep, order_id: PathId, body: Annotated[
        ShipOrder, example("Partial shipment", {"lines": [
            {"sku": "NT-SENSOR-100", "quantity": "50"}]})]) -> ShipmentPublic:
    """Ship reserved stock, in part or in whole (posts FIFO cost to COGS)."""
    return answer(app.ship_order(ctx, order_id, lines_of(body.lines), date=body.date),
                  ShipmentPublic)


@router.post("/{order_id}/invoices", status_code=201, response_model=InvoicePublic,
             dependencies=FINANCE)
def invoice_order(app: AppDep, ctx: ContextDep, order_id: PathId,
                  body: Annotated[InvoiceOrder, example(
                      "Dated the day it shipped", {"date": "2026-03-02"})] = NO_DATE
                  ) -> InvoicePublic:
    """Invoice what shipped and is not yet invoiced, with tax (numbered from the series)."""
    return answer(app.invoice_order(ctx, order_id, date=body.date), InvoicePublic)


@router.post("/{order_id}/payments", status_code=201, response_model=PaymentPublic,
             dependencies=FINANCE)
def pay_order(app: AppDep, ctx: ContextDep, order_id: PathId, body: Annotated[
        RecordPayment, example("A bank transfer", {"amount": "1000.00",
                                                   "reference": "ACH 90410",
                                                   "invoices": ["INV-2026-000123"],
                                                   "date": "2026-03-02"})]
              ) -> PaymentPublic:
    """Record a customer payment: named invoices first, else oldest due; rest is credit."""
    return answer(app.pay_order(ctx, order_id, body.amount, body.reference,
                                invoices=body.invoices, date=body.date), PaymentPublic)


@router.post("/{order_id}/credit-notes", status_code=201, response_model=CreditNotePublic,
             dependencies=FINANCE)
def credit_invoice(app: AppDep, ctx: ContextDep, order_id: PathId, body: Annotated[
        CreditInvoice, example("Wrong price", {"invoice_number": "INV-2026-000123",
                                               "reason": "Billed at the wrong price"})]
                   ) -> CreditNotePublic:
    """Issue a credit note reversing an unpaid invoice (numbered from the series)."""
    return answer(app.credit_invoice(ctx, order_id, body.invoice_number, body.reason,
                                     date=body.date), CreditNotePublic)


@router.post("/{order_id}/cancel", response_model=CommandPublic, dependencies=SALES)
def cancel_order(app: AppDep, ctx: ContextDep, order_id: PathId, body: Annotated[
        CancelOrder, example("Postponed", {"reason": "Customer postponed the project"})]
                 ) -> CommandPublic:
    """Cancel an order that has not shipped, releasing its reservations."""
    return answer(app.cancel_order(ctx, order_id, body.reason), CommandPublic)


@router.get("/{order_id}", response_model=SalesOrderPublic, dependencies=[allow(*ALL_ROLES)])
def get_sales_order(response: Response, app: AppDep, order_id: PathId) -> SalesOrderPublic:
    """An order: its lines, what shipped, its invoices and payments."""
    order = app.sales_order(order_id)
    totals = order.totals
    return versioned(response, SalesOrderPublic(
        id=str(order.id), version=order.version, number=order.number,
        customer_id=str(order.customer_id),
        opportunity_id=str(order.opportunity_id) if order.opportunity_id else None,
        status=order.status, currency=order.currency, tax_rate=order.tax_rate,
        lines=[OrderLinePublic(sku=line["sku"], quantity=line["quantity"],
                               unit_price=line["unit_price"], shipped=order.shipped[line["sku"]],
                               invoiced=order.invoiced[line["sku"]],
                               discount_percent=line.get("discount_percent", ZERO),
                               **line_amounts(line, order.places)._asdict())
               for line in order.lines],
        total=order.total, gross=totals.gross, discount=totals.discount,
        discount_percent=order.discount_percent, tax=totals.tax,
        total_with_tax=totals.total,
        invoices=[InvoiceSummaryPublic(
            **{"gross": invoice["net"], "discount": invoice["net"] - invoice["net"],
               **{k: v for k, v in invoice.items() if k != "lines"}},
            open=quantize(ZERO, order.places) if invoice["credited"]
            else invoice["total"] - invoice["paid"])
                  for invoice in order.invoices],
        paid=order.paid, open_balance=order.open_balance, cancel_reason=order.cancel_reason))


@router.get("", response_model=SalesOrderListPublic, dependencies=[allow(*ALL_ROLES)])
def list_sales_orders(query: Annotated[ListQuery, list_query(
        "sales_orders", by_customer=True)]) -> SalesOrderListPublic:
    """Sales orders, a page at a time: search, filter by status or customer."""
    return query.page(SalesOrderListPublic)


@router.post("/{order_id}/credit-release", response_model=ReleasedPublic, dependencies=FINANCE)
def release_order_credit(app: AppDep, ctx: ContextDep, order_id: PathId, body: Annotated[
        ReleaseCredit, example("Cleared by finance", {
            "reason": "Wire for the overdue invoice received; clearing tomorrow"})]
                         ) -> ReleasedPublic:
    """Let this one unconfirmed order past credit control (over the limit or on hold)."""
    return answer(app.release_order_credit(ctx, order_id, body.reason), ReleasedPublic)
