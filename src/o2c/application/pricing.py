"""Use cases of prices and quotes: price lists (the default one and one per customer,
named by the customer's id), and an opportunity's proposal priced as its order will be.

How an order line is priced lives in ``UseCaseBase.priced_lines`` (every order goes
through ``new_order``); the figures in ``sales_order.order_totals``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from o2c.application.base import UseCaseBase
from o2c.application.runner import Attempt, Outcome, Result, command
from o2c.domain import money, values
from o2c.domain.customer import Customer
from o2c.domain.errors import InvalidInputError, NotFoundError
from o2c.domain.opportunity import Opportunity
from o2c.domain.price_list import DEFAULT, PriceList, check_name
from o2c.domain.sales_order import check_order_lines


def quoted_order(opp: Opportunity, discount: object) -> tuple[list[dict[str, Any]], object]:
    """The lines and order discount of the deal's latest quote, to win it without lines;
    refused (422) when it has none, or when a discount comes without lines (the quote's
    discount is the one agreed)."""
    quote = opp.latest_quote
    if quote is None:
        raise InvalidInputError("winning without lines orders the latest quote, and this "
                                "opportunity has none: give lines or quote first")
    if discount is not None:
        raise InvalidInputError("discount_percent goes with lines; without lines the "
                                "quote's own discount applies")
    return [dict(line) for line in quote["lines"]], quote["discount_percent"]


class Pricing(UseCaseBase):
    """Price lists and quotes (sales)."""

    @command("set_price")
    def set_price(self, run: Attempt, name: object, sku: object, unit_price: object,
                  effective_from: object = None) -> Outcome:
        """Sets a SKU's price on a list from ``effective_from`` (the business date by
        default; a later date schedules a change, an earlier one applies to orders
        placed from now on). The list is ``default`` or a customer's id, whose orders
        then take it before the default list."""
        list_name = check_name(name)
        if list_name != DEFAULT:
            self.get(Customer, list_name, "customer")
        item = self.stock_item(sku, reference=True)
        day = run.business_date() if effective_from is None else values.a_date(
            effective_from, "effective_from")
        price_list = self.price_list(list_name)
        if price_list is None:
            price_list = PriceList.open(list_name)
        else:
            run.check_version(price_list)
        code, price, day = price_list.set_price(item.sku, unit_price, day, places=self.places)
        return (Result(str(price_list.id), price_list.version,
                       extra={"name": list_name, "sku": code, "unit_price": str(price),
                              "effective_from": day.isoformat()}),
                [price_list])

    @command("quote_opportunity", id="opportunity_id")
    def quote_opportunity(self, run: Attempt, opportunity_id: object,
                          lines: Sequence[Mapping[str, object]],
                          discount_percent: object = None) -> Outcome:
        """Records a proposal on an open deal: lines priced as an order placed today
        would be (the customer's list, then the default one), with line and order
        discounts; winning the deal without lines orders it."""
        opp = self.get(Opportunity, str(opportunity_id), "opportunity")
        run.check_version(opp)
        opp.check_winnable()
        customer = self.get(Customer, opp.customer_id, "customer")
        today = run.business_date()
        checked = check_order_lines(self.priced_lines(customer, lines, today), self.places)
        for line in checked:
            self.stock_item_of(line["sku"], reference=True)
        rate = money.rate(str(self.settings.tax_rate))
        totals = opp.quote(checked, discount_percent, tax_rate=rate, places=self.places,
                           quoted_on=today)
        quote = opp.latest_quote
        assert quote is not None
        return (Result(str(opp.id), opp.version, extra={
            "quote_no": quote["quote_no"], "quoted_on": today.isoformat(),
            "lines": [{k: str(v) for k, v in line.items()} for line in quote["lines"]],
            "discount_percent": str(quote["discount_percent"]),
            "gross": str(totals.gross), "discount": str(totals.discount),
            "net": str(totals.net), "tax": str(totals.tax), "total": str(totals.total)}),
                [opp])

    def price_list_named(self, name: object) -> PriceList:
        """A price list by name (404 when it has no price yet, or the name is not one)."""
        try:
            checked = check_name(name)
        except InvalidInputError:
            raise NotFoundError(f"no price list {name!r}") from None
        found = self.price_list(checked)
        if found is None:
            raise NotFoundError(f"no price list {checked!r} (it has no price yet)")
        return found
