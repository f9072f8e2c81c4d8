"""A customer's credit: its limit, exposure and its parts, what is available, the credit
hold with its overdue invoices, the orders finance released; the forms that change the
limit and release an unconfirmed order (finance).

The page shares its address with the API's ``GET /customers/{id}/credit`` and answers
browsers only there (``core.BrowserRoute``), as the leads pages do."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result
from o2c.domain.errors import InvalidInputError, O2CError
from o2c.projections import lists, reports
from o2c.web import core
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False, route_class=core.BrowserRoute)
PATH = "/customers/{customer_id}/credit"


def _address(customer_id: str) -> str:
    return f"/customers/{core.quoted(customer_id)}/credit"


def _page(request: Request, who: Viewer, customer_id: str, error: str = "",
          status: int = 200) -> Response:
    app: O2C = request.app.state.o2c
    try:
        customer = app.customer(customer_id)
    except O2CError as exc:
        return core.refusal(request, who, exc.message, 404)
    core.wait_fresh(request)
    grace = app.settings.credit_grace_days
    credit = reports.customer_credit(app.db, app.places, str(customer.id), grace_days=grace)
    credit["credit_limit"] = customer.credit_limit  # the aggregate's, as the API answers
    if customer.credit_limit is not None:
        credit["available"] = customer.credit_limit - credit["exposure"]
    releases = customer.credit_releases
    placed = lists.sales_orders(app.db, app.places, limit=lists.MAX_LIMIT, status="placed",
                                customer_id=str(customer.id)).items
    numbers = {o.id: o.number for o in placed}
    held = [o for o in placed if o.id not in releases]
    chosen = request.query_params.get("order", "")[:100]
    return core.render(request, who, "credit.html", status=status, error=error,
                       customer=customer, credit=credit, grace=grace,
                       releases=[{"order_id": order_id, "number": numbers.get(order_id),
                                  **release} for order_id, release in releases.items()],
                       held=held, chosen=chosen)


@router.get(PATH)
def credit_page(request: Request, customer_id: str) -> Response:
    """A customer's limit, exposure, credit hold and releases, with finance's forms."""
    return _page(request, core.signed_in(request), customer_id)


def _page_of(customer_id: str) -> core.Page:
    def page(req: Request, who: Viewer, error: str, status: int) -> Response:
        return _page(req, who, customer_id, error, status)
    return page


def _limit_said(result: Result) -> str:
    limit = result.extra.get("credit_limit")
    return ("Credit limit changed to " + core.money(limit) + "." if limit is not None
            else "Credit limit removed: no limit.")


@router.post(PATH)
async def change_limit(request: Request, customer_id: str) -> Response:
    """Changes the customer's credit limit (blank: no limit), with the reason."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.change_credit_limit(ctx, customer_id, form.optional("credit_limit"),
                                       form.get("reason"))

    return await core.perform(request, "customer.credit_limit", run, _page_of(customer_id),
                              then=lambda r: _address(customer_id), done=_limit_said)


def _release(app: O2C, ctx: Context, form: core.Form, customer_id: str) -> Result:
    order_id = form.get("order_id")
    if not order_id:
        raise InvalidInputError("choose the order to release")
    order = app.sales_order(order_id)
    if str(order.customer_id) != str(app.customer(customer_id).id):
        raise InvalidInputError(f"order {order.number} is not this customer's")
    return app.release_order_credit(ctx, order_id, form.get("reason"))


@router.post(PATH + "/release")
async def release(request: Request, customer_id: str) -> Response:
    """Releases one of the customer's unconfirmed orders from credit control."""
    def said(result: Result) -> str:
        return "Order released from credit control: it may be confirmed now."

    return await core.perform(
        request, "order.credit_release",
        lambda app, ctx, form: _release(app, ctx, form, customer_id),
        _page_of(customer_id), then=lambda r: _address(customer_id), done=said)

