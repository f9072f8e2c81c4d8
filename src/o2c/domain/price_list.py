"""PriceList: what a SKU sells for, from a date on.

There is one ``default`` list, and one list per customer who has prices of their
own; a customer's list is named by the customer's id, so assigning a customer a
list is setting a price on the list of that name (no event on Customer). A list
keeps every price it was ever given with the date it takes effect from; the
price of a SKU on a day is the one with the latest ``effective_from`` on or
before that day. An order line without a unit price takes the customer's list
on the order date, and the default list where the customer's has no price then
(``price_for``); no price in either is refused, naming the SKU.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import money, values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import InvalidInputError, InvalidStateError
from o2c.domain.stock_item import check_sku

DEFAULT = "default"
_NAMESPACE = uuid.UUID("5b0f7a52-3d0e-4c52-9d3a-0e6c2a8f4b11")
#: The most prices one list keeps (each SKU's history counts).
MAX_PRICES = 100_000


class NoPriceError(InvalidInputError):
    """An order or quote line without a unit price, and no price list has one for its SKU
    on that day (422 ``no_price``)."""

    code = "no_price"


def check_name(name: object) -> str:
    """A price list's name: ``default``, or the id of the customer it prices for (the
    canonical UUID text)."""
    if name == DEFAULT:
        return DEFAULT
    if isinstance(name, str):
        try:
            return str(UUID(name)) if len(name) == 36 else _bad_name(name)
        except ValueError:
            pass
    return _bad_name(name)


def _bad_name(name: object) -> str:
    shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
    raise InvalidInputError(f"a price list is named 'default' or by a customer's id, "
                            f"not {shown}")


class PriceList(O2CAggregate):
    """A list of prices per SKU, each effective from a date (the default list, or one
    customer's)."""

    class Opened(Aggregate.Created):
        """The list got its first price."""

        class_version = 1
        name: str

    class PriceSet(Aggregate.Event):
        """``sku`` sells at ``unit_price`` from ``effective_from`` on (until a later
        price of the list takes effect). A price for the same SKU and date replaces it."""

        class_version = 1
        sku: str
        unit_price: Decimal
        effective_from: date

    @staticmethod
    def create_id(name: str) -> UUID:
        """Price lists are addressed by name: the id is derived from it."""
        return uuid.uuid5(_NAMESPACE, "price-list:" + name)

    @classmethod
    def open(cls, name: object) -> PriceList:
        """A new, empty list of that name."""
        checked = check_name(name)
        return cls._create(cls.Opened, id=cls.create_id(checked), name=checked)

    @event(Opened)
    def __init__(self, name: str) -> None:
        self.name = name
        #: sku -> {effective_from ISO text: unit price}
        self.prices: dict[str, dict[str, Decimal]] = {}
        self.count = 0

    def set_price(self, sku: object, unit_price: object, effective_from: object, *,
                  places: int) -> tuple[str, Decimal, date]:
        """Sets a SKU's price from a date: refused if malformed, or the same as what the
        list already says for that SKU and date."""
        code = check_sku(sku)
        price = money.money(unit_price, places=places, what="unit_price", allow_zero=True)
        day = values.a_date(effective_from, "effective_from")
        if self.prices.get(code, {}).get(day.isoformat()) == price:
            raise InvalidStateError(f"{code} is already {price} from {day} on {self.label}")
        if self.count >= MAX_PRICES:
            raise InvalidStateError(f"price list {self.label} holds {MAX_PRICES} prices, "
                                    "the most one list may")
        self._price_set(sku=code, unit_price=price, effective_from=day)
        return code, price, day

    @event(PriceSet)
    def _price_set(self, sku: str, unit_price: Decimal, effective_from: date) -> None:
        history = self.prices.setdefault(sku, {})
        if effective_from.isoformat() not in history:
            self.count += 1
        history[effective_from.isoformat()] = unit_price

    @property
    def label(self) -> str:
        """How the list is named to people."""
        return self.name if self.name == DEFAULT else f"of customer {self.name}"

    def price_at(self, sku: str, day: date) -> Decimal | None:
        """The price of ``sku`` on ``day``: the latest effective on or before it."""
        history = self.prices.get(sku)
        if not history:
            return None
        key = day.isoformat()
        found = [k for k in history if k <= key]
        return history[max(found)] if found else None

    def schedule(self) -> list[dict[str, Any]]:
        """Every price, by SKU then date, with the date the next one replaces it."""
        rows: list[dict[str, Any]] = []
        for sku in sorted(self.prices):
            days = sorted(self.prices[sku])
            for number, key in enumerate(days):
                rows.append({"sku": sku, "unit_price": self.prices[sku][key],
                             "effective_from": date.fromisoformat(key),
                             "effective_to": (date.fromisoformat(days[number + 1])
                                              if number + 1 < len(days) else None)})
        return rows


def price_for(lists: Iterable[PriceList | None], sku: str, day: date) -> Decimal:
    """The price of ``sku`` on ``day`` from the first of ``lists`` that has one (the
    customer's, then the default); refused (``NoPriceError``) when none does."""
    tried: list[str] = []
    for price_list in lists:
        if price_list is None:
            continue
        tried.append(price_list.label)
        price = price_list.price_at(sku, day)
        if price is not None:
            return price
    where = " or ".join(tried) if tried else "no price list exists yet"
    raise NoPriceError(f"no price for SKU {sku} on {day} ({where}); give the line a "
                       "unit_price or set a price")
