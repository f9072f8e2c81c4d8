"""Prices and discounts through the application, on both stores: orders priced from the
lists at the order date, discounts on lines and orders, the invoice's figures and its
postings (revenue net of discount), quotes turned into orders, and refusals that
record nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from o2c.application import O2C, Context
from o2c.domain.errors import (
    InvalidAmountError,
    InvalidInputError,
    InvalidStateError,
    NotFoundError,
    O2CError,
    UnknownReferenceError,
)
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.money import MAX_AMOUNT
from o2c.domain.price_list import NoPriceError

D = Decimal
JAN, FEB, MAR = date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15)


def on(day: date) -> Context:
    return Context(actor="prices-test", today=day)


@pytest.fixture
def world(app: O2C) -> dict[str, str]:
    ctx = on(JAN)
    for sku in ("S-1", "S-2", "S-3"):
        app.register_stock_item(ctx, sku, sku)
        app.receive_stock(ctx, sku, "100", "1.00")
    vip = app.register_customer(ctx, "VIP Ltd", "vip@example.com").id
    plain = app.register_customer(ctx, "Plain Ltd", "plain@example.com").id
    app.set_price(ctx, "default", "S-1", "10.00", effective_from="2026-01-01")
    app.set_price(ctx, "default", "S-1", "12.00", effective_from="2026-03-01")
    app.set_price(ctx, "default", "S-2", "20.00", effective_from="2026-01-01")
    app.set_price(ctx, vip, "S-1", "8.00", effective_from="2026-02-01")
    return {"vip": vip, "plain": plain}


def _place(app: O2C, day: date, customer: str, *lines: dict[str, Any],
           discount: object = None) -> Any:
    return app.sales_order(app.place_sales_order(on(day), customer, list(lines),
                                                 discount_percent=discount).id)


def test_lines_without_a_price_take_the_list_at_the_order_date(
        app: O2C, world: dict[str, str]) -> None:
    line = {"sku": "S-1", "quantity": "1"}
    assert _place(app, JAN, world["vip"], line).lines[0]["unit_price"] == D("10.00")
    assert _place(app, FEB, world["vip"], line).lines[0]["unit_price"] == D("8.00")
    assert _place(app, FEB, world["plain"], line).lines[0]["unit_price"] == D("10.00")
    assert _place(app, MAR, world["plain"], line).lines[0]["unit_price"] == D("12.00")
    assert _place(app, MAR, world["vip"], line).lines[0]["unit_price"] == D("8.00")
    # The customer's list has no S-2: the default's.
    assert _place(app, FEB, world["vip"], {"sku": "S-2", "quantity": "1"}
                  ).lines[0]["unit_price"] == D("20.00")
    # A price given on the line wins.
    assert _place(app, FEB, world["vip"], {**line, "unit_price": "7.50"}
                  ).lines[0]["unit_price"] == D("7.50")


def test_no_price_anywhere_is_refused_naming_the_sku_and_records_nothing(
        app: O2C, world: dict[str, str]) -> None:
    head = app.db.head()
    with pytest.raises(NoPriceError, match="S-3"):
        _place(app, FEB, world["vip"], {"sku": "S-1", "quantity": "1"},
               {"sku": "S-3", "quantity": "1"})
    with pytest.raises(NoPriceError, match="S-1"):  # before the default's first price
        _place(app, date(2025, 12, 31), world["plain"], {"sku": "S-1", "quantity": "1"})
    assert app.db.head() == head


def test_discounts_invoice_figures_and_revenue_net_of_discount(
        app: O2C, world: dict[str, str]) -> None:
    ctx = on(FEB)
    order = _place(app, FEB, world["plain"],
                   {"sku": "S-1", "quantity": "3", "discount_percent": "10"},
                   {"sku": "S-2", "quantity": "1"}, discount="5")
    # 3 x 10.00 - 10 % = 27.00; + 20.00 = 47.00; - 5 % = 44.65; gross 50.00
    assert (order.totals.gross, order.totals.discount, order.total) == (
        D("50.00"), D("5.35"), D("44.65"))
    app.confirm_order(ctx, str(order.id))
    app.ship_order(ctx, str(order.id), [{"sku": "S-1", "quantity": "3"},
                                        {"sku": "S-2", "quantity": "1"}])
    answer = app.invoice_order(ctx, str(order.id))
    assert answer.extra["gross"] == "50.00"
    assert answer.extra["discount"] == "5.35"
    assert answer.extra["net"] == "44.65"
    tax = D(answer.extra["tax"])
    assert tax == D("3.57")  # 44.65 x 0.08 = 3.572
    assert answer.extra["total"] == str(D("44.65") + tax)
    invoice = app.sales_order(str(order.id)).invoices[0]
    assert (invoice["gross"], invoice["discount"]) == (D("50.00"), D("5.35"))
    entries = [a for a in _journal(app) if a.cause == "SalesOrder.Invoiced"]
    assert len(entries) == 1
    lines = {(line["account"], side): line[side] for line in entries[0].lines
             for side in ("debit", "credit") if line.get(side)}
    assert lines == {("4000", "credit"): D("44.65"), ("2100", "credit"): tax,
                     ("1100", "debit"): D("44.65") + tax}


def _journal(app: O2C) -> list[JournalEntry]:
    found = []
    for notification in app.recorder.select_notifications(start=1, limit=100_000):
        if notification.topic.endswith("JournalEntry.Posted"):
            found.append(app.get(JournalEntry, notification.originator_id, "entry"))
    return found


def test_an_order_without_discounts_has_the_figures_it_always_had(
        app: O2C, world: dict[str, str]) -> None:
    order = _place(app, FEB, world["plain"],
                   {"sku": "S-1", "quantity": "3", "unit_price": "3.33"})
    assert order.total == order.totals.gross == D("9.99")
    assert order.totals.discount == 0
    assert order.discount_percent == 0
    assert "discount_percent" not in order.lines[0]


def test_quote_then_win_without_lines_orders_the_quote(
        app: O2C, world: dict[str, str]) -> None:
    opp = app.open_opportunity(on(JAN), world["vip"], "Deal", "100", "2026-12-31").id
    quoted = app.quote_opportunity(on(FEB), opp, [{"sku": "S-1", "quantity": "10",
                                                  "discount_percent": "2.5"}],
                                   discount_percent="10")
    # 10 x 8.00 (VIP list in February) = 80.00; -2.5 % = 78.00; -10 % = 70.20
    assert (quoted.extra["gross"], quoted.extra["net"]) == ("80.00", "70.20")
    assert quoted.extra["lines"][0]["unit_price"] == "8.00"
    # Won in March: the quote's prices hold, though the lists changed meanwhile.
    app.set_price(on(MAR), world["vip"], "S-1", "9.00", effective_from="2026-03-01")
    won = app.win_opportunity(on(MAR), opp)
    order = app.sales_order(won.extra["order_id"])
    assert order.lines == [{"sku": "S-1", "quantity": D("10"), "unit_price": D("8.00"),
                            "discount_percent": D("2.50")}]
    assert order.discount_percent == D("10.00")
    assert order.total == D("70.20")
    assert str(order.opportunity_id) == opp


def test_winning_with_lines_prices_them_and_without_a_quote_is_refused(
        app: O2C, world: dict[str, str]) -> None:
    opp = app.open_opportunity(on(JAN), world["plain"], "Deal", "100", "2026-12-31").id
    head = app.db.head()
    with pytest.raises(InvalidInputError, match="quote"):
        app.win_opportunity(on(FEB), opp)
    assert app.db.head() == head
    won = app.win_opportunity(on(FEB), opp, [{"sku": "S-2", "quantity": "2"}],
                              discount_percent="50")
    assert app.sales_order(won.extra["order_id"]).total == D("20.00")


REFUSALS: list[tuple[type[O2CError], Callable[[O2C, dict[str, str]], object]]] = [
    (InvalidInputError, lambda a, w: _place(a, FEB, w["plain"], {
        "sku": "S-1", "quantity": "1", "discount_percent": "100.5"})),
    (InvalidInputError, lambda a, w: _place(a, FEB, w["plain"], {
        "sku": "S-1", "quantity": "1", "discount_percent": "1.234"})),
    (InvalidInputError, lambda a, w: _place(a, FEB, w["plain"], {
        "sku": "S-1", "quantity": "1"}, discount="-1")),
    (InvalidAmountError, lambda a, w: _place(a, FEB, w["plain"], {
        "sku": "S-1", "quantity": "2", "unit_price": str(MAX_AMOUNT),
        "discount_percent": "60"})),
    (InvalidAmountError, lambda a, w: a.set_price(on(FEB), "default", "S-1", "1.001")),
    (InvalidInputError, lambda a, w: a.set_price(on(FEB), "vip", "S-1", "1")),
    (NotFoundError, lambda a, w: a.set_price(on(FEB), "00000000-0000-4000-8000-000000000000",
                                             "S-1", "1")),
    (UnknownReferenceError, lambda a, w: a.set_price(on(FEB), "default", "NOPE", "1")),
    (InvalidStateError, lambda a, w: a.set_price(on(FEB), "default", "S-1", "10.00",
                                                 effective_from="2026-01-01")),
    (NoPriceError, lambda a, w: a.quote_opportunity(
        on(FEB), a.open_opportunity(on(FEB), w["plain"], "D", "1", "2026-12-31").id,
        [{"sku": "S-3", "quantity": "1"}])),
]


@pytest.mark.parametrize(("error", "attempt"), REFUSALS)
def test_refusals_record_nothing(app: O2C, world: dict[str, str], error: type[O2CError],
                                 attempt: Callable[[O2C, dict[str, str]], object]) -> None:
    head = app.db.head()
    with pytest.raises(error):
        attempt(app, world)
    # The quote case opened a deal first: only that one event.
    assert app.db.head() - head <= (1 if error is NoPriceError else 0)


def test_a_price_list_is_read_by_name(app: O2C, world: dict[str, str]) -> None:
    found = app.price_list_named("default")
    assert [(r["sku"], r["unit_price"]) for r in found.schedule()] == [
        ("S-1", D("10.00")), ("S-1", D("12.00")), ("S-2", D("20.00"))]
    assert app.price_list_named(world["vip"]).name == world["vip"]
    for unknown in ("vip", world["plain"]):
        with pytest.raises(NotFoundError):
            app.price_list_named(unknown)
