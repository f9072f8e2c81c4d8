"""Credit control in a real browser (issue 13): confirming an order past the customer's
credit limit is refused on the order page with the figures and a link to the customer's
credit page; sales sees no release form there; finance releases the order with a reason
and changes the limit; the order then confirms and its value shows as exposure. Debian's
Chromium through Playwright, as test_browser."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from test_browser import Watched
from test_browser import browser as browser  # noqa: PLC0414 - the module's fixture
from web_support import serving

from o2c.application import O2C, Context
from o2c.auth import create_token
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.credit import order_value
from o2c.persistence import log


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A customer with a credit limit of 100.00 and a placed order worth more."""
    path = tmp_path_factory.mktemp("credit") / "o2c.sqlite"
    app: O2C = build_app(Settings(database_url=f"sqlite:///{path}", currency="USD",
                                  server_projector=False))
    ctx = Context(actor="setup")
    app.register_stock_item(ctx, "CR-1", "Credit sensor")
    app.receive_stock(ctx, "CR-1", "10", "5.00")
    customer = app.register_customer(ctx, "Pulsar Retail", "ap@pulsar.example",
                                     credit_limit="100.00").id
    order = app.place_sales_order(ctx, customer, [
        {"sku": "CR-1", "quantity": "3", "unit_price": "50.00"}]).id
    tokens = {role: create_token(app.db, role, f"credit-{role}")
              for role in ("sales", "finance")}
    try:
        yield {"app": app, "url": app.settings.database_url, "order": order,
               "customer": customer, "tokens": tokens}
    finally:
        app.close()


@pytest.fixture(scope="module")
def base_url(story: dict[str, Any]) -> Iterator[str]:
    with serving(story["url"]) as url:
        yield url


def _figures(page: Any) -> dict[str, str]:
    return {name: page.locator(f"#{name}").inner_text()
            for name in ("credit-limit", "open-receivables", "unshipped-confirmed",
                         "exposure", "available")}


def test_refused_released_and_confirmed_in_the_browser(
        browser: Browser, base_url: str, story: dict[str, Any]) -> None:
    app: O2C = story["app"]
    order_id, customer_id = story["order"], story["customer"]
    value = order_value(app.sales_order(order_id))
    assert value > Decimal("100.00")
    number = app.sales_order(order_id).number

    # Sales confirms: refused for credit, with the figures, and nothing recorded.
    sales = Watched(browser, base_url, story["tokens"]["sales"])
    page = sales.visit(f"/orders/{order_id}", "credit-order")
    head = log.head(app.db)
    page.get_by_role("button", name="Confirm (reserve stock)").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("credit limit: limit 100.00")
    expect(alert).to_contain_text(f"this order {value} (with tax)")
    expect(alert).to_contain_text(f"total exposure {value}, over by {value - 100}")
    assert log.head(app.db) == head
    assert not app.sales_order(order_id).confirmed
    link = page.locator("#credit-refused")
    expect(link).to_have_attribute("href", f"/customers/{customer_id}/credit?order={order_id}")
    link.click()
    expect(page.get_by_role("heading", name="Credit of Pulsar Retail")).to_be_visible()
    page = sales.visit(f"/customers/{customer_id}/credit?order={order_id}", "credit-sales")
    assert _figures(page) == {"credit-limit": "100.00", "open-receivables": "0.00",
                              "unshipped-confirmed": "0.00", "exposure": "0.00",
                              "available": "100.00"}
    expect(page.locator("#unconfirmed")).to_contain_text(number)
    expect(page.get_by_role("button", name="Release order")).to_have_count(0)
    expect(page.get_by_role("button", name="Change limit")).to_have_count(0)

    # Finance releases the order, with the reason.
    finance = Watched(browser, base_url, story["tokens"]["finance"])
    page = finance.visit(f"/customers/{customer_id}/credit?order={order_id}", "credit-finance")
    expect(page.get_by_label("Order to release")).to_have_value(order_id)
    page.get_by_label("Reason for the release").fill("Prepayment promised by the buyer")
    page.get_by_role("button", name="Release order").click()
    expect(page.get_by_role("status")).to_contain_text("released from credit control")
    release = page.locator("#releases tbody tr").first.locator("td").all_inner_texts()
    assert release[0] == number
    assert release[2].startswith("finance:credit-finance")  # the actor: role, token name
    assert release[3] == "Prepayment promised by the buyer"
    assert app.customer(customer_id).released(app.sales_order(order_id).id)

    # Sales confirms again: it passes, and the order is now exposure.
    page = sales.visit(f"/orders/{order_id}", "credit-order-released")
    page.get_by_role("button", name="Confirm (reserve stock)").click()
    expect(page.get_by_role("status")).to_contain_text("Order confirmed")
    assert app.sales_order(order_id).confirmed
    page = sales.visit(f"/customers/{customer_id}/credit", "credit-after")
    shown = _figures(page)
    assert (shown["unshipped-confirmed"], shown["exposure"]) == (f"{value:,f}", f"{value:,f}")
    assert shown["available"] == f"{Decimal('100.00') - value:,f}"

    # Finance raises the limit, with the reason; available follows.
    page = finance.visit(f"/customers/{customer_id}/credit", "credit-limit")
    page.get_by_label("New credit limit (blank: no limit)").fill("1000.00")
    page.get_by_label("Reason for the change").fill("Annual review")
    page.get_by_role("button", name="Change limit").click()
    expect(page.get_by_role("status")).to_contain_text("Credit limit changed to 1,000.00")
    assert app.customer(customer_id).credit_limit == Decimal("1000.00")
    expect(page.locator("#available")).to_have_text(f"{Decimal('1000.00') - value:,f}")
    sales.close()
    finance.close()
