"""The web app, server side: sign-in, CSRF, roles, every page and form.

Each test signs in as a role on a store that holds the NovaTech demo, and
records its own leads, deals and orders (names made unique per test), so the
tests share one seeded store and stay independent.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from web_support import BOOTSTRAP, HTML, csrf_of

from o2c.application import O2C
from o2c.auth import create_token, revoke_token
from o2c.persistence import log
from o2c.projections import lists

Browser = Callable[[str], TestClient]
PAGES = ("/", "/leads", "/pipeline", "/orders", "/inventory", "/inventory/NT-SENSOR-100",
         "/books/trial-balance", "/books/ar-aging", "/books/journal")


def form(client: TestClient, page: str, **fields: str) -> dict[str, str]:
    """The fields a form on ``page`` posts: its CSRF token, a fresh idempotency key, and
    the version the page shows (where its forms carry one)."""
    html = client.get(page).text
    version = re.search(r'name="version" value="(\d+)"', html)
    return {"csrf": csrf_of(html), "key": str(uuid.uuid4()),
            **({"version": version[1]} if version else {}), **fields}


def message(html: str) -> str:
    """The page's error message."""
    found = re.search(r'role="alert"[^>]*>(.*?)</p>', html, re.S)
    assert found, "the page shows no error message"
    return found[1].strip()


def follow(client: TestClient, answer: object) -> str:
    """The page a 303 leads to (its text)."""
    assert getattr(answer, "status_code", None) == 303, getattr(answer, "text", answer)
    return client.get(answer.headers["location"]).text  # type: ignore[attr-defined]


def a_lead(client: TestClient, seeded: O2C) -> tuple[str, str]:
    """Captures a lead through the page; its e-mail and id."""
    email = f"web-{uuid.uuid4().hex[:10]}@example.com"
    answer = client.post("/leads", data=form(client, "/leads", name="Web Lead",
                                               company="Web Co", email=email, source="web"))
    assert email in follow(client, answer)
    found = lists.leads(seeded.db, seeded.places, q=email).items
    assert len(found) == 1
    return email, found[0].id


# --- sign-in ----------------------------------------------------------------------

def test_pages_need_a_session(server: TestClient) -> None:
    for page in PAGES:
        answer = server.get(page, headers=HTML)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")


def test_sign_in_sets_a_signed_cookie_that_does_not_carry_the_token(
        server: TestClient, tokens: dict[str, str]) -> None:
    page = server.get("/login", headers=HTML)
    answer = server.post("/login", data={"token": tokens["sales"], "csrf": csrf_of(page.text),
                                         "next": "/orders"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/orders"
    cookie = next(v for k, v in answer.headers.multi_items()
                  if k == "set-cookie" and v.startswith("o2c_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert tokens["sales"] not in cookie
    assert tokens["sales"].split("_")[2] not in cookie  # not even the secret part
    assert tokens["sales"].split("_")[1] not in cookie  # nor its id
    server.cookies.clear()


def test_a_bad_token_is_refused_with_a_message(server: TestClient) -> None:
    page = server.get("/login", headers=HTML)
    answer = server.post("/login", data={"token": "o2c_nope", "csrf": csrf_of(page.text)})
    assert answer.status_code == 401
    assert "Unknown, revoked or expired token" in message(answer.text)
    assert "o2c_session" not in answer.headers.get("set-cookie", "")
    server.cookies.clear()


def test_sign_in_without_the_forms_csrf_value_is_refused(
        server: TestClient, tokens: dict[str, str]) -> None:
    server.cookies.clear()
    answer = server.post("/login", data={"token": tokens["sales"], "csrf": "forged"})
    assert answer.status_code == 403
    assert "o2c_session" not in answer.headers.get("set-cookie", "")


def test_the_database_holds_no_session_secret(browser_as: Browser, seeded: O2C) -> None:
    """A reader of the database cannot sign in: it keeps only the secret's hash."""
    client = browser_as("sales")
    secret = client.cookies["o2c_session"]
    with seeded.db.transaction(write=False) as cur:
        rows = cur.execute("SELECT session_hash, holder, created_at, expires_at "
                           "FROM o2c_web_sessions").fetchall()
    stored = " ".join(str(value) for row in rows for value in row)
    assert secret not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    altered = secret[:-1] + ("B" if secret.endswith("A") else "A")
    for forged in [str(row[0]) for row in rows] + ["x" * 43, altered]:
        client.cookies.set("o2c_session", forged)
        assert client.get("/").status_code == 303


def test_a_bootstrap_session_ends_when_the_bootstrap_token_changes(
        seeded: O2C, tokens: dict[str, str]) -> None:
    from o2c.api import create_app

    tokens["bootstrap"] = BOOTSTRAP
    with TestClient(create_app(seeded.settings, app=seeded), base_url="http://o2c.test",
                    follow_redirects=False) as client:
        page = client.get("/login", headers=HTML)
        answer = client.post("/login", data={"token": BOOTSTRAP, "csrf": csrf_of(page.text)})
        assert answer.status_code == 303
        assert "admin" in client.get("/", headers=HTML).text
        client.app.state.tokens.bootstrap = "another-bootstrap-token"  # type: ignore[attr-defined]
        assert client.get("/", headers=HTML).status_code == 303


def test_sign_out_and_revocation_end_the_session(
        browser_as: Browser, seeded: O2C, tokens: dict[str, str]) -> None:
    client = browser_as("warehouse")
    assert client.get("/").status_code == 200
    secret = client.cookies["o2c_session"]
    answer = client.post("/logout", data={"csrf": csrf_of(client.get("/").text)})
    assert answer.status_code == 303
    assert client.get("/").status_code == 303
    client.cookies.set("o2c_session", secret)  # a copy of the cookie kept elsewhere
    assert client.get("/").status_code == 303
    # Revoking the token ends a session still held by another browser, at once.
    tokens["doomed"] = create_token(seeded.db, "finance", "doomed")
    other = browser_as("doomed")
    assert other.get("/").status_code == 200
    revoke_token(seeded.db, tokens["doomed"].split("_")[1])
    assert other.get("/").status_code == 303


# --- pages ------------------------------------------------------------------------

def test_every_page_renders_for_every_role(browser_as: Browser) -> None:
    for role in ("sales", "warehouse", "auditor", "admin"):
        client = browser_as(role)
        for page in PAGES:
            answer = client.get(page)
            assert answer.status_code == 200, (role, page, answer.text[-500:])
            assert "<h1>" in answer.text


def test_home_shows_the_figures_with_links(browser_as: Browser, seeded: O2C) -> None:
    html = browser_as("sales").get("/").text
    for figure, link in (("weighted-pipeline", "/pipeline"), ("win-rate", "/pipeline"),
                         ("lead-conversion", "/leads"), ("overdue", "/books/ar-aging"),
                         ("stock-value", "/inventory"), ("waiting-placed", "/orders"),
                         ("waiting-shipped", "/orders"), ("low-stock", "/inventory"),
                         ("audit", "/audit")):
        assert f'data-figure="{figure}"' in html
        assert f'href="{link}' in html
    placed = lists.sales_orders(seeded.db, seeded.places, limit=200, status="placed").items
    shown = re.search(r'data-figure="waiting-placed">(\d+)', html)
    assert shown
    assert int(shown[1]) == len(placed)


def test_audit_is_for_auditors_and_finance_and_says_why_not(browser_as: Browser,
                                                            seeded: O2C) -> None:
    refused = browser_as("sales").get("/audit")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    assert "may not see this page" in message(refused.text)
    html = browser_as("auditor").get("/audit").text
    assert "Intact." in html
    assert f"head is at position {log.head(seeded.db)}" in html or "Intact." in html
    assert 'id="log"' in html


def test_csv_downloads(browser_as: Browser) -> None:
    client = browser_as("auditor")
    for path, header in (("/books/trial-balance.csv", "code,name,type,debit,credit,balance"),
                         ("/books/ar-aging.csv", "invoice_number,order_id"),
                         ("/inventory.csv", "sku,name,on_hand,reserved,available,value"),
                         ("/pipeline.csv", "stage,count,amount,weighted_amount")):
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.text.startswith(header)
    rows = client.get("/books/trial-balance.csv").text.strip().splitlines()
    totals = rows[-1].split(",")
    assert totals[1] == "Totals"
    assert totals[3] == totals[4]


def test_bad_report_input_is_a_clear_error(browser_as: Browser) -> None:
    client = browser_as("finance")
    answer = client.get("/books/trial-balance?as_of=2026-13-40")
    assert answer.status_code == 422
    assert "as of" in message(answer.text).lower()
    answer = client.get("/books/trial-balance?known_at=yesterday")
    assert answer.status_code == 422


# --- CSRF and roles ----------------------------------------------------------------

def test_a_post_without_the_csrf_token_records_nothing(browser_as: Browser,
                                                       seeded: O2C) -> None:
    client = browser_as("sales")
    before = log.head(seeded.db)
    answer = client.post("/leads", data={"name": "X", "company": "Y", "email": "x@y.example",
                                         "source": "web", "key": str(uuid.uuid4())})
    assert answer.status_code == 403
    assert "did not come from this site" in message(answer.text)
    answer = client.post("/leads", headers={"Origin": "http://evil.example"},
                         data=form(client, "/leads", name="X", company="Y",
                                   email="x@y.example", source="web"))
    assert answer.status_code == 403
    assert log.head(seeded.db) == before


def test_a_role_sees_only_its_actions_and_a_forged_post_is_403(
        browser_as: Browser, seeded: O2C) -> None:
    warehouse = browser_as("warehouse")
    leads_page = warehouse.get("/leads").text
    assert "Capture lead" not in leads_page
    assert "Capture lead" in browser_as("sales").get("/leads").text
    before = log.head(seeded.db)
    answer = warehouse.post("/leads", data=form(warehouse, "/leads", name="Forged",
                                                  company="F", email="f@f.example",
                                                  source="web"))
    assert answer.status_code == 403
    assert "your role (warehouse) may not do this" in message(answer.text)
    auditor = browser_as("auditor")
    assert "Post entry" not in auditor.get("/books/journal").text
    answer = auditor.post("/books/journal", data=form(auditor, "/books/journal", memo="x"))
    assert answer.status_code == 403
    assert log.head(seeded.db) == before


def test_the_api_keeps_its_addresses(server: TestClient, tokens: dict[str, str]) -> None:
    bearer = {"Authorization": f"Bearer {tokens['admin']}"}
    answer = server.post("/leads", headers=bearer, json={
        "name": "Api Lead", "company": "Api Co", "email": "api@example.com",
        "source": "api"})
    assert answer.status_code == 201
    assert answer.json()["version"] == 1
    assert server.post("/leads", json={}).status_code == 401  # JSON: the API's, not a page


# --- the business through the pages -------------------------------------------------

def test_lead_to_cash_through_the_pages(browser_as: Browser, seeded: O2C) -> None:
    sales, warehouse, finance = browser_as("sales"), browser_as("warehouse"), browser_as("finance")
    _email, lead_id = a_lead(sales, seeded)
    follow(sales, sales.post(f"/leads/{lead_id}/qualify", data=form(sales, "/leads")))
    answer = sales.post(f"/leads/{lead_id}/convert", data=form(
        sales, "/leads", title="Web deal", amount="1000.00", expected_close_date="2030-01-31"))
    assert "Web deal" in follow(sales, answer)
    lead = seeded.lead(lead_id)
    deal = str(lead.opportunity_id)
    for stage in ("qualification", "proposal", "negotiation"):
        follow(sales, sales.post(f"/pipeline/{deal}/stage",
                                 data=form(sales, "/pipeline", stage=stage)))
    assert seeded.opportunity(deal).stage == "negotiation"
    answer = sales.post(f"/pipeline/{deal}/win", data={
        **form(sales, f"/pipeline/{deal}/win"), "sku": ["NT-CABLE-5M", ""],
        "quantity": ["4", ""], "unit_price": ["12.50", ""]})
    order_page = answer.headers["location"]
    order_id = order_page.split("/")[2].split("?")[0]
    assert "Deal won" in follow(sales, answer)
    assert "Confirm (reserve stock)" in sales.get(order_page).text
    assert "Invoice what has shipped" not in warehouse.get(order_page).text
    follow(warehouse, warehouse.post(f"/orders/{order_id}/confirm",
                                     data=form(warehouse, f"/orders/{order_id}")))
    for part in ("1", "3"):
        fields = form(warehouse, f"/orders/{order_id}")
        answer = warehouse.post(f"/orders/{order_id}/ship",
                                data={**fields, "sku": ["NT-CABLE-5M"], "quantity": [part]})
        follow(warehouse, answer)
    assert seeded.sales_order(order_id).status == "shipped"
    html = finance.get(f"/orders/{order_id}").text
    assert "Invoice what has shipped" in html
    assert "Ship</button>" not in html
    follow(finance, finance.post(f"/orders/{order_id}/invoice",
                                 data=form(finance, f"/orders/{order_id}")))
    order = seeded.sales_order(order_id)
    total = order.invoiced_total  # with tax
    assert total > order.total
    half = (total / 2).quantize(Decimal("0.01"))
    for amount in (half, total - half):
        answer = finance.post(f"/orders/{order_id}/pay", data=form(
            finance, f"/orders/{order_id}", amount=str(amount), reference="web"))
        assert "Payment recorded" in follow(finance, answer)
    order = seeded.sales_order(order_id)
    assert (order.status, order.paid, order.open_balance) == ("paid", total, 0), (
        order.invoices, total)
    assert f'id="paid">{total:,f}' in finance.get(f"/orders/{order_id}").text


def test_an_oversell_is_refused_with_the_sku_and_records_nothing(
        browser_as: Browser, seeded: O2C) -> None:
    sales = browser_as("sales")
    _, lead_id = a_lead(sales, seeded)
    follow(sales, sales.post(f"/leads/{lead_id}/convert", data=form(
        sales, "/leads", title="Too big", amount="5.00", expected_close_date="2030-01-31")))
    deal = str(seeded.lead(lead_id).opportunity_id)
    answer = sales.post(f"/pipeline/{deal}/win", data={
        **form(sales, f"/pipeline/{deal}/win"), "sku": ["NT-GATEWAY-200"],
        "quantity": ["100000"], "unit_price": ["1.00"]})
    order_id = answer.headers["location"].split("/")[2].split("?")[0]
    before = log.head(seeded.db)
    answer = sales.post(f"/orders/{order_id}/confirm", data=form(sales, f"/orders/{order_id}"))
    assert answer.status_code == 409
    text = message(answer.text)
    assert "NT-GATEWAY-200" in text
    assert "available" in text
    assert log.head(seeded.db) == before
    assert seeded.sales_order(order_id).status == "placed"


def test_the_same_form_submitted_twice_records_once(browser_as: Browser, seeded: O2C) -> None:
    sales = browser_as("sales")
    email = f"twice-{uuid.uuid4().hex[:8]}@example.com"
    fields = form(sales, "/leads", name="Twice", company="T", email=email, source="web")
    assert sales.post("/leads", data=fields).status_code == 303
    assert sales.post("/leads", data=fields).status_code == 303
    assert len(lists.leads(seeded.db, seeded.places, q=email).items) == 1


def test_a_stale_page_is_refused_by_version(browser_as: Browser, seeded: O2C) -> None:
    sales = browser_as("sales")
    _, lead_id = a_lead(sales, seeded)
    follow(sales, sales.post(f"/leads/{lead_id}/convert", data=form(
        sales, "/leads", title="Stale", amount="5.00", expected_close_date="2030-01-31")))
    deal = str(seeded.lead(lead_id).opportunity_id)
    stale = form(sales, f"/pipeline/{deal}/win", sku="NT-CABLE-5M", quantity="1",
                 unit_price="1.00")
    follow(sales, sales.post(f"/pipeline/{deal}/stage", data=form(sales, "/pipeline",
                                                                    stage="proposal")))
    answer = sales.post(f"/pipeline/{deal}/win", data=stale)
    assert answer.status_code == 412
    assert seeded.opportunity(deal).order_id is None


def test_disqualify_needs_a_reason(browser_as: Browser, seeded: O2C) -> None:
    sales = browser_as("sales")
    _, lead_id = a_lead(sales, seeded)
    answer = sales.post(f"/leads/{lead_id}/disqualify", data=form(sales, "/leads", reason=""))
    assert answer.status_code == 422
    follow(sales, sales.post(f"/leads/{lead_id}/disqualify",
                             data=form(sales, "/leads", reason="No budget")))
    assert seeded.lead(lead_id).status == "disqualified"


def test_stock_receive_and_count(browser_as: Browser, seeded: O2C) -> None:
    warehouse = browser_as("warehouse")
    sku = f"WEB-{uuid.uuid4().hex[:6].upper()}"
    follow(warehouse, warehouse.post("/inventory", data=form(
        warehouse, "/inventory", sku=sku, name="Web widget")))
    page = f"/inventory/{sku}"
    follow(warehouse, warehouse.post(f"{page}/receive", data=form(
        warehouse, page, quantity="10", unit_cost="2.50")))
    html = follow(warehouse, warehouse.post(f"{page}/count", data=form(
        warehouse, page, counted_quantity="8", reason="cycle count")))
    assert 'id="on-hand">8<' in html
    assert 'id="value">20.00<' in html
    assert "StockItem.Received" in html or "Received" in html
    answer = warehouse.post(f"{page}/receive", data=form(warehouse, page, quantity="-1",
                                                         unit_cost="2.50"))
    assert answer.status_code == 422
    assert "Receive" in browser_as("warehouse").get(page).text
    assert "Receive</button>" not in browser_as("sales").get(page).text


def test_journal_refuses_an_unbalanced_entry_posts_reverses_and_closes(
        browser_as: Browser, seeded: O2C) -> None:
    finance = browser_as("finance")
    before = log.head(seeded.db)
    fields = form(finance, "/books/journal", memo="Web unbalanced", date="")
    answer = finance.post("/books/journal", data={
        **fields, "account": ["1000", "3000"], "debit": ["10.00", ""], "credit": ["", "9.00"]})
    assert answer.status_code == 409
    assert "do not equal credits" in message(answer.text)
    assert log.head(seeded.db) == before
    memo = f"Web capital {uuid.uuid4().hex[:6]}"
    fields = form(finance, "/books/journal", memo=memo, date="")
    html = follow(finance, finance.post("/books/journal", data={
        **fields, "account": ["1000", "3000", ""], "debit": ["10.00", "", ""],
        "credit": ["", "10.00", ""]}))
    assert memo in html
    entry = lists.journal_entries(seeded.db, seeded.places, q=memo).items[0]
    html = follow(finance, finance.post(f"/books/journal/{entry.id}/reverse",
                                        data=form(finance, "/books/journal", memo="")))
    assert f"Reversal of {memo}" in html
    # yesterday: after the month the demo closes, before today's postings of other tests
    through = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    follow(finance, finance.post("/books/periods/close", data=form(
        finance, "/books/journal", through=through, note="web")))
    assert through in finance.get("/books/journal").text


@pytest.mark.parametrize("as_of", ["", "2000-01-01"])
def test_trial_balance_totals_balance(browser_as: Browser, as_of: str) -> None:
    html = browser_as("auditor").get(f"/books/trial-balance?as_of={as_of}").text
    debit = re.search(r'id="total-debit">([\d,.]+)<', html)
    credit = re.search(r'id="total-credit">([\d,.]+)<', html)
    assert debit
    assert credit
    assert debit[1] == credit[1]
    assert "Balanced" in html
    assert "Only postings whose effective date" in html
    assert "Only what had been recorded by this moment" in html
