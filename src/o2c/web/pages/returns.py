"""Returns of an order's invoiced goods: what came back, what may still, and the form
that records a return (warehouse, finance) with its credit note.

The page shares its address with the API's ``/sales-orders/{id}/returns`` and answers
browsers only there (``core.BrowserRoute``), as the leads pages do."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result
from o2c.domain import returns as return_rules
from o2c.domain.errors import O2CError
from o2c.domain.sales_order import SalesOrder
from o2c.web import core
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False, route_class=core.BrowserRoute)
PATH = "/sales-orders/{order_id}/returns"


def _address(order_id: str) -> str:
    return f"/sales-orders/{core.quoted(order_id)}/returns"


def returnable(order: SalesOrder) -> list[dict[str, Any]]:
    """Per order line: shipped, invoiced, returned and what may still be returned (as
    the API's ``GET /sales-orders/{id}/returns`` answers it)."""
    returned = order.returned
    return [{"sku": line["sku"], "shipped": order.shipped[line["sku"]],
             "invoiced": order.invoiced[line["sku"]], "returned": returned[line["sku"]],
             "returnable": order.invoiced[line["sku"]] - returned[line["sku"]]}
            for line in order.lines]


def _page(request: Request, who: Viewer, order_id: str, error: str = "",
          status: int = 200) -> Response:
    app: O2C = request.app.state.o2c
    try:
        order = app.sales_order(order_id)
    except O2CError as exc:
        return core.refusal(request, who, exc.message, 404)
    lines = returnable(order)
    rmas = [return_rules.rma_view(rma) for rma in order.authorisations]
    return core.render(request, who, "returns.html", status=status, error=error,
                       order=order, lines=lines, returns=order.returns, rmas=rmas,
                       open_rmas=[r for r in rmas if r["status"] == return_rules.RMA_OPEN],
                       open_lines=[line for line in lines if line["returnable"] > 0],
                       today=datetime.now(UTC).date().isoformat())


@router.get(PATH)
def returns_page(request: Request, order_id: str) -> Response:
    """An order's returns, and per line what may still be returned."""
    return _page(request, core.signed_in(request), order_id)


def return_lines(form: core.Form) -> list[dict[str, object]]:
    """The form's return lines: one per SKU with a quantity (blank or 0: not returned),
    damaged when its SKU is ticked."""
    damaged = set(form.all("damaged"))
    return [{"sku": line["sku"], "quantity": line["quantity"],
             "damaged": line["sku"] in damaged}
            for line in form.lines("sku", "quantity")
            if line["quantity"] not in ("", "0")]


def _said(result: Result) -> str:
    extra = result.extra
    text = (f"Return {extra.get('return_no', '')} recorded: credit note "
            f"{extra.get('credit_note_number', '')} for {core.money(extra.get('total', ''))}"
            f" (net {core.money(extra.get('net', ''))}, tax {core.money(extra.get('tax', ''))})"
            f"; restocked at cost {core.money(extra.get('restocked_cost', ''))}, written off "
            f"{core.money(extra.get('damaged_cost', ''))}; "
            f"{core.money(extra.get('applied', ''))} settled the order's invoices")
    if Decimal(str(extra.get("unapplied", "0"))):
        text += (f", {core.money(extra['unapplied'])} left as the customer's credit (now "
                 f"{core.money(extra.get('customer_credit', ''))})")
    return text + "."


@router.post(PATH)
async def return_goods(request: Request, order_id: str) -> Response:
    """Records goods returned on the order: restocked or written off, and credited."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.return_goods(ctx, order_id, return_lines(form),
                                date=form.optional("date"), reason=form.optional("reason"),
                                authorisation=form.optional("authorisation"))

    def page(req: Request, who: Viewer, error: str, status: int) -> Response:
        return _page(req, who, order_id, error, status)

    return await core.perform(request, "order.return", run, page,
                              then=lambda r: _address(order_id), done=_said)


@router.post("/sales-orders/{order_id}/return-authorisations")
async def authorise_return(request: Request, order_id: str) -> Response:
    """Authorises a return (an RMA) of invoiced goods: nothing moves, nothing is posted."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        lines = [{"sku": line["sku"], "quantity": line["quantity"]}
                 for line in form.lines("sku", "quantity")
                 if line["quantity"] not in ("", "0")]
        return app.authorise_return(ctx, order_id, lines, form.optional("reason"),
                                    date=form.optional("date"))

    def page(req: Request, who: Viewer, error: str, status: int) -> Response:
        return _page(req, who, order_id, error, status)

    return await core.perform(
        request, "order.authorise_return", run, page, then=lambda r: _address(order_id),
        done=lambda r: f"Return authorised: {r.extra.get('rma_number', '')}.")


@router.post("/sales-orders/{order_id}/return-authorisations/{rma_number}/cancel")
async def cancel_rma(request: Request, order_id: str, rma_number: str) -> Response:
    """Cancels an RMA with goods still to come back."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.cancel_return_authorisation(ctx, order_id, rma_number,
                                               form.optional("reason"))

    def page(req: Request, who: Viewer, error: str, status: int) -> Response:
        return _page(req, who, order_id, error, status)

    return await core.perform(
        request, "order.cancel_rma", run, page, then=lambda r: _address(order_id),
        done=lambda r: f"{rma_number} cancelled.")
