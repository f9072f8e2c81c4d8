"""Returns over HTTP (issue 13, part 3): POST /sales-orders/{id}/returns and its answer,
the refusals (409 over_return / not_invoiced, 422 bad lines) recording nothing,
idempotency, If-Match, and the read models (inventory, AR aging, order status) after a
return -- on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from o2c.application import O2C
from support.books import Books

Headers = dict[str, dict[str, str]]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _shipped_and_invoiced(client: TestClient, tokens: Headers) -> tuple[str, str]:
    sales, warehouse, finance = tokens["sales"], tokens["warehouse"], tokens["finance"]
    _ok(client.post("/stock-items", headers=warehouse, json={"sku": "RET-1", "name": "R"}), 201)
    _ok(client.post("/stock-items/RET-1/receipts", headers=warehouse,
                    json={"quantity": "100", "unit_cost": "4.00"}), 201)
    customer = _ok(client.post("/customers", headers=sales, json={
        "name": "Back Ltd", "email": "ap@back.example"}), 201)["id"]
    order = _ok(client.post("/sales-orders", headers=sales, json={
        "customer_id": customer,
        "lines": [{"sku": "RET-1", "quantity": "10", "unit_price": "100.00"}]}), 201)["id"]
    _ok(client.post(f"/sales-orders/{order}/confirm", headers=sales))
    _ok(client.post(f"/sales-orders/{order}/shipments", headers=warehouse,
                    json={"lines": [{"sku": "RET-1", "quantity": "6"}]}), 201)
    _ok(client.post(f"/sales-orders/{order}/invoices", headers=finance), 201)  # 648.00
    _ok(client.post(f"/sales-orders/{order}/shipments", headers=warehouse,
                    json={"lines": [{"sku": "RET-1", "quantity": "2"}]}), 201)
    return customer, order


def test_a_return_over_http_restocks_credits_and_leaves_credit(
        client: TestClient, tokens: Headers, api_app: O2C) -> None:
    customer, order = _shipped_and_invoiced(client, tokens)
    warehouse, finance = tokens["warehouse"], tokens["finance"]
    _ok(client.post(f"/sales-orders/{order}/payments", headers=finance,
                    json={"amount": "600.00"}), 201)  # 48.00 open
    head = api_app.db.head()
    for lines, status, code in (
            ([{"sku": "RET-1", "quantity": "9"}], 409, "over_return"),
            ([{"sku": "RET-1", "quantity": "7"}], 409, "not_invoiced"),
            ([{"sku": "RET-1", "quantity": "1", "damaged": "yes"}], 422, None),
            ([{"sku": "RET-1", "quantity": "0"}], 422, None),
            ([], 422, None)):
        refused = client.post(f"/sales-orders/{order}/returns", headers=warehouse,
                              json={"lines": lines})
        assert refused.status_code == status, (lines, refused.text)
        if code:
            assert refused.json()["error"] == code
    stale = client.post(f"/sales-orders/{order}/returns",
                        headers={**warehouse, "If-Match": "1"},
                        json={"lines": [{"sku": "RET-1", "quantity": "1"}]})
    assert stale.status_code == 412
    assert client.post(f"/sales-orders/{order}/returns", headers=tokens["sales"],
                       json={"lines": [{"sku": "RET-1", "quantity": "1"}]}).status_code == 403
    assert api_app.db.head() == head, "a refused return recorded something"

    body = {"lines": [{"sku": "RET-1", "quantity": "2"},
                      {"sku": "RET-1".lower(), "quantity": "1"}]}
    assert client.post(f"/sales-orders/{order}/returns", headers=warehouse,
                       json=body).status_code == 422  # one SKU twice
    keyed = {**warehouse, "Idempotency-Key": "return-1"}
    body = {"lines": [{"sku": "RET-1", "quantity": "2", "damaged": True}], "reason": "Broken"}
    done = _ok(client.post(f"/sales-orders/{order}/returns", headers=keyed, json=body), 201)
    assert done["credit_note_number"].startswith("CN-")
    assert (done["damaged_cost"], done["restocked_cost"], done["total"], done["applied"],
            done["unapplied"], done["customer_credit"]) == (
        "8.00", "0.00", "216.00", "48.00", "168.00", "168.00")
    again = _ok(client.post(f"/sales-orders/{order}/returns", headers=keyed, json=body), 201)
    assert again == done
    done = _ok(client.post(f"/sales-orders/{order}/returns", headers=finance, json={
        "lines": [{"sku": "RET-1", "quantity": "1"}]}), 201)
    assert (done["restocked_cost"], done["total"], done["unapplied"]) == (
        "4.00", "108.00", "108.00")

    view = _ok(client.get(f"/sales-orders/{order}/returns", headers=tokens["auditor"]))
    assert view["lines"] == [{"sku": "RET-1", "shipped": "8", "invoiced": "6",
                              "returned": "3", "returnable": "3"}]
    assert [r["return_no"] for r in view["returns"]] == [1, 2]
    assert view["returns"][0]["lines"][0]["damaged"] is True
    position = api_app.db.head()
    inventory = _ok(client.get(f"/reports/inventory?after={position}", headers=finance))
    item = next(i for i in inventory["items"] if i["sku"] == "RET-1")
    assert (item["on_hand"], item["value"]) == ("93", "372.00")  # 100 - 8 + 1 at 4.00
    aging = _ok(client.get(f"/reports/ar-aging?after={position}", headers=finance))
    assert aging["total_open"] == "0.00"
    assert aging["unapplied_credit"] == "276.00"
    tb = {a["code"]: a["balance"] for a in _ok(client.get(
        f"/reports/trial-balance?after={position}", headers=finance))["accounts"]}
    assert tb["1100"] == "-276.00"
    assert tb["5100"] == "8.00"
    order_view = _ok(client.get(f"/sales-orders/{order}", headers=finance))
    assert order_view["open_balance"] == "0.00"
    refund = client.post(f"/customers/{customer}/refunds", headers=finance,
                         json={"amount": "276.00"})
    assert refund.status_code == 201, refund.text
    Books(api_app).check()
    Books(api_app).check_read_models()
