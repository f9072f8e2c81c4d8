"""Credit control (issue 13, part 2): the credit limit and the credit hold refuse to
confirm an order, finance releases one order, a limit change is an event -- on SQLite
and PostgreSQL. Every refusal records nothing (the log's head does not move)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from o2c.application import O2C, Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.credit import CreditHoldError, CreditLimitExceededError
from o2c.domain.customer import Customer
from o2c.domain.errors import InvalidStateError, VersionMismatchError
from o2c.projections import Projector, reports

D = Decimal
TODAY = date(2026, 3, 2)
CTX = Context(actor="test", today=TODAY)
SKU = "CR-1"


def on(day: date, actor: str = "test") -> Context:
    return Context(actor=actor, today=day)


@pytest.fixture
def shop(app: O2C) -> O2C:
    app.register_stock_item(CTX, SKU, "Widget")
    app.receive_stock(CTX, SKU, "1000", "10.00")
    return app


def customer(app: O2C, limit: str | None, terms: int = 30) -> str:
    return app.register_customer(CTX, "Acme", "ap@acme.example", credit_limit=limit,
                                 payment_terms_days=terms).id


def order(app: O2C, customer_id: str, quantity: str, price: str = "100.00") -> str:
    """An order worth quantity x price, plus 8 % tax."""
    return app.place_sales_order(CTX, customer_id, [
        {"sku": SKU, "quantity": quantity, "unit_price": price}]).id


def refused(app: O2C, error: type[Exception], order_id: str,
            ctx: Context = CTX) -> str:
    head = app.db.head()
    with pytest.raises(error) as caught:
        app.confirm_order(ctx, order_id)
    assert app.db.head() == head, "a refused confirmation recorded something"
    assert not app.sales_order(order_id).confirmed
    return str(caught.value)


def test_over_the_limit_is_refused_with_the_figures(shop: O2C) -> None:
    acme = customer(shop, "1000.00")
    first = order(shop, acme, "5")  # 500 + 40 tax = 540
    shop.confirm_order(CTX, first)
    second = order(shop, acme, "5")  # 540 more: 1080 > 1000
    detail = refused(shop, CreditLimitExceededError, second)
    for figure in ("limit 1000.00", "open receivables 0.00", "unshipped confirmed orders "
                   "540.00", "this order 540.00", "total exposure 1080.00", "over by 80.00"):
        assert figure in detail, (figure, detail)


def test_exactly_at_the_limit_passes_and_tax_counts(shop: O2C) -> None:
    acme = customer(shop, "1080.00")
    first = order(shop, acme, "5")
    shop.confirm_order(CTX, first)
    shop.confirm_order(CTX, order(shop, acme, "5"))  # 1080 == limit: passes
    # without the tax it would fit: 1 x 100 = 100 (+ 8 tax) on top of 1080
    detail = refused(shop, CreditLimitExceededError, order(shop, acme, "1"))
    assert "this order 108.00" in detail
    # one cent at the limit: 0.01 net + 0.00 tax is 1080.01 > 1080
    refused(shop, CreditLimitExceededError, order(shop, acme, "1", "0.01"))


def test_tax_alone_takes_an_order_over(shop: O2C) -> None:
    acme = customer(shop, "1000.00")
    detail = refused(shop, CreditLimitExceededError, order(shop, acme, "10"))  # 1000 + 80
    assert "this order 1080.00" in detail
    assert "total exposure 1080.00" in detail


def test_shipped_and_invoiced_counts_once_and_paid_no_longer(shop: O2C) -> None:
    acme = customer(shop, "1200.00")
    first = order(shop, acme, "10")  # 1080
    shop.confirm_order(CTX, first)
    small = order(shop, acme, "1")  # 108: 1188 <= 1200
    # part shipped, not invoiced: still unshipped confirmed, all of it
    shop.ship_order(CTX, first, [{"sku": SKU, "quantity": "4"}])
    detail = refused(shop, CreditLimitExceededError, order(shop, acme, "2"))  # 216
    assert "unshipped confirmed orders 1080.00" in detail
    # invoiced: 432 receivable (400 + 32), 648 left to invoice; never both
    shop.invoice_order(CTX, first)
    detail = refused(shop, CreditLimitExceededError, order(shop, acme, "2"))
    assert "open receivables 432.00" in detail, detail
    assert "unshipped confirmed orders 648.00" in detail
    assert "total exposure 1296.00" in detail
    # paid: the receivable is gone
    shop.pay_order(CTX, first, "432.00")
    third = order(shop, acme, "2")
    shop.confirm_order(CTX, third)  # 648 + 216 = 864
    shop.confirm_order(CTX, small)  # + 108 = 972
    # the read models (AR aging, the customer page) count it the same way
    Projector(shop.db, shop.settings).catch_up()
    exposure = reports.customer_credit(shop.db, shop.places, acme)
    assert exposure["exposure"] == D("972.00"), exposure


def test_cancelled_orders_and_unconfirmed_orders_do_not_count(shop: O2C) -> None:
    acme = customer(shop, "600.00")
    big = order(shop, acme, "5")  # 540
    order(shop, acme, "5")  # placed only: not exposure
    shop.confirm_order(CTX, big)
    shop.cancel_order(CTX, big, "changed mind")
    shop.confirm_order(CTX, order(shop, acme, "5"))  # 540 <= 600


def test_no_limit_is_never_refused_for_the_limit(shop: O2C) -> None:
    acme = customer(shop, None)
    shop.confirm_order(CTX, order(shop, acme, "900", "1000.00"))
    shop.confirm_order(CTX, order(shop, acme, "90", "1000.00"))
    zero = customer(shop, "0")
    refused(shop, CreditLimitExceededError, order(shop, zero, "1"))


def test_unapplied_credit_lowers_the_exposure(shop: O2C) -> None:
    acme = customer(shop, "600.00")
    first = order(shop, acme, "5")
    shop.confirm_order(CTX, first)
    shop.ship_order(CTX, first, [{"sku": SKU, "quantity": "5"}])
    shop.invoice_order(CTX, first)
    shop.pay_order(CTX, first, "600.00")  # 540 settles it; 60 credit
    detail = refused(shop, CreditLimitExceededError, order(shop, acme, "7"))  # 756
    assert "open receivables -60.00" in detail
    assert "total exposure 696.00" in detail
    shop.confirm_order(CTX, order(shop, acme, "6", "101.00"))  # 654.48 - 60 = 594.48


def test_an_overdue_invoice_puts_the_customer_on_hold(shop: O2C) -> None:
    acme = customer(shop, None, terms=10)
    first = order(shop, acme, "1")
    shop.confirm_order(CTX, first)
    shop.ship_order(CTX, first, [{"sku": SKU, "quantity": "1"}])
    shop.invoice_order(CTX, first)  # due TODAY + 10
    due = TODAY + timedelta(days=10)
    later = order(shop, acme, "1")
    shop.confirm_order(on(due), order(shop, acme, "1"))  # due today: not overdue
    detail = refused(shop, CreditHoldError, later, on(due + timedelta(days=3)))
    number = shop.sales_order(first).invoices[0]["invoice_number"]
    assert f"{number} due {due} is 3 days overdue (108.00 open)" in detail, detail
    # paying it lifts the hold
    shop.pay_order(on(due + timedelta(days=3)), first, "108.00")
    shop.confirm_order(on(due + timedelta(days=3)), later)


def test_the_grace_days_are_configurable(database_url: str) -> None:
    app = build_app(Settings(database_url=database_url, pool_size=2, credit_grace_days=5))
    try:
        app.register_stock_item(CTX, SKU, "Widget")
        app.receive_stock(CTX, SKU, "10", "10.00")
        acme = customer(app, None, terms=0)
        first = order(app, acme, "1")
        app.confirm_order(CTX, first)
        app.ship_order(CTX, first, [{"sku": SKU, "quantity": "1"}])
        app.invoice_order(CTX, first)  # due TODAY
        app.confirm_order(on(TODAY + timedelta(days=5)), order(app, acme, "1"))
        detail = refused(app, CreditHoldError, order(app, acme, "1"),
                         on(TODAY + timedelta(days=6)))
        assert "6 days overdue" in detail
        assert "grace 5 days" in detail
    finally:
        app.close()


def test_finance_releases_exactly_one_order(shop: O2C) -> None:
    acme = customer(shop, "100.00")
    held, other = order(shop, acme, "5"), order(shop, acme, "5")
    refused(shop, CreditLimitExceededError, held)
    finance = Context(actor="fiona", today=TODAY)
    released = shop.release_order_credit(finance, held, "Paid by wire, clearing tomorrow")
    assert released.extra["customer_id"] == acme
    shop.confirm_order(CTX, held)
    refused(shop, CreditLimitExceededError, other)  # only that order
    events = [e for e in history(shop, acme) if isinstance(e, Customer.CreditReleased)]
    assert [(str(e.order_id), e.reason, e.by) for e in events] == [
        (held, "Paid by wire, clearing tomorrow", "fiona")]
    # a confirmed order cannot be released; nor one released twice
    head = shop.db.head()
    with pytest.raises(InvalidStateError):
        shop.release_order_credit(finance, held, "again")
    shop.release_order_credit(finance, other, "ok")
    with pytest.raises(InvalidStateError):
        shop.release_order_credit(finance, other, "twice")
    assert shop.db.head() == head + 1


def test_a_release_lifts_a_hold_for_that_order(shop: O2C) -> None:
    acme = customer(shop, None, terms=0)
    first = order(shop, acme, "1")
    shop.confirm_order(CTX, first)
    shop.ship_order(CTX, first, [{"sku": SKU, "quantity": "1"}])
    shop.invoice_order(CTX, first)
    late = on(TODAY + timedelta(days=40))
    held = order(shop, acme, "1")
    refused(shop, CreditHoldError, held, late)
    shop.release_order_credit(late, held, "Customer disputes the invoice")
    shop.confirm_order(late, held)
    refused(shop, CreditHoldError, order(shop, acme, "1"), late)


def test_changing_the_limit_is_an_event_with_a_reason(shop: O2C) -> None:
    acme = customer(shop, "100.00")
    big = order(shop, acme, "5")
    refused(shop, CreditLimitExceededError, big)
    changed = shop.change_credit_limit(CTX, acme, "1000.00", "Annual review")
    assert changed.extra == {"credit_limit": "1000.00"}
    shop.confirm_order(CTX, big)
    events = [e for e in history(shop, acme) if isinstance(e, Customer.CreditLimitChanged)]
    assert [(e.credit_limit, e.previous, e.reason) for e in events] == [
        (D("1000.00"), D("100.00"), "Annual review")]
    head = shop.db.head()
    with pytest.raises(InvalidStateError):  # no change
        shop.change_credit_limit(CTX, acme, "1000", "again")
    with pytest.raises(VersionMismatchError):
        shop.change_credit_limit(dataclasses.replace(CTX, expected_version=1), acme, None,
                                 "stale")
    assert shop.db.head() == head
    shop.change_credit_limit(CTX, acme, None, "Guaranteed by the parent company")
    assert shop.customer(acme).credit_limit is None
    shop.confirm_order(CTX, order(shop, acme, "900", "1000.00"))
    Projector(shop.db, shop.settings).catch_up()
    listed = reports.customer_credit(shop.db, shop.places, acme)
    assert listed["credit_limit"] is None


def history(app: O2C, aggregate_id: str) -> list[object]:
    return list(app.events.get(UUID(aggregate_id)))
