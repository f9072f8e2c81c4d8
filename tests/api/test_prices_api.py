"""Prices and discounts over HTTP, on both stores: price lists set and read, orders priced
from them, discounts shown on orders and invoices, quotes won into orders; refusals
record nothing, retries are idempotent, If-Match holds, and the read models (order
status and list, rebuilt too) count orders net of discount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from o2c.application import O2C, Context
from o2c.domain.money import MAX_AMOUNT
from o2c.projections import Projector
from o2c.projections.rebuild import rebuild

H = dict[str, dict[str, str]]
TODAY = date.today().isoformat()


@pytest.fixture
def customer(api_app: O2C) -> str:
    ctx = Context(actor="prices-api-setup")
    for sku in ("PA-1", "PA-2"):
        api_app.register_stock_item(ctx, sku, sku)
        api_app.receive_stock(ctx, sku, "100", "1.00")
    return api_app.register_customer(ctx, "Price Co", "ap@price.example").id


def _set(client: TestClient, tokens: H, name: str, sku: str, price: str,
         effective_from: str = TODAY, role: str = "sales", **headers: str) -> Any:
    return client.post(f"/price-lists/{name}/prices", headers={**tokens[role], **headers},
                       json={"sku": sku, "unit_price": price, "effective_from": effective_from})


def test_price_lists_are_set_read_and_used_by_orders(
        api_app: O2C, client: TestClient, tokens: H, customer: str) -> None:
    created = _set(client, tokens, "default", "PA-1", "10.00", "2020-01-01")
    assert created.status_code == 201, created.text
    assert created.json()["unit_price"] == "10.00"
    assert _set(client, tokens, "default", "PA-2", "20", "2020-01-01").status_code == 201
    assert _set(client, tokens, customer, "PA-1", "8.00", "2020-01-01").status_code == 201
    assert _set(client, tokens, "default", "PA-1", "99.00", "2999-01-01").status_code == 201
    shown = client.get("/price-lists/default", headers=tokens["auditor"])
    assert shown.status_code == 200
    assert shown.headers["ETag"] == f'"{shown.json()["version"]}"'
    assert [(p["sku"], p["unit_price"], p["effective_from"], p["effective_to"])
            for p in shown.json()["prices"]] == [
        ("PA-1", "10.00", "2020-01-01", "2999-01-01"), ("PA-1", "99.00", "2999-01-01", None),
        ("PA-2", "20.00", "2020-01-01", None)]
    assert client.get(f"/price-lists/{customer}", headers=tokens["sales"]).json()["prices"][0][
        "unit_price"] == "8.00"
    placed = client.post("/sales-orders", headers=tokens["sales"], json={
        "customer_id": customer, "discount_percent": "10",
        "lines": [{"sku": "PA-1", "quantity": "3", "discount_percent": "5"},
                  {"sku": "PA-2", "quantity": "1"}]})
    assert placed.status_code == 201, placed.text
    order = client.get(f"/sales-orders/{placed.json()['id']}", headers=tokens["sales"]).json()
    # PA-1 from the customer's list: 3 x 8.00 = 24.00, -5 % = 22.80; PA-2 20.00 (default)
    assert [(x["unit_price"], x["gross"], x["discount"], x["net"]) for x in order["lines"]] == [
        ("8.00", "24.00", "1.20", "22.80"), ("20.00", "20.00", "0.00", "20.00")]
    # 42.80 - 10 % = 38.52
    assert (order["gross"], order["discount"], order["total"]) == ("44.00", "5.48", "38.52")
    assert order["discount_percent"] == "10.00"


def test_the_invoice_shows_gross_discount_net_tax_total_and_reports_agree(
        api_app: O2C, client: TestClient, tokens: H, customer: str) -> None:
    oid = client.post("/sales-orders", headers=tokens["sales"], json={
        "customer_id": customer, "discount_percent": "12.5",
        "lines": [{"sku": "PA-1", "quantity": "4", "unit_price": "25.00"}]}).json()["id"]
    client.post(f"/sales-orders/{oid}/confirm", headers=tokens["sales"])
    client.post(f"/sales-orders/{oid}/shipments", headers=tokens["warehouse"],
                json={"lines": [{"sku": "PA-1", "quantity": "4"}]})
    invoice = client.post(f"/sales-orders/{oid}/invoices", headers=tokens["finance"])
    assert invoice.status_code == 201, invoice.text
    body = invoice.json()
    net = Decimal("87.50")
    tax = (net * api_app.settings.tax_rate).quantize(Decimal("0.01"))
    assert (body["gross"], body["discount"], body["net"]) == ("100.00", "12.50", "87.50")
    assert (Decimal(body["tax"]), Decimal(body["total"])) == (tax, net + tax)
    order = client.get(f"/sales-orders/{oid}", headers=tokens["sales"]).json()
    assert (order["invoices"][0]["gross"], order["invoices"][0]["discount"]) == (
        "100.00", "12.50")
    # Revenue is net of discount.
    head = api_app.db.head()
    tb = client.get("/reports/trial-balance", headers=tokens["finance"],
                    params={"after": head}).json()
    revenue = next(a for a in tb["accounts"] if a["code"] == "4000")
    assert Decimal(revenue["credit"]) == net
    listed = client.get("/sales-orders", headers=tokens["sales"], params={"after": head}).json()
    assert [Decimal(x["net"]) for x in listed["items"] if x["id"] == oid] == [net]
    # The read models rebuilt from the log give what they gave live.
    projector = Projector(api_app.db, api_app.settings)
    projector.catch_up()
    live = {name: projector.digest(name) for name in projector.names()}
    rebuild(projector)
    assert {name: projector.digest(name) for name in projector.names()} == live


def test_a_quote_is_won_into_the_order(api_app: O2C, client: TestClient, tokens: H,
                                       customer: str) -> None:
    _set(client, tokens, "default", "PA-1", "10.00", "2020-01-01")
    opp = client.post("/opportunities", headers=tokens["sales"], json={
        "customer_id": customer, "title": "Deal", "amount": "100",
        "expected_close_date": "2030-01-01"}).json()["id"]
    refused = client.post(f"/opportunities/{opp}/win", headers=tokens["sales"], json={})
    assert refused.status_code == 422
    assert "quote" in refused.json()["detail"]
    quote = client.post(f"/opportunities/{opp}/quote", headers=tokens["sales"], json={
        "lines": [{"sku": "PA-1", "quantity": "10"}], "discount_percent": "15"})
    assert quote.status_code == 201, quote.text
    assert (quote.json()["gross"], quote.json()["net"]) == ("100.00", "85.00")
    shown = client.get(f"/opportunities/{opp}", headers=tokens["sales"]).json()
    assert shown["quote"]["net"] == "85.00"
    won = client.post(f"/opportunities/{opp}/win", headers=tokens["sales"])
    assert won.status_code == 201, won.text
    order = client.get(f"/sales-orders/{won.json()['order_id']}", headers=tokens["sales"])
    assert order.json()["total"] == "85.00"
    assert order.json()["lines"][0]["unit_price"] == "10.00"


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/price-lists/vip/prices", {"sku": "PA-1", "unit_price": "1"}, 422, "invalid_input"),
    ("/price-lists/00000000-0000-4000-8000-000000000000/prices",
     {"sku": "PA-1", "unit_price": "1"}, 404, "not_found"),
    ("/price-lists/default/prices", {"sku": "NOPE", "unit_price": "1"}, 422,
     "unknown_reference"),
    ("/price-lists/default/prices", {"sku": "PA-1", "unit_price": "1.001"}, 422,
     "invalid_amount"),
    ("/price-lists/default/prices", {"sku": "PA-1", "unit_price": "1", "extra": 1}, 422,
     "invalid_input"),
    ("/sales-orders", {"lines": [{"sku": "PA-2", "quantity": "1"}]}, 422, "no_price"),
    ("/sales-orders", {"lines": [{"sku": "PA-1", "quantity": "1", "unit_price": "1",
                                  "discount_percent": "100.01"}]}, 422, "invalid_amount"),
    ("/sales-orders", {"discount_percent": "0.001",
                       "lines": [{"sku": "PA-1", "quantity": "1", "unit_price": "1"}]}, 422,
     "invalid_amount"),
    ("/sales-orders", {"lines": [{"sku": "PA-1", "quantity": "3",
                                  "unit_price": str(MAX_AMOUNT / 2),
                                  "discount_percent": "50"}]}, 422, "invalid_amount"),
])
def test_refusals_record_nothing(api_app: O2C, client: TestClient, tokens: H, customer: str,
                                 path: str, body: dict[str, object], status: int,
                                 code: str) -> None:
    if path == "/sales-orders":
        body = {"customer_id": customer, **body}
    head = api_app.db.head()
    answer = client.post(path, headers=tokens["sales"], json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code
    assert api_app.db.head() == head


def test_roles_idempotency_and_if_match(api_app: O2C, client: TestClient, tokens: H,
                                        customer: str) -> None:
    assert _set(client, tokens, "default", "PA-1", "5", role="warehouse").status_code == 403
    assert _set(client, tokens, "default", "PA-1", "5", role="auditor").status_code == 403
    first = _set(client, tokens, "default", "PA-1", "5", **{"Idempotency-Key": "k1"})
    head = api_app.db.head()
    again = _set(client, tokens, "default", "PA-1", "5", **{"Idempotency-Key": "k1"})
    assert again.json() == first.json()
    assert api_app.db.head() == head
    assert _set(client, tokens, "default", "PA-1", "6",
                **{"Idempotency-Key": "k1"}).status_code == 422
    stale = _set(client, tokens, "default", "PA-1", "7", **{"If-Match": "99"})
    assert stale.status_code == 412
    assert api_app.db.head() == head
    version = str(first.json()["version"])
    assert _set(client, tokens, "default", "PA-1", "7", **{"If-Match": version}
                ).status_code == 201
    assert client.get("/price-lists/nope", headers=tokens["sales"]).status_code == 404
    assert client.get(f"/price-lists/{customer}", headers=tokens["sales"]).status_code == 404
