"""Inventory: levels per SKU, a SKU's FIFO layers and movements; receive, count."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c import audit
from o2c.application import O2C, Context, Result
from o2c.domain.errors import O2CError
from o2c.projections import lists, reports
from o2c.web import core
from o2c.web.pages import csv_report
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False)
#: The most movements a SKU's page lists (the newest).
MOVEMENTS = 100
PAGE = 50


def low_stock(app: O2C) -> tuple[list[lists.StockItemItem], bool]:
    """The items low or out of stock (the list's own ``low``/``out``), at most a page's
    worth, and whether there are more."""
    page = lists.stock_items(app.db, app.places, limit=lists.MAX_LIMIT, status="low,out")
    return page.items, page.next_cursor is not None


def _bars(item: lists.StockItemItem) -> dict[str, float]:
    on_hand = float(item.on_hand) or 1.0
    return {"reserved": round(100 * float(item.reserved) / on_hand, 1),
            "available": round(100 * max(float(item.available), 0) / on_hand, 1)}


def _list(request: Request, who: Viewer, error: str = "", status: int = 200) -> Response:
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    params = request.query_params
    chosen = params.get("status", "")[:40]
    try:
        page = lists.stock_items(app.db, app.places, limit=PAGE,
                                 cursor=params.get("cursor") or None,
                                 q=params.get("q") or None, status=chosen or None)
    except O2CError as exc:
        page, error, status = lists.Page(items=[], next_cursor=None), exc.message, 422
    total = reports.inventory(app.db, app.places)["total_value"]
    return core.render(request, who, "inventory.html", status=status, error=error,
                       items=[(item, _bars(item)) for item in page.items],
                       next_cursor=page.next_cursor, total=total, chosen=chosen,
                       q=params.get("q", "")[:100], threshold=lists.LOW_STOCK)


@router.get("/inventory")
def inventory(request: Request) -> Response:
    """Levels per SKU with bars, value, low stock; receive and count forms."""
    return _list(request, core.signed_in(request))


@router.get("/inventory.csv")
def inventory_csv(request: Request) -> Response:
    """The inventory report as CSV."""
    core.signed_in(request)
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    rows = reports.inventory(app.db, app.places)["items"]
    return csv_report("inventory.csv", ["sku", "name", "on_hand", "reserved", "available",
                                        "value"], rows)


def _item(request: Request, who: Viewer, sku: str, error: str = "",
          status: int = 200) -> Response:
    app: O2C = request.app.state.o2c
    try:
        item = app.stock_item(sku)
    except O2CError as exc:
        return core.refusal(request, who, exc.message, 404)
    moves = audit.history_of(app, item.sku)[-MOVEMENTS:]
    return core.render(request, who, "stock_item.html", status=status, error=error,
                       item=item, moves=list(reversed(moves)))


@router.get("/inventory/{sku}")
def stock_item(request: Request, sku: str) -> Response:
    """A SKU: on hand, reserved, available, its FIFO cost layers and its movements."""
    return _item(request, core.signed_in(request), sku)


def _register(app: O2C, ctx: Context, form: core.Form) -> Result:
    return app.register_stock_item(ctx, form.get("sku"), form.get("name"))


@router.post("/inventory")
async def register(request: Request) -> Response:
    """Adds a SKU to the item master."""
    def page(req: Request, who: Viewer, error: str, status: int) -> Response:
        return _list(req, who, error, status)

    return await core.perform(
        request, "stock.register", _register, page,
        then=lambda r: "/inventory/" + core.quoted(str(r.extra.get("sku") or r.id)),
        done=lambda r: "Stock item registered.")


def _sku_action(action: str, command: core.Command, what: str) -> Any:
    async def handler(request: Request, sku: str) -> Response:
        def page(req: Request, who: Viewer, error: str, status: int) -> Response:
            return _item(req, who, sku, error, status)

        def run(app: O2C, ctx: Context, form: core.Form) -> Result:
            form.fields["sku"] = [sku]
            return command(app, ctx, form)

        return await core.perform(request, action, run, page,
                                  then=lambda r: "/inventory/" + core.quoted(sku),
                                  done=lambda r: what)
    return handler


router.add_api_route("/inventory/{sku}/receive", _sku_action(
    "stock.receive", lambda app, ctx, f: app.receive_stock(
        ctx, f.get("sku"), f.get("quantity"), f.get("unit_cost")),
    "Stock received."), methods=["POST"])
router.add_api_route("/inventory/{sku}/count", _sku_action(
    "stock.count", lambda app, ctx, f: app.adjust_stock(
        ctx, f.get("sku"), f.get("counted_quantity"), f.get("reason")),
    "Count recorded."), methods=["POST"])
