"""Sales orders: the list by status, and an order's page with its actions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result
from o2c.domain.errors import O2CError
from o2c.domain.sales_order import SalesOrder, line_amounts
from o2c.projections import lists
from o2c.web import core
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False)

#: The statuses an order waits in, as the home page counts them.
WAITING = (("placed", "To confirm"), ("confirmed", "To ship"),
           ("partially_shipped", "Partly shipped"), ("shipped", "To invoice"))


PAGE = 50


def waiting(app: O2C) -> list[dict[str, Any]]:
    """How many orders wait in each status (counted up to a page of ``MAX_LIMIT``: more
    shows as "200+"), from the order list."""
    rows = []
    for status, label in WAITING:
        page = lists.sales_orders(app.db, app.places, limit=lists.MAX_LIMIT, status=status)
        rows.append({"status": status, "label": label, "count": len(page.items),
                     "more": page.next_cursor is not None})
    return rows


@router.get("/orders")
def orders(request: Request) -> Response:
    """Sales orders, newest first, by status and search."""
    who = core.signed_in(request)
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    params = request.query_params
    chosen, error, status = params.get("status", "")[:100], "", 200
    try:
        page = lists.sales_orders(app.db, app.places, limit=PAGE,
                                  cursor=params.get("cursor") or None,
                                  q=params.get("q") or None, status=chosen or None)
    except O2CError as exc:
        page, error, status = lists.Page(items=[], next_cursor=None), exc.message, 422
    return core.render(request, who, "orders.html", status=status, error=error,
                       page=page, chosen=chosen, q=params.get("q", "")[:100],
                       statuses=list(lists.STATUSES["sales_orders"]))


def _would(order: SalesOrder, attempt: Callable[[SalesOrder], object]) -> bool:
    """Whether the order's own rules allow a command now (tried on a copy, never saved)."""
    try:
        attempt(copy.deepcopy(order))
    except O2CError:
        return False
    return True


def offers(order: SalesOrder) -> dict[str, bool]:
    """Which actions the order's state allows, asked of the aggregate itself."""
    today = datetime.now(UTC).date()

    def creditable(number: str) -> bool:
        return _would(order, lambda o: o.check_creditable(number, today))

    unpaid = [i for i in order.invoices if not i["credited"] and creditable(i["invoice_number"])]
    return {
        "confirm": _would(order, lambda o: o.check_confirmable()),
        "ship": _would(order, lambda o: o.check_shippable([])) and not order.fully_shipped,
        "invoice": _would(order, lambda o: o.check_invoiceable(today)),
        "pay": order.open_balance > 0,
        "credit": bool(unpaid),
        "cancel": _would(order, lambda o: o.cancel("check")),
    }


def _lines(app: O2C, order: SalesOrder) -> list[dict[str, Any]]:
    rows = []
    for line in order.lines:
        sku = line["sku"]
        try:
            reserved = app.stock_item(sku).reserved_for(order.id)
        except O2CError:
            reserved = Decimal(0)
        figures = line_amounts(line, order.places)
        rows.append({"sku": sku, "quantity": line["quantity"], "unit_price": line["unit_price"],
                     "amount": figures.gross, "gross": figures.gross,
                     "discount_percent": line.get("discount_percent"),
                     "discount": figures.discount, "net": figures.net, "reserved": reserved,
                     "shipped": order.shipped[sku], "invoiced": order.invoiced[sku],
                     "to_ship": line["quantity"] - order.shipped[sku]})
    return rows


def _order_page(request: Request, who: Viewer, order_id: str, error: str = "",
                status: int = 200) -> Response:
    app: O2C = request.app.state.o2c
    try:
        order = app.sales_order(order_id)
    except O2CError as exc:
        return core.refusal(request, who, exc.message, 404)
    return core.render(request, who, "order.html", status=status, error=error, order=order,
                       lines=_lines(app, order), offers=offers(order),
                       unpaid=[i for i in order.invoices if not i["credited"]],
                       totals=order.totals,
                       invoices=[{"gross": i["net"], "discount": i["net"] - i["net"], **i,
                                  "open": i["total"] - (i["total"] if i["credited"]
                                                        else i["paid"])}
                                 for i in order.invoices],
                       open_invoices=order.open_invoices(),
                       today=datetime.now(UTC).date().isoformat())


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: str) -> Response:
    """An order's lines, reserved, shipped, invoiced and paid, and its actions."""
    return _order_page(request, core.signed_in(request), order_id)


def _order_action(action: str, command: core.Command, what: Callable[[Result], str]) -> Any:
    async def handler(request: Request, order_id: str) -> Response:
        def page(req: Request, who: Viewer, error: str, status: int) -> Response:
            return _order_page(req, who, order_id, error, status)

        return await core.perform(request, action, command, page,
                                  then=lambda r: "/orders/" + core.quoted(order_id),
                                  done=what)
    return handler


def _add(path: str, action: str, command: Callable[[O2C, Context, core.Form, str], Result],
         what: Callable[[Result], str]) -> None:
    async def handler(request: Request, order_id: str) -> Response:
        def run(app: O2C, ctx: Context, form: core.Form) -> Result:
            return command(app, ctx, form, order_id)

        inner = _order_action(action, run, what)
        response: Response = await inner(request, order_id)
        return response

    router.add_api_route(path, handler, methods=["POST"])


_add("/orders/{order_id}/confirm", "order.confirm",
     lambda app, ctx, f, oid: app.confirm_order(ctx, oid),
     lambda r: "Order confirmed: stock reserved.")
_add("/orders/{order_id}/ship", "order.ship",
     lambda app, ctx, f, oid: app.ship_order(ctx, oid, [
         {"sku": line["sku"], "quantity": line["quantity"]}
         for line in f.lines("sku", "quantity") if line["quantity"] not in ("", "0")]),
     lambda r: "Shipment recorded.")
_add("/orders/{order_id}/invoice", "order.invoice",
     lambda app, ctx, f, oid: app.invoice_order(ctx, oid),
     lambda r: f"Invoice {r.extra.get('invoice_number', '')} issued for "
               f"{core.money(r.extra.get('total', ''))}.")
_add("/orders/{order_id}/pay", "order.pay",
     lambda app, ctx, f, oid: app.pay_order(ctx, oid, f.get("amount"),
                                            f.optional("reference"),
                                            invoices=f.all("invoices") or None,
                                            date=f.optional("date")),
     lambda r: "Payment recorded" + (
         f"; {core.money(r.extra['unapplied'])} left as the customer's credit."
         if Decimal(str(r.extra.get("unapplied", "0"))) else "."))
_add("/orders/{order_id}/credit", "order.credit",
     lambda app, ctx, f, oid: app.credit_invoice(ctx, oid, f.get("invoice_number"),
                                                 f.get("reason")),
     lambda r: "Credit note issued.")
_add("/orders/{order_id}/cancel", "order.cancel",
     lambda app, ctx, f, oid: app.cancel_order(ctx, oid, f.get("reason")),
     lambda r: "Order cancelled: reservations released.")
