"""Return authorisations in a real browser (issue 13, part 3): sales authorises a return
(RMA-1) on the order's returns page, more than may still be authorised is refused with
nothing recorded; the warehouse receives goods against RMA-1 picked in the return form,
goods it does not authorise are refused; sales cancels what is left of it. Uses the
returns browser test's order and server (its own copy of them)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from playwright.sync_api import Browser, expect
from test_browser import Watched
from test_browser import browser as browser  # noqa: PLC0414 - the module's fixture
from test_returns_browser import base_url as base_url  # noqa: PLC0414 - a fresh server
from test_returns_browser import story as story  # noqa: PLC0414 - and its own order

from o2c.application import O2C
from o2c.persistence import log


def _rma(page: Any, number: str) -> list[str]:
    cells: list[str] = page.locator(f'#rmas tr[data-rma="{number}"] td').all_inner_texts()
    return cells


def test_authorise_receive_against_and_cancel_an_rma_in_the_browser(
        browser: Browser, base_url: str, story: dict[str, Any]) -> None:
    app: O2C = story["app"]
    order_id = story["order"]
    address = f"/sales-orders/{order_id}/returns"
    sales = Watched(browser, base_url, story["tokens"]["sales"])
    page = sales.visit(address, "rma-before")
    expect(page.locator("#rmas")).to_contain_text("No return authorised.")
    expect(page.get_by_role("button", name="Record return")).to_have_count(0)
    page.get_by_label("RET-A: quantity authorised").fill("2")
    page.locator("#rma-reason").fill("Wrong model")
    page.get_by_role("button", name="Authorise return").click()
    expect(page.get_by_role("status")).to_contain_text("Return authorised: RMA-1")
    cells = _rma(page, "RMA-1")
    assert cells[2] == "open"
    assert cells[3] == "RET-A: 2 / 0 / 2"
    assert app.sales_order(order_id).authorised_outstanding()["RET-A"] == Decimal(2)

    # 3 invoiced, 2 awaited on RMA-1: 2 more is refused, nothing recorded.
    head = log.head(app.db)
    page.get_by_label("RET-A: quantity authorised").fill("2")
    page.locator("#rma-reason").fill("More")
    page.get_by_role("button", name="Authorise return").click()
    expect(page.get_by_role("alert")).to_contain_text("RET-A")
    assert "invoice" in page.get_by_role("alert").inner_text()
    assert log.head(app.db) == head
    sales.close()

    warehouse = Watched(browser, base_url, story["tokens"]["warehouse"])
    page = warehouse.visit(address, "rma-warehouse")
    expect(page.get_by_role("button", name="Authorise return")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel RMA-1")).to_have_count(0)
    page.get_by_label("Against return authorisation").select_option("RMA-1")
    page.get_by_label("RET-B: quantity returned", exact=False).fill("1")
    page.get_by_role("button", name="Record return").click()
    expect(page.get_by_role("alert")).to_contain_text("RMA-1")
    assert log.head(app.db) == head
    page.get_by_label("Against return authorisation").select_option("RMA-1")
    page.get_by_label("RET-A: quantity returned", exact=False).fill("1")
    page.get_by_role("button", name="Record return").click()
    expect(page.get_by_role("status")).to_contain_text("Return 1 recorded")
    cells = _rma(page, "RMA-1")
    assert cells[3] == "RET-A: 2 / 1 / 1"
    assert cells[4] == "1"
    assert app.sales_order(order_id).returned["RET-A"] == Decimal(1)
    warehouse.close()

    sales = Watched(browser, base_url, story["tokens"]["sales"])
    page = sales.visit(address, "rma-cancel")
    page.locator("#cancel-reason-RMA-1").fill("Customer keeps one")
    page.get_by_role("button", name="Cancel RMA-1").click()
    expect(page.get_by_role("status")).to_contain_text("RMA-1 cancelled")
    assert _rma(page, "RMA-1")[2].startswith("cancelled")
    expect(page.get_by_role("button", name="Cancel RMA-1")).to_have_count(0)
    assert app.sales_order(order_id).authorised_outstanding()["RET-A"] == 0
    sales.close()
