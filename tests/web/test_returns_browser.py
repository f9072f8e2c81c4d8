"""Returns in a real browser (issue 13): invoiced goods come back on the order's returns
page, one SKU sound (restocked at the cost it left at) and one damaged (written off),
credited by a numbered credit note; more than may be returned is refused on the page
with nothing recorded; sales sees no return form. Debian's Chromium through Playwright,
as test_browser."""

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
from o2c.domain.money import quantize
from o2c.persistence import log


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An order of two SKUs: RET-A 3 shipped and invoiced, then 1 more shipped (not yet
    invoiced); RET-B 2 shipped and invoiced."""
    path = tmp_path_factory.mktemp("returns") / "o2c.sqlite"
    app: O2C = build_app(Settings(database_url=f"sqlite:///{path}", currency="USD",
                                  server_projector=False))
    ctx = Context(actor="setup")
    app.register_stock_item(ctx, "RET-A", "Return sensor")
    app.receive_stock(ctx, "RET-A", "10", "4.00")
    app.register_stock_item(ctx, "RET-B", "Return gateway")
    app.receive_stock(ctx, "RET-B", "10", "6.00")
    customer = app.register_customer(ctx, "Nebula Labs", "ap@nebula.example").id
    order = app.place_sales_order(ctx, customer, [
        {"sku": "RET-A", "quantity": "4", "unit_price": "50.00"},
        {"sku": "RET-B", "quantity": "2", "unit_price": "80.00"}]).id
    app.confirm_order(ctx, order)
    app.ship_order(ctx, order, [{"sku": "RET-A", "quantity": "3"},
                                {"sku": "RET-B", "quantity": "2"}])
    app.invoice_order(ctx, order)
    app.ship_order(ctx, order, [{"sku": "RET-A", "quantity": "1"}])
    tokens = {role: create_token(app.db, role, f"returns-{role}")
              for role in ("warehouse", "sales")}
    try:
        yield {"app": app, "url": app.settings.database_url, "order": order,
               "tokens": tokens}
    finally:
        app.close()


@pytest.fixture(scope="module")
def base_url(story: dict[str, Any]) -> Iterator[str]:
    with serving(story["url"]) as url:
        yield url


def _returnable(page: Any) -> dict[str, list[str]]:
    return {row.get_attribute("data-sku"): row.locator("td").all_inner_texts()[1:]
            for row in page.locator("#returnable tbody tr").all()}


def test_return_sound_and_damaged_goods_in_the_browser(
        browser: Browser, base_url: str, story: dict[str, Any]) -> None:
    app: O2C = story["app"]
    order_id = story["order"]
    on_hand = {sku: app.stock_item(sku).on_hand for sku in ("RET-A", "RET-B")}
    user = Watched(browser, base_url, story["tokens"]["warehouse"])
    page = user.visit(f"/orders/{order_id}", "returns-order")
    page.get_by_role("link", name="Returns").click()
    expect(page.get_by_role("heading", name="Returns of order")).to_be_visible()
    page = user.visit(f"/sales-orders/{order_id}/returns", "returns-before")
    # shipped, invoiced, returned, may still be returned
    assert _returnable(page) == {"RET-A": ["4", "3", "0", "3"], "RET-B": ["2", "2", "0", "2"]}
    expect(page.locator("#returns")).to_contain_text("Nothing has come back.")

    # One RET-A back sound, one RET-B back damaged, in one return.
    page.get_by_label("RET-A: quantity returned", exact=False).fill("1")
    page.get_by_label("RET-B: quantity returned", exact=False).fill("1")
    page.get_by_label("RET-B damaged", exact=False).check()
    page.get_by_label("Reason").fill("wrong model; one arrived broken")
    page.get_by_role("button", name="Record return").click()
    order = app.sales_order(order_id)
    net = Decimal("130.00")
    tax = quantize(net * order.tax_rate, order.places)
    record = order.returns[0]
    number = record["credit_note_number"]
    assert number
    status = page.get_by_role("status")
    expect(status).to_contain_text(f"credit note {number} for {net + tax:,f}")
    expect(status).to_contain_text("restocked at cost 4.00, written off 6.00")
    assert (record["net"], record["tax"], record["restocked_cost"], record["damaged_cost"]) \
        == (net, tax, Decimal("4.00"), Decimal("6.00"))
    assert _returnable(page) == {"RET-A": ["4", "3", "1", "2"], "RET-B": ["2", "2", "1", "1"]}
    cells = page.locator('#returns tr[data-return="1"] td').all_inner_texts()
    assert cells[2] == number
    goods = cells[3].replace("\u00d7", "x")  # the page's multiplication sign
    assert "1 x RET-A at 4.00" in goods
    assert "1 x RET-B (damaged) at 6.00" in goods
    assert cells[4:9] == ["4.00", "6.00", "130.00", f"{tax:,f}", f"{net + tax:,f}"]
    # The sound unit is back on hand; the damaged one is not.
    assert app.stock_item("RET-A").on_hand == on_hand["RET-A"] + 1
    assert app.stock_item("RET-B").on_hand == on_hand["RET-B"]
    stock = user.visit("/inventory/RET-A", "returns-stock")
    expect(stock.locator("#on-hand")).to_have_text(str(on_hand["RET-A"] + 1))
    page = user.visit(f"/sales-orders/{order_id}/returns", "returns-after")

    # Refusals on the page, nothing recorded: 3 of RET-A were shipped and not returned
    # but only 2 of them invoiced (not_invoiced); 4 were never out (over_return).
    head = log.head(app.db)
    page.get_by_label("RET-A: quantity returned", exact=False).fill("3")
    page.get_by_role("button", name="Record return").click()
    expect(page.get_by_role("alert")).to_contain_text("RET-A")
    assert "invoice" in page.get_by_role("alert").inner_text()
    page.get_by_label("RET-A: quantity returned", exact=False).fill("4")
    page.get_by_role("button", name="Record return").click()
    expect(page.get_by_role("alert")).to_contain_text("only 3 of the 4 shipped")
    assert log.head(app.db) == head
    assert len(app.sales_order(order_id).returns) == 1
    user.close()

    sales = Watched(browser, base_url, story["tokens"]["sales"])
    page = sales.visit(f"/sales-orders/{order_id}/returns", "returns-sales")
    expect(page.locator("#returns")).to_contain_text(number)
    expect(page.get_by_role("button", name="Record return")).to_have_count(0)
    sales.close()
