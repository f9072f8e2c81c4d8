"""Receipts and counts take an effective date: the business date by default, never a later
one, never one in a closed period; back-dated, they land in as-of reports like back-dated
journal entries. A new stock item's value is written with the currency's places."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from o2c.application import O2C

TODAY = datetime.now(UTC).date()


def _entry_dates(client: TestClient, admin: dict[str, str], sku: str, after: int) -> list[str]:
    listed = client.get("/journal-entries", headers=admin, params={"limit": 100,
                                                                    "after": after})
    assert listed.status_code == 200, listed.text
    return sorted(e["date"] for e in listed.json()["items"] if sku in e["memo"])


def test_receipt_and_count_are_dated_when_they_happened(
        client: TestClient, tokens: dict[str, dict[str, str]], api_app: O2C) -> None:
    admin = tokens["admin"]
    assert client.post("/stock-items", headers=admin,
                       json={"sku": "D-1", "name": "Dated"}).status_code == 201
    fresh = client.get("/stock-items/D-1", headers=admin).json()
    assert fresh["value"] == "0.00"
    ten_days_ago = TODAY - timedelta(days=10)
    received = client.post("/stock-items/D-1/receipts", headers=admin, json={
        "quantity": "10", "unit_cost": "2.50", "date": ten_days_ago.isoformat()})
    assert received.status_code == 201, received.text
    counted = client.post("/stock-items/D-1/adjustments", headers=admin, json={
        "counted_quantity": "9", "reason": "cycle count",
        "date": (TODAY - timedelta(days=3)).isoformat()})
    assert counted.status_code == 200, counted.text
    assert client.post("/stock-items/D-1/receipts", headers=admin,
                       json={"quantity": "1", "unit_cost": "2.50"}).status_code == 201
    assert _entry_dates(client, admin, "D-1", api_app.db.head()) == [
        ten_days_ago.isoformat(), (TODAY - timedelta(days=3)).isoformat(), TODAY.isoformat()]

    def inventory_as_of(day: object) -> str:
        tb = client.get("/reports/trial-balance", headers=admin,
                        params={"as_of": str(day), "after": api_app.db.head()}).json()
        return next(a["balance"] for a in tb["accounts"] if a["code"] == "1200")

    assert inventory_as_of(ten_days_ago - timedelta(days=1)) == "0.00"
    assert inventory_as_of(ten_days_ago) == "25.00"
    assert inventory_as_of(TODAY - timedelta(days=3)) == "22.50"
    assert inventory_as_of(TODAY) == "25.00"


def test_a_future_or_closed_date_is_refused_and_records_nothing(
        client: TestClient, tokens: dict[str, dict[str, str]], api_app: O2C) -> None:
    admin = tokens["admin"]
    assert client.post("/stock-items", headers=admin,
                       json={"sku": "D-2", "name": "Dated"}).status_code == 201
    closed = client.post("/periods/close", headers=admin,
                         json={"through": (TODAY - timedelta(days=5)).isoformat()})
    assert closed.status_code in (200, 201), closed.text
    head = api_app.db.head()
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    for path, body, status, code in [
            ("receipts", {"quantity": "1", "unit_cost": "1.00", "date": tomorrow},
             422, "invalid_input"),
            ("adjustments", {"counted_quantity": "0", "reason": "x", "date": tomorrow},
             422, "invalid_input"),
            ("receipts", {"quantity": "1", "unit_cost": "1.00",
                          "date": (TODAY - timedelta(days=5)).isoformat()},
             409, "period_closed"),
            ("receipts", {"quantity": "1", "unit_cost": "1.00", "date": "2026-02-30"},
             422, "invalid_input")]:
        refused = client.post(f"/stock-items/D-2/{path}", headers=admin, json=body)
        assert (refused.status_code, refused.json()["error"]) == (status, code), refused.text
        assert api_app.db.head() == head
    answer = client.post("/stock-items/D-2/receipts", headers=admin, json={
        "quantity": "1", "unit_cost": "1.00",
        "date": (TODAY - timedelta(days=4)).isoformat()})
    assert answer.status_code == 201, answer.text


def test_a_document_worth_nothing_is_refused_in_a_closed_period_too(
        client: TestClient, tokens: dict[str, dict[str, str]], api_app: O2C) -> None:
    """Goods at no cost, and a count of goods that cost nothing, post no entry; they are still
    documents of their day, and a closed day takes none (found by the state machine)."""
    admin = tokens["admin"]
    assert client.post("/stock-items", headers=admin,
                       json={"sku": "D-3", "name": "Free"}).status_code == 201
    free = client.post("/stock-items/D-3/receipts", headers=admin,
                       json={"quantity": "5", "unit_cost": "0"})
    assert (free.status_code, free.json()["value"]) == (201, "0.00")
    closed_day = (TODAY - timedelta(days=5)).isoformat()
    assert client.post("/periods/close", headers=admin,
                       json={"through": closed_day}).status_code == 200
    head = api_app.db.head()
    for path, body in [("receipts", {"quantity": "5", "unit_cost": "0", "date": closed_day}),
                       ("adjustments", {"counted_quantity": "3", "reason": "two gone",
                                        "date": closed_day})]:
        refused = client.post(f"/stock-items/D-3/{path}", headers=admin, json=body)
        assert (refused.status_code, refused.json()["error"]) == (409, "period_closed"), path
        assert api_app.db.head() == head
    counted = client.post("/stock-items/D-3/adjustments", headers=admin,
                          json={"counted_quantity": "3", "reason": "two gone"})
    assert (counted.status_code, counted.json()["value"]) == (200, "0.00")
