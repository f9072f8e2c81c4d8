"""The web app in a real browser: Playwright for Python driving Debian's Chromium
against a real ``uvicorn`` server on a store seeded with the NovaTech demo.

One browser for the whole module. Every page visited is checked for console
errors and failed requests, screenshotted into ``build/web/`` (kept as a CI
artifact) and checked with axe-core (vendored from the npm registry in
``vendor/``) for serious or critical accessibility violations.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from web_support import serving

from o2c import demo
from o2c.application import O2C
from o2c.auth import create_token
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.persistence import log
from o2c.projections import lists

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "web"
#: The SKU the story sells (the demo stocks it with two cost layers).
SKU = "NT-CABLE-5M"



@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[O2C]:
    path = tmp_path_factory.mktemp("browser") / "o2c.sqlite"
    app = build_app(Settings(database_url=f"sqlite:///{path}", currency="USD",
                             server_projector=False))
    demo.run(app, say=lambda _: None)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="module")
def base_url(store: O2C) -> Iterator[str]:
    """A real server (uvicorn, its own process) on the seeded store."""
    with serving(store.settings.database_url) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install -y chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


class Watched:
    """A signed-in page whose console errors and failed requests are collected."""

    def __init__(self, browser: Browser, base_url: str, token: str) -> None:
        self.context = browser.new_context(base_url=base_url,
                                           viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # A request the browser dropped because the page navigated on (a form posted
        # before a script finished loading) is not a failure of the server.
        self.page.on("requestfailed", lambda r: None if r.failure == "net::ERR_ABORTED"
                     else self.errors.append(f"failed: {r.url} ({r.failure})"))
        self.page.goto("/login")
        self.page.get_by_label("Token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("heading", name="Home")).to_be_visible()
        self.page.wait_for_load_state("networkidle")

    def visit(self, path: str, name: str) -> Page:
        """Opens a page; checks it loaded cleanly and accessibly; keeps a screenshot."""
        self.errors.clear()
        response = self.page.goto(path)
        assert response is not None
        assert response.status == 200, (path, response.status)
        self.page.wait_for_load_state("networkidle")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        self.page.add_script_tag(path=str(AXE))
        found: list[dict[str, Any]] = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))")
        serious = [v for v in found if v["impact"] in ("serious", "critical")]
        assert not serious, (path, serious)
        assert not self.errors, (path, self.errors)
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def tokens(store: O2C) -> dict[str, str]:
    return {role: create_token(store.db, role, f"browser-{role}")
            for role in ("sales", "warehouse", "finance", "auditor", "admin")}


def figures(page: Page) -> dict[str, Decimal]:
    """The trial balance page's balance per account code (debit positive)."""
    balances = {}
    for row in page.locator("#trial-balance tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        balances[cells[0]] = Decimal(cells[5].replace(",", ""))
    return balances


def test_every_page_loads_cleanly_and_accessibly(browser: Browser, base_url: str,
                                                 tokens: dict[str, str], store: O2C) -> None:
    admin = Watched(browser, base_url, tokens["admin"])
    some_order = lists.sales_orders(store.db, store.places, limit=1).items[0].id
    deal = lists.opportunities(store.db, store.places, limit=1, status="open").items[0].id
    for path, name in (("/", "home"), ("/leads", "leads"), ("/pipeline", "pipeline"),
                       (f"/pipeline/{deal}/win", "win"), ("/orders", "orders"),
                       (f"/orders/{some_order}", "order"), ("/inventory", "inventory"),
                       (f"/inventory/{SKU}", "stock-item"),
                       ("/books/trial-balance", "trial-balance"),
                       ("/books/ar-aging", "ar-aging"), ("/books/journal", "journal"),
                       ("/audit", "audit"), (f"/audit?trail={some_order}", "trail")):
        admin.visit(path, name)
    # The funnel chart drew (Chart.js loaded and ran).
    page = admin.visit("/pipeline", "pipeline")
    assert page.locator("canvas#funnel").get_attribute("data-drawn") == "1"
    # On a phone's screen.
    admin.page.set_viewport_size({"width": 390, "height": 844})
    admin.visit("/", "home-phone")
    admin.close()


def test_the_whole_story_in_the_browser(browser: Browser, base_url: str,
                                        tokens: dict[str, str], store: O2C) -> None:
    user = Watched(browser, base_url, tokens["admin"])
    page = user.visit("/books/trial-balance", "trial-balance-before")
    before = figures(page)
    layers = [dict(layer) for layer in store.stock_item(SKU).layers]

    # Capture a lead, qualify and convert it.
    page = user.visit("/leads", "leads")
    page.get_by_label("Name", exact=True).fill("Grace Hopper")
    page.get_by_label("Company", exact=True).fill("Harbor Labs")
    page.get_by_label("E-mail", exact=True).fill("grace@harbor.example")
    page.get_by_role("button", name="Capture lead").click()
    expect(page.get_by_role("status")).to_contain_text("Lead captured")
    row = page.locator('tr[data-lead="grace@harbor.example"]')
    row.get_by_role("button", name="Qualify").click()
    expect(page.get_by_role("status")).to_contain_text("Lead qualified")
    row = page.locator('tr[data-lead="grace@harbor.example"]')
    row.locator("summary", has_text="Convert").click()
    row.get_by_label("Deal title").fill("Harbor cabling")
    row.get_by_label("Amount").fill("600.00")
    row.get_by_label("Expected close").fill("2030-06-30")
    row.get_by_role("button", name="Convert to customer and deal").click()
    expect(page.get_by_role("status")).to_contain_text("Lead converted")

    # Move the deal through the stages, then win it with order lines.
    deal = page.locator('article[data-title="Harbor cabling"]')
    for stage in ("qualification", "proposal", "negotiation"):
        deal.get_by_label("Move to").select_option(stage)
        deal.get_by_role("button", name="Move").click()
        expect(page.locator(f'section[data-stage="{stage}"] article[data-title="Harbor cabling"]'
                            )).to_be_visible()
        deal = page.locator('article[data-title="Harbor cabling"]')
    deal.get_by_role("link", name="Win…").click()
    expect(page.get_by_role("heading", name=re.compile("Win"))).to_be_visible()
    page.get_by_label("SKU, line 1").select_option(SKU)
    page.get_by_label("Quantity, line 1").fill("40")
    page.get_by_label("Unit price, line 1").fill("15.00")
    page.get_by_role("button", name="Win and place the order").click()
    expect(page.get_by_role("status")).to_contain_text("Deal won")
    order_url = page.url

    # Confirm, ship in two parts, invoice, pay in two parts.
    page.get_by_role("button", name="Confirm (reserve stock)").click()
    expect(page.locator("#status")).to_have_text("confirmed")
    for part, status in (("15", "partially shipped"), ("25", "shipped")):
        page.get_by_label(re.compile(f"{SKU}: quantity to ship")).fill(part)
        page.get_by_role("button", name="Ship", exact=True).click()
        expect(page.locator("#status")).to_have_text(status)
    page.get_by_role("button", name="Invoice what has shipped").click()
    expect(page.locator("#status")).to_have_text("invoiced")
    net = Decimal("40") * Decimal("15.00")
    tax = (net * Decimal("0.08")).quantize(Decimal("0.01"))
    for amount in ("300.00", str(net + tax - Decimal("300.00"))):
        page.get_by_label("Payment amount").fill(amount)
        page.get_by_role("button", name="Record payment").click()
        expect(page.get_by_role("status")).to_contain_text("Payment recorded")
    expect(page.locator("#status")).to_have_text("paid")
    user.visit(order_url.removeprefix(base_url), "order-paid")

    # The trial balance shows what a test computes on its own: FIFO cost of 40 units.
    cost, left = Decimal(0), Decimal(40)
    for layer in layers:
        take = min(left, layer["quantity"])
        if take == layer["quantity"]:
            cost += layer["value"]
        else:
            cost += (layer["value"] * take / layer["quantity"]).quantize(Decimal("0.01"))
        left -= take
        if not left:
            break
    page = user.visit("/books/trial-balance", "trial-balance-after")
    after = figures(page)
    change = {code: after.get(code, Decimal(0)) - before.get(code, Decimal(0))
              for code in after}
    assert change["1000"] == net + tax           # cash received
    assert change["1100"] == 0                   # invoiced, then paid in full
    assert change["1200"] == -cost               # the FIFO cost left inventory
    assert change["5000"] == cost                # ... into COGS
    assert change["4000"] == -net                # revenue (a credit)
    assert change["2100"] == -tax                # sales tax payable (a credit)
    debit, credit = page.locator("#total-debit").inner_text(), page.locator(
        "#total-credit").inner_text()
    assert debit == credit
    expect(page.locator("#balanced")).to_contain_text("Balanced")
    user.close()


def test_an_oversell_shows_its_message_and_records_nothing(
        browser: Browser, base_url: str, tokens: dict[str, str], store: O2C) -> None:
    user = Watched(browser, base_url, tokens["sales"])
    page = user.page
    deal = lists.opportunities(store.db, store.places, limit=1, status="open").items[0]
    page.goto(f"/pipeline/{deal.id}/win")
    page.get_by_label("SKU, line 1").select_option("NT-GATEWAY-200")
    # More gateways than are in stock, for a total (10.79 with tax) within any demo
    # customer's credit limit: the stock check, not credit control, refuses it.
    page.get_by_label("Quantity, line 1").fill("999")
    page.get_by_label("Unit price, line 1").fill("0.01")
    page.get_by_role("button", name="Win and place the order").click()
    expect(page.get_by_role("status")).to_contain_text("Deal won")
    before = log.head(store.db)
    page.get_by_role("button", name="Confirm (reserve stock)").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("NT-GATEWAY-200")
    expect(alert).to_contain_text("available")
    assert log.head(store.db) == before
    expect(page.locator("#status")).to_have_text("placed")
    user.close()


def test_a_role_without_the_right_sees_no_button_and_a_forged_post_is_403(
        browser: Browser, base_url: str, tokens: dict[str, str], store: O2C) -> None:
    user = Watched(browser, base_url, tokens["warehouse"])
    page = user.visit("/leads", "leads-warehouse")
    expect(page.get_by_role("button", name="Capture lead")).to_have_count(0)
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    before = log.head(store.db)
    # Forge the form the page does not offer, with this session's own CSRF token.
    page.evaluate("""csrf => {
        const f = document.createElement('form'); f.method = 'post'; f.action = '/leads';
        for (const [k, v] of Object.entries({csrf, key: 'forged-1', name: 'F', company: 'F',
                                             email: 'f@f.example', source: 'forged'})) {
            const i = document.createElement('input'); i.type = 'hidden'; i.name = k;
            i.value = v; f.appendChild(i); }
        document.body.appendChild(f); f.submit(); }""", csrf)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("your role (warehouse) may not do this")
    assert log.head(store.db) == before
    user.close()


def test_a_cross_site_post_is_refused(browser: Browser, base_url: str,
                                      tokens: dict[str, str], store: O2C) -> None:
    """A page on another site posts a form to o2c in a signed-in browser: the session
    cookie (SameSite=Strict) is not sent and there is no CSRF token, so it is refused."""
    evil = (f'<html lang="en"><body><form id="f" method="post" action="{base_url}/leads">'
            '<input name="name" value="Evil"><input name="company" value="Evil">'
            '<input name="email" value="evil@evil.example"><input name="source" value="x">'
            '</form><script>document.getElementById("f").submit()</script></body></html>')

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(evil.encode())

        def log_message(self, *_: object) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    user = Watched(browser, base_url, tokens["sales"])
    before = log.head(store.db)
    try:
        # "localhost" is another site than "127.0.0.1" for the browser.
        response = user.page.goto(f"http://localhost:{site.server_address[1]}/")
        assert response is not None
        user.page.wait_for_url(f"{base_url}/leads")
        expect(user.page.get_by_role("alert")).to_contain_text("Sign in first")
    finally:
        site.shutdown()
    assert log.head(store.db) == before
    user.close()
