"""The ledger report pages in a real browser: Playwright and Debian's Chromium, with the
fixtures of test_browser (a uvicorn server on the demo; every page checked for console
errors and serious accessibility violations, and screenshotted)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect
from test_browser import Watched, base_url, browser, store, tokens  # noqa: F401 - fixtures

from o2c.application import O2C
from o2c.projections import Projector, ledger_reports


def test_ledger_reports_in_the_browser(browser: Browser, base_url: str,  # noqa: F811
                                       tokens: dict[str, str], store: O2C) -> None:  # noqa: F811
    Projector(store.db, store.settings).catch_up()
    user = Watched(browser, base_url, tokens["auditor"])
    page = user.visit("/books/trial-balance", "tb-ledger-links")
    page.locator('tr[data-account="1000"] a').click()
    expect(page.get_by_role("heading", name="Account ledger: 1000 Cash")).to_be_visible()
    cash = ledger_reports.ledger(store.db, store.places, "1000")
    expect(page.locator("#closing")).to_have_text(f"{cash['closing_balance']:,f}")
    user.visit("/books/ledger/1000", "ledger")
    page = user.visit("/books/pnl", "pnl")
    page.get_by_label("Per month").check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#pnl thead th").nth(2)).to_have_text(re.compile(r"^\d{4}-\d{2}$"))
    pnl = ledger_reports.profit_and_loss(store.db, store.places)
    expect(page.locator("#net-profit")).to_have_text(f"{pnl['net_profit']:,f}")
    user.visit(page.url.removeprefix(base_url), "pnl-monthly")
    page = user.visit("/books/balance-sheet", "balance-sheet")
    expect(page.locator("#balanced")).to_have_class("ok")
    page.get_by_role("link", name="Profit and loss").click()
    expect(page.get_by_role("heading", name="Profit and loss")).to_be_visible()
    user.close()
