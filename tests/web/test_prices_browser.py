"""The price list page and a discounted order's page in a real browser: a price set
through the form, a refused one that records nothing, no form for the auditor, and an
order's lines and invoice showing gross, discount and net (Debian's Chromium, like
test_browser)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from test_browser import Watched, base_url, browser  # noqa: F401 - fixtures reused

from o2c.application import O2C, Context
from o2c.auth import create_token
from o2c.bootstrap import build_app
from o2c.config import Settings

#: What the store fixture seeded.
SEEDED: dict[str, str] = {}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[O2C]:
    """A store with two SKUs, a default price, and a discounted order shipped and
    invoiced (``base_url`` serves it)."""
    path: Path = tmp_path_factory.mktemp("prices") / "o2c.sqlite"
    app = build_app(Settings(database_url=f"sqlite:///{path}", currency="USD",
                             server_projector=False))
    ctx = Context(actor="seed")
    for sku in ("WP-1", "WP-2"):
        app.register_stock_item(ctx, sku, sku)
        app.receive_stock(ctx, sku, "50", "1.00")
    customer = app.register_customer(ctx, "Web Price Co", "ap@wp.example").id
    app.set_price(ctx, "default", "WP-1", "25.00", effective_from="2020-01-01")
    order = app.place_sales_order(ctx, customer, [
        {"sku": "WP-1", "quantity": "4", "discount_percent": "12.5"}],
        discount_percent="10").id
    app.confirm_order(ctx, order)
    app.ship_order(ctx, order, [{"sku": "WP-1", "quantity": "4"}])
    app.invoice_order(ctx, order)
    SEEDED["order"] = order
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="module")
def tokens(store: O2C) -> dict[str, str]:
    return {role: create_token(store.db, role, f"prices-{role}")
            for role in ("sales", "auditor")}


def test_set_a_price_and_see_it(browser: Browser,  # noqa: F811
                                base_url: str,  # noqa: F811
                                tokens: dict[str, str], store: O2C) -> None:
    user = Watched(browser, base_url, tokens["sales"])
    page = user.visit("/prices", "prices-default")
    expect(page.locator("#list-name")).to_have_text("default")
    expect(page.locator('#prices tr[data-sku="WP-1"]')).to_contain_text("25.00")

    page.get_by_label("SKU").fill("WP-2")
    page.get_by_label("Unit price").fill("7.50")
    page.get_by_label("Effective from (default today)").fill("2021-06-01")
    page.get_by_role("button", name="Set price").click()
    expect(page.get_by_role("status")).to_contain_text("WP-2 is 7.50 from 2021-06-01")
    expect(page.locator('#prices tr[data-sku="WP-2"]')).to_contain_text("2021-06-01")
    assert store.price_list_named("default").price_at("WP-2", date(2021, 6, 1)) == Decimal(
        "7.50")

    # A price more precise than the currency is refused, saying why; nothing recorded.
    page = user.visit("/prices", "prices-after-set")
    head = store.db.head()
    page.get_by_label("SKU").fill("WP-2")
    page.get_by_label("Unit price").fill("7.505")
    page.get_by_role("button", name="Set price").click()
    expect(page.get_by_role("alert")).to_contain_text("decimal places")
    assert store.db.head() == head
    user.close()

    auditor = Watched(browser, base_url, tokens["auditor"])
    page = auditor.visit("/prices?name=default", "prices-auditor")
    expect(page.locator('#prices tr[data-sku="WP-2"]')).to_be_visible()
    expect(page.get_by_role("button", name="Set price")).to_have_count(0)
    auditor.close()


def test_the_order_page_shows_gross_discount_and_net(browser: Browser,  # noqa: F811
                                                     base_url: str,  # noqa: F811
                                                     tokens: dict[str, str],
                                                     store: O2C) -> None:
    order = SEEDED["order"]
    user = Watched(browser, base_url, tokens["sales"])
    page = user.visit(f"/orders/{order}", "prices-order")
    # 4 x 25.00 = 100.00, -12.5 % = 87.50; -10 % on the order = 78.75
    line = page.locator("#lines tbody tr").first
    expect(line).to_contain_text("100.00")
    expect(line).to_contain_text("12.50 (12.50 %)")
    expect(line).to_contain_text("87.50")
    expect(page.locator("#gross")).to_have_text("100.00")
    expect(page.locator("#discount")).to_have_text("21.25")
    expect(page.locator("#net")).to_have_text("78.75")
    invoice = page.locator("#invoices tbody tr").first
    expect(invoice).to_contain_text("21.25")
    expect(invoice).to_contain_text("78.75")
    user.close()
