"""Price lists: the ``default`` list and one per customer (named by the customer's id),
with each SKU's prices by effective date. Order and quote lines without a unit price
are priced from them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, allow
from o2c.api.routes._common import answer, example, versioned
from o2c.api.schemas.common import ExactJSONRoute
from o2c.api.schemas.price_lists import PriceListPublic, PricePublic, PriceSetPublic, SetPrice

router = APIRouter(prefix="/price-lists", tags=["price lists"], route_class=ExactJSONRoute)


@router.post("/{name}/prices", status_code=201, response_model=PriceSetPublic,
             dependencies=[allow("sales")])
def set_price(app: AppDep, ctx: ContextDep, name: PathId, body: Annotated[
        SetPrice, example("A new price from March", {
            "sku": "NT-SENSOR-100", "unit_price": "89.00",
            "effective_from": "2026-03-01"})]) -> PriceSetPublic:
    """Set a SKU's price on a list (``default`` or a customer's id) from a date."""
    return answer(app.set_price(ctx, name, body.sku, body.unit_price,
                                effective_from=body.effective_from), PriceSetPublic)


@router.get("/{name}", response_model=PriceListPublic, dependencies=[allow(*ALL_ROLES)])
def get_price_list(response: Response, app: AppDep, name: PathId) -> PriceListPublic:
    """A price list: every price with the dates it applies."""
    found = app.price_list_named(name)
    return versioned(response, PriceListPublic(
        id=str(found.id), version=found.version, name=found.name,
        prices=[PricePublic(**row) for row in found.schedule()]))
