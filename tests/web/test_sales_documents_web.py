"""Sales documents in a real browser (issue 12): the order page lists invoices with
number, date, due date, paid and open; its payment form takes a date and the invoices
to settle, leaves an overpayment as the customer's credit; the AR aging page shows the
customer's name and credit. Debian's Chromium through Playwright, as test_browser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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
from o2c.persistence import log


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A customer with one order shipped and invoiced twice, 20 and 10 days ago."""
    path = tmp_path_factory.mktemp("documents") / "o2c.sqlite"
    app: O2C = build_app(Settings(database_url=f"sqlite:///{path}", currency="USD",
                                  server_projector=False))
    ctx = Context(actor="setup")
    today = datetime.now(UTC).date()
    app.register_stock_item(ctx, "DOC-9", "Doc sensor")
    app.receive_stock(ctx, "DOC-9", "10", "4.00")
    customer = app.register_customer(ctx, "Quasar Instruments", "ap@quasar.example").id
    order = app.place_sales_order(ctx, customer, [
        {"sku": "DOC-9", "quantity": "2", "unit_price": "50.00"}]).id
    app.confirm_order(ctx, order)
    numbers = []
    for ago in (20, 10):
        day = today - timedelta(days=ago)
        app.ship_order(ctx, order, [{"sku": "DOC-9", "quantity": "1"}], date=day)
        numbers.append(app.invoice_order(ctx, order, date=day).extra["invoice_number"])
    token = create_token(app.db, "admin", "browser-documents")
    try:
        yield {"app": app, "url": app.settings.database_url, "order": order,
               "numbers": numbers, "today": today, "token": token}
    finally:
        app.close()


@pytest.fixture(scope="module")
def base_url(story: dict[str, Any]) -> Iterator[str]:
    with serving(story["url"]) as url:
        yield url


def test_pay_named_invoices_on_a_date_and_see_the_credit_in_ar_aging(
        browser: Browser, base_url: str, story: dict[str, Any]) -> None:
    first, second = story["numbers"]
    today = story["today"]
    user = Watched(browser, base_url, story["token"])
    page = user.visit(f"/orders/{story['order']}", "documents-order")
    rows = page.locator("#invoices tbody tr")
    expect(rows).to_have_count(2)
    cells = rows.nth(0).locator("td").all_inner_texts()
    assert cells[:6] == [first, (today - timedelta(days=20)).isoformat(),
                         (today + timedelta(days=10)).isoformat(), "54.00", "0.00", "54.00"]
    # Pay the second invoice only, five days ago, with 60.00: 54.00 settles it and
    # 6.00 is left as the customer's credit.
    page.get_by_label("Payment amount").fill("60.00")
    page.get_by_label("Reference (optional)").fill("wire 42")
    page.get_by_label("Date received (default today)").fill(
        (today - timedelta(days=5)).isoformat())
    page.get_by_label(f"{second}, due", exact=False).check()
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("status")).to_contain_text("6.00 left as the customer's credit")
    rows = page.locator("#invoices tbody tr")
    assert rows.nth(0).locator("td").all_inner_texts()[4:6] == ["0.00", "54.00"]
    assert rows.nth(1).locator("td").all_inner_texts()[4:6] == ["54.00", "0.00"]
    # A date in the future: the form itself will not send it (max is today); sent anyway,
    # the server refuses it with the reason, and records nothing.
    before = log.head(story["app"].db)
    page.get_by_label("Payment amount").fill("1.00")
    when = page.get_by_label("Date received (default today)")
    when.fill((today + timedelta(days=3)).isoformat())
    assert when.evaluate("e => e.validity.rangeOverflow")
    when.evaluate("e => e.removeAttribute('max')")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("alert")).to_contain_text("documents cannot be dated in the future")
    assert log.head(story["app"].db) == before
    # AR aging: the customer's name on the open invoice, and its credit.
    page = user.visit("/books/ar-aging", "documents-ar-aging")
    invoice = page.locator("#invoices tbody tr")
    expect(invoice).to_have_count(1)
    assert invoice.locator("td").nth(0).inner_text() == first
    assert invoice.locator("td").nth(1).inner_text() == "Quasar Instruments"
    customer = page.locator("#customers tbody tr").first.locator("td").all_inner_texts()
    assert customer == ["Quasar Instruments", "1", "54.00", "6.00", "48.00", "no limit", "48.00"]
    expect(page.locator("#unapplied-credit")).to_have_text("6.00")
    expect(page.locator("#net-receivable")).to_have_text("48.00")
    user.close()
