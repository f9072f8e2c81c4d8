"""Price lists, discounts and quotes in the domain (no database): the price on a day,
the order's figures with line and order discounts (one rounding rule), invoices and
the stored format of orders placed before discounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from o2c.domain.errors import InvalidAmountError, InvalidInputError, InvalidStateError
from o2c.domain.money import MAX_AMOUNT
from o2c.domain.opportunity import Opportunity
from o2c.domain.price_list import DEFAULT, NoPriceError, PriceList, check_name, price_for
from o2c.domain.sales_order import SalesOrder, discount_percent, line_amounts, order_totals

D = Decimal


def _list(name: str = DEFAULT, *prices: tuple[str, str, date]) -> PriceList:
    price_list = PriceList.open(name)
    for sku, price, day in prices:
        price_list.set_price(sku, price, day, places=2)
    return price_list


def test_the_price_on_a_day_is_the_latest_effective_on_or_before_it() -> None:
    default = _list(DEFAULT, ("s-1", "10.00", date(2026, 1, 1)),
                    ("S-1", "12.00", date(2026, 3, 1)))
    assert default.price_at("S-1", date(2025, 12, 31)) is None
    assert default.price_at("S-1", date(2026, 1, 1)) == D("10.00")
    assert default.price_at("S-1", date(2026, 2, 28)) == D("10.00")
    assert default.price_at("S-1", date(2026, 3, 1)) == D("12.00")
    assert default.price_at("S-2", date(2026, 3, 1)) is None
    assert [(r["unit_price"], r["effective_to"]) for r in default.schedule()] == [
        (D("10.00"), date(2026, 3, 1)), (D("12.00"), None)]


def test_the_customer_list_beats_the_default_and_falls_back_before_its_first_price() -> None:
    customer = str(uuid4())
    own = _list(customer, ("S-1", "9.00", date(2026, 2, 1)))
    default = _list(DEFAULT, ("S-1", "10.00", date(2026, 1, 1)),
                    ("S-2", "5.00", date(2026, 1, 1)))
    assert price_for([own, default], "S-1", date(2026, 2, 1)) == D("9.00")
    assert price_for([own, default], "S-1", date(2026, 1, 31)) == D("10.00")
    assert price_for([own, default], "S-2", date(2026, 2, 1)) == D("5.00")
    with pytest.raises(NoPriceError, match="S-1"):
        price_for([own, default], "S-1", date(2025, 12, 31))
    with pytest.raises(NoPriceError, match="S-9"):
        price_for([None, None], "S-9", date(2026, 1, 1))


def test_price_list_names_and_prices_are_checked() -> None:
    assert check_name(DEFAULT) == DEFAULT
    customer = uuid4()
    assert check_name(str(customer).upper()) == str(customer)
    for bad in ("Default", "vip", "", None, 7, str(customer) + "x"):
        with pytest.raises(InvalidInputError):
            check_name(bad)
    price_list = _list(DEFAULT, ("S-1", "10.00", date(2026, 1, 1)))
    version = price_list.version
    for price in ("10.001", "-1", 1.5, "1e3", str(MAX_AMOUNT + 1)):
        with pytest.raises(InvalidAmountError):
            price_list.set_price("S-1", price, date(2026, 1, 1), places=2)
    with pytest.raises(InvalidStateError, match="already"):
        price_list.set_price("S-1", "10", date(2026, 1, 1), places=2)
    assert price_list.version == version
    price_list.set_price("S-1", "11", date(2026, 1, 1), places=2)  # replaces that day's
    assert price_list.price_at("S-1", date(2026, 6, 1)) == D("11.00")
    assert len(price_list.schedule()) == 1


@pytest.mark.parametrize("value", ["100.01", "-1", "12.345", 0.5, True, "abc"])
def test_a_discount_is_0_to_100_with_two_places(value: object) -> None:
    with pytest.raises(InvalidInputError):
        discount_percent(value)


def test_discounts_on_lines_and_on_the_order() -> None:
    lines = [{"sku": "A", "quantity": D("3"), "unit_price": D("10.00"),
              "discount_percent": D("10")},
             {"sku": "B", "quantity": D("1"), "unit_price": D("50.00")}]
    totals = order_totals(lines, D("0.08"), 2, D("5"))
    # lines: 27.00 + 50.00 = 77.00; order -5 %: 73.15; tax 5.852 -> 5.85
    assert totals.gross == D("80.00")
    assert totals.net == D("73.15")
    assert totals.discount == D("6.85")
    assert totals.tax == D("5.85")
    assert totals.total == D("79.00")


def test_each_line_is_rounded_before_the_sum() -> None:
    # Three lines of 1 x 0.10 at 5 %: each 0.095 -> 0.10 (half even), net 0.30; rounding
    # the sum of the exact products instead (0.285) would give 0.28.
    lines = [{"sku": s, "quantity": D("1"), "unit_price": D("0.10"),
              "discount_percent": D("5")} for s in "ABC"]
    assert [line_amounts(line, 2).net for line in lines] == [D("0.10")] * 3
    totals = order_totals(lines, D("0"), 2)
    assert totals.net == D("0.30")
    assert totals.gross == D("0.30")
    assert totals.discount == D("0.00")
    # 0.125 rounds half to even: 0.12 (a line of 1 x 0.25 at 50 %).
    half = {"sku": "A", "quantity": D("1"), "unit_price": D("0.25"),
            "discount_percent": D("50")}
    assert line_amounts(half, 2) == (D("0.25"), D("0.13"), D("0.12"))
    # The order discount rounds once, on the sum: 0.30 x 0.95 = 0.285 -> 0.28.
    assert order_totals(lines, D("0"), 2, D("5")).net == D("0.28")


def _order(lines: list[dict[str, object]], discount: object = None) -> SalesOrder:
    return SalesOrder.place(uuid4(), lines, currency="USD", tax_rate="0.10",
                            payment_terms_days=30, discount=discount)


def test_an_order_without_discounts_is_stored_as_before() -> None:
    order = _order([{"sku": "A", "quantity": "2", "unit_price": "10.00"}])
    placed = order.pending_events[0]
    assert isinstance(placed, SalesOrder.Placed)
    assert placed.lines == [{"sku": "A", "quantity": D("2"), "unit_price": D("10.00")}]
    assert placed.discount_percent == 0
    assert order.total == D("20.00")


def test_old_placed_and_invoiced_events_upcast_to_no_discount() -> None:
    state = {"net": D("20.00")}
    SalesOrder.Invoiced.upcast_v1_v2(state)
    assert state == {"net": D("20.00"), "gross": D("20.00"), "discount": D("0.00")}
    placed: dict[str, object] = {}
    SalesOrder.Placed.upcast_v1_v2(placed)
    assert placed == {"discount_percent": 0}


def test_the_invoice_shows_gross_discount_net_tax_and_total() -> None:
    order = _order([{"sku": "A", "quantity": "4", "unit_price": "25.00",
                     "discount_percent": "12.5"}], discount="10")
    order.confirm()
    planned = order.plan_shipment([{"sku": "A", "quantity": "2"}])
    order.ship(planned, {"A": D("20.00")}, date(2026, 3, 1))
    invoice = order.invoice(date(2026, 3, 2), "INV-1")
    # 2 x 25 = 50.00 gross; line -12.5 % = 43.75; order -10 % = 39.375 -> 39.38 (even 8)
    assert (invoice.gross, invoice.net, invoice.discount) == (
        D("50.00"), D("39.38"), D("10.62"))
    assert (invoice.tax, invoice.total) == (D("3.94"), D("43.32"))
    event = order.pending_events[-1]
    assert isinstance(event, SalesOrder.Invoiced)
    assert (event.gross, event.discount, event.net) == (D("50.00"), D("10.62"), D("39.38"))
    assert event.lines[0]["gross"] == D("50.00")
    assert event.lines[0]["net"] == D("43.75")


def test_derived_figures_beyond_the_limit_are_refused() -> None:
    # A 50 % discount keeps the net within the limit, but the gross is a figure too.
    with pytest.raises(InvalidAmountError, match="gross"):
        _order([{"sku": "A", "quantity": "1", "unit_price": str(MAX_AMOUNT),
                 "discount_percent": "50"},
                {"sku": "B", "quantity": "1", "unit_price": str(MAX_AMOUNT),
                 "discount_percent": "50"}, ], discount="50")
    # A full discount is allowed: nothing to pay.
    free = _order([{"sku": "A", "quantity": "1", "unit_price": "10"}], discount="100")
    assert free.totals.net == 0
    assert free.totals.discount == D("10.00")


def test_a_quote_is_priced_like_an_order_and_refused_on_a_closed_deal() -> None:
    opp = Opportunity.open(uuid4(), "Deal", "100", date(2026, 12, 31))
    totals = opp.quote([{"sku": "A", "quantity": "3", "unit_price": "10.00",
                         "discount_percent": "10"}], "5", tax_rate=D("0.08"), places=2,
                       quoted_on=date(2026, 3, 1))
    assert (totals.gross, totals.net) == (D("30.00"), D("25.65"))
    assert opp.latest_quote is not None
    assert opp.latest_quote["quote_no"] == 1
    with pytest.raises(InvalidInputError):
        opp.quote([{"sku": "A", "quantity": "1", "unit_price": "1"}], "101",
                  tax_rate=D("0"), places=2, quoted_on=date(2026, 3, 1))
    opp.lose("no budget")
    version = opp.version
    with pytest.raises(InvalidStateError):
        opp.quote([{"sku": "A", "quantity": "1", "unit_price": "1"}], None,
                  tax_rate=D("0"), places=2, quoted_on=date(2026, 3, 1))
    assert opp.version == version
