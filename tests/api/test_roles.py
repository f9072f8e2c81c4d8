"""Each role may use exactly the routes the contract gives it; 401 without a token, or with
a bad, forged or revoked one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from o2c import auth
from o2c.application import O2C

ALL = {"sales", "warehouse", "finance", "auditor", "admin"}
SALES, WAREHOUSE, FINANCE = {"sales", "admin"}, {"warehouse", "admin"}, {"finance", "admin"}

#: The contract's role table, route by route (admin may do everything).
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/leads"): SALES,
    ("POST", "/leads/{lead_id}/qualify"): SALES,
    ("POST", "/leads/{lead_id}/disqualify"): SALES,
    ("POST", "/leads/{lead_id}/convert"): SALES,
    ("POST", "/leads/{lead_id}/activities"): SALES,
    ("POST", "/opportunities/{opportunity_id}/activities"): SALES,
    ("POST", "/customers/{customer_id}/activities"): SALES,
    ("POST", "/activities/{activity_id}/complete"): SALES,
    ("POST", "/activities/{activity_id}/reschedule"): SALES,
    ("POST", "/customers"): SALES,
    ("POST", "/opportunities"): SALES,
    ("POST", "/opportunities/{opportunity_id}/stage"): SALES,
    ("POST", "/opportunities/{opportunity_id}/win"): SALES,
    ("POST", "/opportunities/{opportunity_id}/lose"): SALES,
    ("POST", "/opportunities/{opportunity_id}/quote"): SALES,
    ("POST", "/price-lists/{name}/prices"): SALES,
    ("GET", "/price-lists/{name}"): ALL,
    ("POST", "/sales-orders"): SALES,
    ("POST", "/sales-orders/{order_id}/confirm"): SALES | WAREHOUSE,
    ("POST", "/sales-orders/{order_id}/cancel"): SALES,
    ("POST", "/stock-items"): WAREHOUSE,
    ("POST", "/stock-items/{sku}/receipts"): WAREHOUSE,
    ("POST", "/stock-items/{sku}/adjustments"): WAREHOUSE,
    ("POST", "/sales-orders/{order_id}/shipments"): WAREHOUSE,
    ("POST", "/sales-orders/{order_id}/invoices"): FINANCE,
    ("POST", "/sales-orders/{order_id}/payments"): FINANCE,
    ("POST", "/sales-orders/{order_id}/credit-notes"): FINANCE,
    ("POST", "/customers/{customer_id}/refunds"): FINANCE,
    ("POST", "/customers/{customer_id}/credit-limit"): FINANCE,
    ("POST", "/sales-orders/{order_id}/credit-release"): FINANCE,
    ("POST", "/sales-orders/{order_id}/returns"): WAREHOUSE | FINANCE,
    ("GET", "/sales-orders/{order_id}/returns"): ALL,
    ("POST", "/sales-orders/{order_id}/return-authorisations"): SALES | FINANCE,
    ("POST", "/sales-orders/{order_id}/return-authorisations/{rma_number}/cancel"):
        SALES | FINANCE,
    ("POST", "/ledger-accounts"): FINANCE,
    ("POST", "/journal-entries"): FINANCE,
    ("POST", "/journal-entries/{entry_id}/reverse"): FINANCE,
    ("POST", "/periods/close"): FINANCE,
    ("POST", "/periods/reopen"): FINANCE,
    ("POST", "/periods/year-end"): FINANCE,
    ("GET", "/audit/events"): {"auditor", "finance", "admin"},
    ("GET", "/audit/streams/{aggregate_id}"): {"auditor", "finance", "admin"},
    ("GET", "/audit/trail/{aggregate_id}"): {"auditor", "finance", "admin"},
    ("GET", "/audit/verify"): {"auditor", "finance", "admin"},
}
for path in ("/customers/{customer_id}", "/leads/{lead_id}", "/opportunities/{opportunity_id}",
             "/sales-orders/{order_id}", "/stock-items/{sku}", "/ledger-accounts/{code}",
             "/reports/pipeline", "/reports/inventory", "/reports/trial-balance",
             "/reports/ar-aging", "/reports/ledger/{code}", "/reports/pnl",
             "/reports/balance-sheet", "/leads", "/customers", "/opportunities", "/stock-items",
             "/sales-orders", "/invoices", "/journal-entries", "/periods",
             "/activities/{activity_id}", "/reports/follow-ups"):
    EXPECTED[("GET", path)] = ALL
EXPECTED[("GET", "/customers/{customer_id}/credit")] = ALL


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return sorted((method.upper(), path) for path, operations in spec["paths"].items()
                  for method in operations)


def _url(path: str) -> str:
    for name in ("lead_id", "opportunity_id", "order_id", "entry_id", "customer_id",
                 "aggregate_id", "activity_id"):
        path = path.replace("{" + name + "}", "00000000-0000-4000-8000-000000000000")
    return path.replace("{sku}", "NO-SUCH-SKU").replace("{code}", "9999")


def test_every_route_is_classified(client: TestClient) -> None:
    assert set(_routes(client)) == set(EXPECTED)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_role_matrix(client: TestClient, tokens: dict[str, dict[str, str]],
                     api_app: O2C) -> None:
    revoked = auth.create_token(api_app.db, "admin", "gone")
    auth.revoke_token(api_app.db, revoked[4:20])
    admin = tokens["admin"]["Authorization"].removeprefix("Bearer ")
    forged = f"o2c_{admin[4:20]}_{revoked[21:]}"  # a real admin's id, another's secret
    problems = []
    for method, path in _routes(client):
        url = _url(path)
        anonymous = client.request(method, url, json={})
        if (anonymous.status_code != 401 or anonymous.json()["error"] != "unauthorized"
                or anonymous.headers.get("WWW-Authenticate") != "Bearer"):
            problems.append(f"{method} {path} without a token: {anonymous.status_code}")
        for wrong in ("Bearer nope", "Basic YWRtaW46YWRtaW4=", "Bearer", "nope",
                      f"Bearer {revoked}", f"Bearer {forged}"):
            bad = client.request(method, url, json={}, headers={"Authorization": wrong})
            if bad.status_code != 401:
                problems.append(f"{method} {path} with {wrong!r}: {bad.status_code}")
        for role in sorted(ALL):
            status = client.request(method, url, json={}, headers=tokens[role]).status_code
            allowed = role in EXPECTED[(method, path)]
            if allowed and status in (401, 403):
                problems.append(f"{method} {path} refused {role} ({status})")
            if not allowed and status != 403:
                problems.append(f"{method} {path} let {role} through ({status})")
    assert problems == []
