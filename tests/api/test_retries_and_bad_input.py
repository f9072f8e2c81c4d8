"""Idempotency keys, If-Match, and bad input that records nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from o2c.application import O2C


@pytest.fixture
def stocked(client: TestClient, tokens: dict[str, dict[str, str]]) -> dict[str, str]:
    admin = tokens["bootstrap"]
    client.post("/stock-items", headers=admin, json={"sku": "S-1", "name": "Sensor"})
    client.post("/stock-items/S-1/receipts", headers=admin,
                json={"quantity": "10", "unit_cost": "2.00"})
    return admin


def test_same_key_records_once(client: TestClient, stocked: dict[str, str],
                               api_app: O2C) -> None:
    headers = {**stocked, "Idempotency-Key": "receipt-42"}
    body = {"quantity": "5", "unit_cost": "2.50"}
    first = client.post("/stock-items/S-1/receipts", headers=headers, json=body)
    head = api_app.db.head()
    again = client.post("/stock-items/S-1/receipts", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert api_app.db.head() == head  # nothing recorded the second time
    assert api_app.stock_item("S-1").on_hand == 15
    other = client.post("/stock-items/S-1/receipts", headers=headers,
                        json={"quantity": "6", "unit_cost": "2.50"})
    assert (other.status_code, other.json()["error"]) == (422, "idempotency_key_reused")
    assert api_app.db.head() == head


def test_key_survives_a_new_server(client: TestClient, stocked: dict[str, str],
                                   api_app: O2C) -> None:
    from o2c.api import create_app

    headers = {**stocked, "Idempotency-Key": "k-restart"}
    body = {"quantity": "1", "unit_cost": "2.00"}
    first = client.post("/stock-items/S-1/receipts", headers=headers, json=body).json()
    other_app = O2C(api_app.settings)
    try:
        with TestClient(create_app(api_app.settings, app=other_app)) as second:
            assert second.post("/stock-items/S-1/receipts", headers=headers,
                               json=body).json() == first
    finally:
        other_app.close()
    assert api_app.stock_item("S-1").on_hand == 11


def test_if_match(client: TestClient, stocked: dict[str, str], api_app: O2C) -> None:
    version = api_app.stock_item("S-1").version
    stale = client.post("/stock-items/S-1/receipts", headers={**stocked, "If-Match": "1"},
                        json={"quantity": "1", "unit_cost": "2.00"})
    assert (stale.status_code, stale.json()["error"]) == (412, "version_mismatch")
    fresh = client.post("/stock-items/S-1/receipts",
                        headers={**stocked, "If-Match": f'"{version}"'},
                        json={"quantity": "1", "unit_cost": "2.00"})
    assert fresh.status_code == 201
    assert fresh.json()["version"] == version + 1
    junk = client.post("/stock-items/S-1/receipts", headers={**stocked, "If-Match": "abc"},
                       json={"quantity": "1", "unit_cost": "2.00"})
    assert junk.status_code == 422


BAD_RECEIPTS = [
    {"quantity": "-1", "unit_cost": "2.00"},
    {"quantity": "0", "unit_cost": "2.00"},
    {"quantity": "1", "unit_cost": "2.001"},
    {"quantity": "1.0001", "unit_cost": "2.00"},
    {"quantity": "NaN", "unit_cost": "2.00"},
    {"quantity": "Infinity", "unit_cost": "2.00"},
    {"quantity": "1", "unit_cost": "-Infinity"},
    {"quantity": "1e400", "unit_cost": "2.00"},
    {"quantity": "1", "unit_cost": "2.00", "extra": "field"},
    {"quantity": "1"},
    {"quantity": "one", "unit_cost": "2.00"},
    {"quantity": True, "unit_cost": "2.00"},
]


@pytest.mark.parametrize("body", BAD_RECEIPTS, ids=[str(i) for i in range(len(BAD_RECEIPTS))])
def test_bad_receipts_are_422_and_record_nothing(client: TestClient, stocked: dict[str, str],
                                                 api_app: O2C, body: dict[str, object]) -> None:
    head = api_app.db.head()
    response = client.post("/stock-items/S-1/receipts", headers=stocked, json=body)
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"error", "detail"}
    assert response.json()["detail"]
    assert api_app.db.head() == head


@pytest.mark.parametrize(("content", "content_type"), [
    (b'{"quantity": 1e400, "unit_cost": "2.00"}', "application/json"),
    (b'{"quantity": NaN, "unit_cost": "2.00"}', "application/json"),
    (b'{"quantity": "1", "unit_cost":', "application/json"),
    (b"quantity=1&unit_cost=2", "application/x-www-form-urlencoded"),
    (b"quantity 1", "text/plain"),
    (b"", "application/json"),
])
def test_malformed_bodies(client: TestClient, stocked: dict[str, str], api_app: O2C,
                          content: bytes, content_type: str) -> None:
    head = api_app.db.head()
    response = client.post("/stock-items/S-1/receipts", content=content,
                           headers={**stocked, "Content-Type": content_type})
    assert response.status_code == 422, response.text
    assert api_app.db.head() == head


def test_oversized_input_is_refused(client: TestClient, stocked: dict[str, str],
                                    api_app: O2C) -> None:
    head = api_app.db.head()
    huge = client.post("/leads", headers=stocked, json={
        "name": "x" * 3_000_000, "company": "c", "email": "a@b.example", "source": "s"})
    assert huge.status_code == 413
    assert huge.json()["error"] == "payload_too_large"
    long_name = client.post("/leads", headers=stocked, json={
        "name": "x" * 5000, "company": "c", "email": "a@b.example", "source": "s"})
    assert long_name.status_code == 422
    lines = [{"sku": f"S-{i}", "quantity": "1", "unit_price": "1.00"} for i in range(10_000)]
    many = client.post("/sales-orders", headers=stocked,
                       json={"customer_id": "x", "lines": lines})
    assert many.status_code in (413, 422)
    assert api_app.db.head() == head


def test_unknown_references(client: TestClient, stocked: dict[str, str], api_app: O2C) -> None:
    head = api_app.db.head()
    customer = client.post("/customers", headers=stocked,
                           json={"name": "C", "email": "c@c.example"}).json()
    head = api_app.db.head()
    unknown_sku = client.post("/sales-orders", headers=stocked, json={
        "customer_id": customer["id"],
        "lines": [{"sku": "NOPE", "quantity": "1", "unit_price": "1.00"}]})
    assert (unknown_sku.status_code, unknown_sku.json()["error"]) == (422, "unknown_reference")
    unknown_account = client.post("/journal-entries", headers=stocked, json={
        "memo": "m", "lines": [{"account": "0000", "debit": "1.00"},
                               {"account": "1000", "credit": "1.00"}]})
    assert unknown_account.status_code == 422
    assert client.post("/stock-items/NOPE/receipts", headers=stocked,
                       json={"quantity": "1", "unit_cost": "1.00"}).status_code == 404
    assert api_app.db.head() == head
