"""Bodies and answers of ``routes.price_lists``."""

from __future__ import annotations

import datetime as dt

from o2c.api.schemas.common import Amount, Command, CommandPublic, Day, Dec, Out, Sku


class SetPrice(Command):
    """A SKU's unit price on a list from a date (default: the business date)."""

    sku: Sku
    unit_price: Amount
    effective_from: Day | None = None


class PriceSetPublic(CommandPublic):
    """A price set on a list."""

    name: str
    sku: str
    unit_price: Dec
    effective_from: dt.date


class PricePublic(Out):
    """A price of a list, from ``effective_from`` until ``effective_to`` (exclusive; null:
    until further notice)."""

    sku: str
    unit_price: Dec
    effective_from: dt.date
    effective_to: dt.date | None


class PriceListPublic(Out):
    """A price list: ``default`` or a customer's (named by the customer's id), every price
    with the dates it applies."""

    id: str
    version: int
    name: str
    prices: list[PricePublic]
