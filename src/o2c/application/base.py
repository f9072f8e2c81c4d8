"""What every business area's use cases share: the engine, the runner, the books, the
settings, and the lookups they all make (a stock item by SKU, placing an order)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from uuid import UUID

from o2c.application.books import Books
from o2c.application.engine import Engine
from o2c.application.runner import Attempt, CommandRunner, UseCases
from o2c.config import Settings
from o2c.domain import values
from o2c.domain.customer import Customer
from o2c.domain.errors import InvalidInputError, NotFoundError, UnknownReferenceError
from o2c.domain.price_list import DEFAULT, PriceList, price_for
from o2c.domain.sales_order import SalesOrder, check_order_lines
from o2c.domain.stock_item import StockItem, check_sku
from o2c.persistence.locks import AggregateLocks
from o2c.persistence.sql import Database


def effective_date(run: Attempt, given: object, what: str = "date") -> date:
    """The date a document takes effect: ``given`` (a date or ISO text), or the business
    date when it is None; refused when after the business date (a receipt, a shipment or
    a payment has happened, or it is not recorded)."""
    today = run.business_date()
    if given is None:
        return today
    day = values.a_date(given, what)
    if day > today:
        raise InvalidInputError(f"{what} {day} is after the business date {today}: "
                                "documents cannot be dated in the future")
    return day


class UseCaseBase(Engine, UseCases):
    """The application's parts, as the use-case modules (crm, orders, stock, ledger) use
    them; ``service.O2C`` builds them."""

    settings: Settings
    places: int
    db: Database
    locks: AggregateLocks
    books: Books
    runner: CommandRunner

    def stock_item(self, sku: object, *, reference: bool = False) -> StockItem:
        """The stock item of a SKU."""
        try:
            code = check_sku(sku)
        except InvalidInputError:
            raise (UnknownReferenceError if reference else NotFoundError)(
                f"no stock item {sku!r}") from None
        return self.stock_item_of(code, reference=reference)

    def stock_item_of(self, code: str, *, reference: bool = False) -> StockItem:
        """The stock item of a SKU already checked (``check_sku``)."""
        return self.get(StockItem, StockItem.create_id(code), f"stock item {code}",
                        reference=reference)

    def new_order(self, customer: Customer, lines: Sequence[Mapping[str, object]],
                  opportunity_id: UUID | None = None, *, discount: object = None,
                  day: date | None = None) -> SalesOrder:
        """A sales order for a customer, at the configured currency and tax rate, its
        lines priced (``priced_lines`` on ``day``), checked and every SKU known, with an
        order ``discount`` in percent."""
        checked = check_order_lines(self.priced_lines(customer, lines, day), self.places)
        for line in checked:
            self.stock_item_of(line["sku"], reference=True)
        return SalesOrder.place(customer.id, checked, currency=self.settings.currency,
                                tax_rate=str(self.settings.tax_rate),
                                payment_terms_days=customer.payment_terms_days,
                                opportunity_id=opportunity_id, discount=discount)

    def priced_lines(self, customer: Customer, lines: Sequence[Mapping[str, object]],
                     day: date | None) -> list[Mapping[str, object]]:
        """``lines`` with every missing ``unit_price`` taken from the customer's price
        list on ``day``, else the default list's (``price_list.price_for``: none is
        ``no_price``, 422, naming the SKU). Lines that are not objects or name no valid
        SKU are left as they are, for ``check_order_lines`` to refuse."""
        lists: list[PriceList | None] | None = None
        priced: list[Mapping[str, object]] = []
        for item in lines:
            if not isinstance(item, dict) or item.get("unit_price") is not None:
                priced.append(item)
                continue
            try:
                sku = check_sku(item.get("sku"))
            except InvalidInputError:
                priced.append(item)
                continue
            if lists is None:
                lists = [self.price_list(str(customer.id)), self.price_list(DEFAULT)]
            if day is None:
                raise InvalidInputError(f"line of SKU {sku}: a unit_price is required here")
            priced.append({**item, "unit_price": price_for(lists, sku, day)})
        return priced

    def price_list(self, name: str) -> PriceList | None:
        """The price list of that (checked) name, or None if it has no price yet."""
        list_id = PriceList.create_id(name)
        if not self.exists(list_id):
            return None
        return self.get(PriceList, list_id, f"price list {name}")
