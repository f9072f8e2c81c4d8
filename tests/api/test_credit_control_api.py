"""Credit control over HTTP (issue 13, part 2): 409 ``credit_limit_exceeded`` and
``credit_hold`` naming the figures, finance's release (403 for sales) in the audit
stream, the limit change as an event, the customer's credit position, and AR aging's
limit and exposure per customer -- on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from o2c.application import O2C, Context

SKU = "API-CR-1"
TODAY = datetime.now(UTC).date()
PAST = Context(actor="setup", today=TODAY - timedelta(days=20))


def post(client: TestClient, path: str, headers: dict[str, str], body: Any = None,
         status: int | None = None) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    if status is not None:
        assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def setup(client: TestClient, tokens: dict[str, dict[str, str]], limit: str | None,
          terms: int = 30) -> str:
    admin = tokens["admin"]
    post(client, "/stock-items", admin, {"sku": SKU, "name": "Widget"}, 201)
    post(client, f"/stock-items/{SKU}/receipts", admin,
         {"quantity": "100", "unit_cost": "10.00"}, 201)
    return post(client, "/customers", tokens["sales"], {
        "name": "Acme", "email": "ap@acme.example", "credit_limit": limit,
        "payment_terms_days": terms}, 201)["id"]


def place(client: TestClient, tokens: dict[str, dict[str, str]], customer: str,
          quantity: str) -> str:
    return post(client, "/sales-orders", tokens["sales"], {
        "customer_id": customer,
        "lines": [{"sku": SKU, "quantity": quantity, "unit_price": "100.00"}]}, 201)["id"]


def head(app: O2C) -> int:
    return app.db.head()


def test_over_the_limit_is_a_409_naming_the_figures_and_records_nothing(
        api_app: O2C, client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    acme = setup(client, tokens, "1000.00")
    first = place(client, tokens, acme, "5")
    post(client, f"/sales-orders/{first}/confirm", tokens["warehouse"], status=200)
    second = place(client, tokens, acme, "5")
    before = head(api_app)
    refused = post(client, f"/sales-orders/{second}/confirm", tokens["warehouse"],
                   status=409)
    assert refused["error"] == "credit_limit_exceeded"
    for figure in ("limit 1000.00", "open receivables 0.00",
                   "unshipped confirmed orders 540.00", "this order 540.00",
                   "total exposure 1080.00"):
        assert figure in refused["detail"], refused
    assert head(api_app) == before
    credit = client.get(f"/customers/{acme}/credit", headers=tokens["sales"]).json()
    assert (credit["credit_limit"], credit["exposure"], credit["available"],
            credit["on_hold"]) == ("1000.00", "540.00", "460.00", False)


def test_finance_releases_one_order_sales_may_not(
        api_app: O2C, client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    acme = setup(client, tokens, "100.00")
    held = place(client, tokens, acme, "5")
    post(client, f"/sales-orders/{held}/confirm", tokens["sales"], status=409)
    before = head(api_app)
    denied = client.post(f"/sales-orders/{held}/credit-release", headers=tokens["sales"],
                         json={"reason": "please"})
    assert denied.status_code == 403
    assert head(api_app) == before
    released = post(client, f"/sales-orders/{held}/credit-release", tokens["finance"],
                    {"reason": "Prepaid by wire"}, 200)
    assert (released["id"], released["customer_id"]) == (held, acme)
    post(client, f"/sales-orders/{held}/confirm", tokens["sales"], status=200)
    other = place(client, tokens, acme, "1")
    assert post(client, f"/sales-orders/{other}/confirm", tokens["sales"],
                status=409)["error"] == "credit_limit_exceeded"
    # the release is in the customer's audit stream, with its reason and actor
    stream = client.get(f"/audit/streams/{acme}", headers=tokens["auditor"]).json()
    text = str(stream)
    assert "CreditReleased" in text
    assert "Prepaid by wire" in text
    assert "finance-user" in text
    credit = client.get(f"/customers/{acme}/credit", headers=tokens["finance"]).json()
    assert [(r["order_id"], r["reason"], r["by"].split("#")[0]) for r in credit["releases"]
            ] == [(held, "Prepaid by wire", "finance:finance-user")]
    # a confirmed order cannot be released again
    assert post(client, f"/sales-orders/{held}/credit-release", tokens["finance"],
                {"reason": "again"}, 409)["error"] == "invalid_state"


def test_an_overdue_invoice_is_a_credit_hold(
        api_app: O2C, client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    acme = setup(client, tokens, None, terms=5)
    first = place(client, tokens, acme, "1")
    api_app.confirm_order(PAST, first)
    api_app.ship_order(PAST, first, [{"sku": SKU, "quantity": "1"}])
    number = api_app.invoice_order(PAST, first).extra["invoice_number"]  # due 15 days ago
    later = place(client, tokens, acme, "1")
    before = head(api_app)
    refused = post(client, f"/sales-orders/{later}/confirm", tokens["warehouse"],
                   status=409)
    assert refused["error"] == "credit_hold"
    assert f"{number} due {TODAY - timedelta(days=15)} is 15 days overdue" in refused["detail"]
    assert head(api_app) == before
    credit = client.get(f"/customers/{acme}/credit", headers=tokens["auditor"]).json()
    assert credit["on_hold"] is True
    assert [(o["invoice_number"], o["days_overdue"]) for o in credit["overdue"]] == [
        (number, 15)]
    # AR aging ages it by its due date and shows the limit (none) and exposure
    aging = client.get("/reports/ar-aging", headers=tokens["finance"]).json()
    assert [i["bucket"] for i in aging["invoices"]] == ["1-30"]
    row = next(c for c in aging["customers"] if c["customer_id"] == acme)
    assert (row["credit_limit"], row["exposure"]) == (None, "108.00")


def test_changing_the_limit_is_a_finance_event_with_a_reason(
        api_app: O2C, client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    acme = setup(client, tokens, "100.00")
    big = place(client, tokens, acme, "5")
    path = f"/customers/{acme}/credit-limit"
    before = head(api_app)
    assert client.post(path, headers=tokens["sales"], json={
        "credit_limit": "1000.00", "reason": "x"}).status_code == 403
    assert client.post(path, headers=tokens["finance"], json={
        "credit_limit": "1000.00"}).status_code == 422  # a reason is required
    assert client.post(path, headers={**tokens["finance"], "If-Match": "7"}, json={
        "credit_limit": "1000.00", "reason": "x"}).status_code == 412
    assert head(api_app) == before
    changed = post(client, path, tokens["finance"],
                   {"credit_limit": "1000.00", "reason": "Annual review"}, 200)
    assert changed["credit_limit"] == "1000.00"
    post(client, f"/sales-orders/{big}/confirm", tokens["sales"], status=200)
    none = post(client, path, tokens["admin"], {"credit_limit": None, "reason": "Guaranteed"},
                200)
    assert none["credit_limit"] is None
    assert client.get(f"/customers/{acme}", headers=tokens["sales"]).json()[
        "credit_limit"] is None
    stream = str(client.get(f"/audit/streams/{acme}", headers=tokens["auditor"]).json())
    assert "CreditLimitChanged" in stream
    assert "Annual review" in stream
    # aging lists the customer once it has something open
    listed = client.get("/customers", headers=tokens["sales"]).json()["items"]
    assert [c["credit_limit"] for c in listed if c["id"] == acme] == [None]
