"""Idempotency keys, If-Match, and bad input that records nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from o2c.application import O2C
from o2c.bootstrap import build_app
from o2c.persistence.audit_rows import META_TABLE


def _log_rows(app: O2C) -> tuple[int, int]:
    """Rows in the events table and in its audit records."""
    with app.db.transaction(write=False) as cur:
        events = cur.execute(f"SELECT COUNT(*) FROM {app.db.events_table}").fetchone()
        metas = cur.execute(f"SELECT COUNT(*) FROM {app.db.table(META_TABLE)}").fetchone()
    assert events is not None
    assert metas is not None
    return int(events[0]), int(metas[0])


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
    rows = _log_rows(api_app)
    first = client.post("/stock-items/S-1/receipts", headers=headers, json=body)
    recorded = _log_rows(api_app)
    assert recorded == (rows[0] + 2, rows[1] + 2)  # the receipt and its journal entry
    head = api_app.db.head()
    again = client.post("/stock-items/S-1/receipts", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert _log_rows(api_app) == recorded  # nothing recorded the second time
    assert api_app.stock_item("S-1").on_hand == 15
    other = client.post("/stock-items/S-1/receipts", headers=headers,
                        json={"quantity": "6", "unit_cost": "2.50"})
    assert (other.status_code, other.json()["error"]) == (422, "idempotency_key_reused")
    elsewhere = client.post("/stock-items/S-1/adjustments", headers=headers,
                            json={"counted_quantity": "1", "reason": "count"})
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (422, "idempotency_key_reused")
    assert _log_rows(api_app) == recorded
    assert api_app.db.head() == head
    for bad_key in ("", "x" * 201, "tab\there"):
        refused = client.post("/stock-items/S-1/receipts", json=body,
                              headers={**stocked, "Idempotency-Key": bad_key})
        assert refused.status_code == 422, bad_key
    assert _log_rows(api_app) == recorded


def test_key_survives_a_new_server(client: TestClient, stocked: dict[str, str],
                                   api_app: O2C) -> None:
    from o2c.api import create_app

    headers = {**stocked, "Idempotency-Key": "k-restart"}
    body = {"quantity": "1", "unit_cost": "2.00"}
    first = client.post("/stock-items/S-1/receipts", headers=headers, json=body).json()
    other_app = build_app(api_app.settings)
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
    etag = client.get("/stock-items/S-1", headers=stocked).headers["ETag"]
    assert etag == f'"{version}"'
    fresh = client.post("/stock-items/S-1/receipts", headers={**stocked, "If-Match": etag},
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
    # Exponents the domain's arithmetic would underflow or overflow on.
    {"quantity": "1E-1000000000", "unit_cost": "2.00"},
    {"quantity": "1", "unit_cost": "0.5e-1000030"},
    {"quantity": "1E+999999999999", "unit_cost": "2.00"},
    {"quantity": "1", "unit_cost": "-1e999999999"},
    {"quantity": 1e-400, "unit_cost": "2.00"},  # a JSON number that is 0.0 as a float
    {"quantity": ["1"], "unit_cost": "2.00"},
    {"quantity": {"value": "1"}, "unit_cost": "2.00"},
]


BAD_BODIES = [
    (b'{"quantity": 1e400, "unit_cost": "2.00"}', "application/json"),
    (b'{"quantity": NaN, "unit_cost": "2.00"}', "application/json"),
    (b'{"quantity": "1", "unit_cost":', "application/json"),
    (b"quantity=1&unit_cost=2", "application/x-www-form-urlencoded"),
    (b"quantity 1", "text/plain"),
    (b"", "application/json"),
    (b"\xff\xfe{}", "application/json"),
]

MALFORMED = [
    ("/sales-orders", {"customer_id": "c", "lines": ["S-1"]}),
    ("/sales-orders", {"customer_id": "c", "lines": [None]}),
    ("/sales-orders", {"customer_id": "c", "lines": []}),
    ("/sales-orders", {"customer_id": "c", "lines": "S-1"}),
    ("/journal-entries", {"memo": "m", "lines": [1000, None]}),
    ("/journal-entries", {"memo": "m", "date": "2026-01-01T10:00:00", "lines": [
        {"account": "1000", "debit": "1.00"}, {"account": "3000", "credit": "1.00"}]}),
    ("/journal-entries", {"memo": "m", "date": 20260101, "lines": [
        {"account": "1000", "debit": "1.00"}, {"account": "3000", "credit": "1.00"}]}),
    ("/opportunities/00000000-0000-4000-8000-000000000000/stage", {"stage": ["proposal"]}),
    ("/opportunities/00000000-0000-4000-8000-000000000000/stage", {"stage": {"a": 1}}),
    ("/sales-orders/00000000-0000-4000-8000-000000000000/payments",
     {"amount": "1E-1000000000"}),
    ("/sales-orders/00000000-0000-4000-8000-000000000000/shipments",
     {"lines": [{"sku": "S-1", "quantity": "1", "unit_price": "1.00"}]}),
    ("/leads", {"name": "a", "company": "b", "email": "a@b.example", "source": 7}),
    ("/leads", {"name": " ", "company": "b", "email": "a@b.example", "source": "s"}),
    ("/leads", ["name", "company"]),
    ("/leads", "lead"),
]


def test_bad_input_is_422_with_a_reason_and_records_nothing(
        client: TestClient, stocked: dict[str, str], api_app: O2C) -> None:
    # One test (not one per case) so each store is set up once; every case is reported.
    rows = _log_rows(api_app)
    problems = []

    def check(what: str, response: Response) -> None:
        body = response.json()
        if response.status_code != 422 or set(body) != {"error", "detail"} \
                or not body["detail"]:
            problems.append(f"{what}: {response.status_code} {response.text[:200]}")

    for body in BAD_RECEIPTS:
        check(f"receipt {body!r}",
              client.post("/stock-items/S-1/receipts", headers=stocked, json=body))
    for content, content_type in BAD_BODIES:
        check(f"body {content!r} as {content_type}", client.post(
            "/stock-items/S-1/receipts", content=content,
            headers={**stocked, "Content-Type": content_type}))
    for path, malformed in MALFORMED:
        check(f"{path} {malformed!r}", client.post(path, headers=stocked, json=malformed))
    assert problems == []
    assert _log_rows(api_app) == rows


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
    assert "lines" in many.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is only seen streaming
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 50_000
        yield b'", "company": "c", "email": "a@b.example", "source": "s"}'

    streamed = client.post("/leads", headers={**stocked, "Content-Type": "application/json"},
                           content=chunks())
    assert (streamed.status_code, streamed.json()["error"]) == (413, "payload_too_large")
    declared = client.post("/leads", content=b"{}", headers={
        **stocked, "Content-Type": "application/json", "Content-Length": "5000000"})
    assert declared.status_code == 413
    long_id = client.post(f"/sales-orders/{'x' * 5000}/confirm", headers=stocked)
    assert long_id.status_code == 422
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


def test_bad_report_queries(client: TestClient, stocked: dict[str, str]) -> None:
    for query in ("known_at=9999-12-31T23:59:59-05:00",  # year 10000 in UTC
                  "known_at=2026-02-30T00:00:00Z", "known_at=yesterday", "as_of=2026-13-01",
                  "as_of=20260101", "after=-1", "after=1e3"):
        response = client.get(f"/reports/trial-balance?{query}", headers=stocked)
        assert response.status_code == 422, (query, response.text)
        assert response.json()["error"] == "invalid_input"


def test_a_position_past_the_head_does_not_wait(client: TestClient, stocked: dict[str, str],
                                                api_app: O2C) -> None:
    started = time.monotonic()
    report = client.get("/reports/inventory?after=999999999", headers=stocked)
    assert report.status_code == 200
    assert time.monotonic() - started < 1.5
    assert report.json()["position"] == api_app.db.head()
