"""Price lists: one list's prices with the dates they apply (the ``default`` list, or a
customer's, named by the customer's id), and the form to set a price (sales, admin)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result
from o2c.domain.errors import O2CError
from o2c.domain.price_list import DEFAULT
from o2c.web import core
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False)
PAGE = "/prices"


def _name(request: Request) -> str:
    return (request.query_params.get("name") or DEFAULT).strip()[:100] or DEFAULT


def _page(request: Request, who: Viewer, error: str = "", status: int = 200,
          name: str | None = None) -> Response:
    app: O2C = request.app.state.o2c
    wanted = name or _name(request)
    prices, version, missing = [], None, ""
    try:
        found = app.price_list_named(wanted)
        prices, version = found.schedule(), found.version
    except O2CError as exc:
        missing = exc.message
    return core.render(request, who, "prices.html", status=status, error=error,
                       name=wanted, prices=prices, version=version, missing=missing)


@router.get(PAGE)
def prices_page(request: Request) -> Response:
    """A price list's prices by SKU and effective date, and the set-price form."""
    return _page(request, core.signed_in(request))


@router.post(PAGE)
async def set_price(request: Request) -> Response:
    """Sets a SKU's price on the list from a date."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.set_price(ctx, form.get("name") or DEFAULT, form.get("sku"),
                             form.get("unit_price"),
                             effective_from=form.get("effective_from") or None)

    def page(req: Request, who: Viewer, error: str, status: int) -> Response:
        return _page(req, who, error, status)

    return await core.perform(
        request, "price.set", run, page,
        then=lambda r: PAGE + "?" + urlencode({"name": r.extra.get("name", DEFAULT)}),
        done=lambda r: f"{r.extra.get('sku', '')} is {r.extra.get('unit_price', '')} from "
                       f"{r.extra.get('effective_from', '')} on list {r.extra.get('name', '')}.")
