"""Two server processes on one database behave as one; a server keeps its read models current."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from o2c.api import create_app
from o2c.application import O2C
from o2c.auth import create_token
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.persistence.audit_rows import META_TABLE


@pytest.fixture
def second(api_app: O2C) -> Iterator[TestClient]:
    """Another server on the same database, with its own application, caches and projector."""
    other = build_app(api_app.settings)
    try:
        with TestClient(create_app(other.settings, app=other)) as test_client:
            yield test_client
    finally:
        other.close()


def _events(app: O2C) -> int:
    with app.db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT COUNT(*) FROM {app.db.table(META_TABLE)}").fetchone()
    assert row is not None
    return int(row[0])


def test_two_servers_behave_as_one(client: TestClient, second: TestClient,
                                   api_app: O2C) -> None:
    # A token made by one process (the CLI, say) is known to every server.
    warehouse = {"Authorization": f"Bearer {create_token(api_app.db, 'warehouse', 'Wes')}"}
    assert client.post("/stock-items", headers=warehouse,
                       json={"sku": "S-1", "name": "Sensor"}).status_code == 201
    assert second.get("/stock-items/S-1", headers=warehouse).json()["version"] == 1

    # An Idempotency-Key used on one server is honoured by the other.
    keyed = {**warehouse, "Idempotency-Key": "receipt-1"}
    body = {"quantity": "10", "unit_cost": "2.00"}
    first = client.post("/stock-items/S-1/receipts", headers=keyed, json=body)
    assert first.status_code == 201
    count = _events(api_app)
    again = second.post("/stock-items/S-1/receipts", headers=keyed, json=body)
    assert (again.status_code, again.json()) == (201, first.json())
    assert _events(api_app) == count
    other_body = second.post("/stock-items/S-1/receipts", headers=keyed,
                             json={"quantity": "11", "unit_cost": "2.00"})
    assert other_body.status_code == 422

    # If-Match sees the other server's writes: a version read on one is stale after
    # the other writes.
    seen = client.get("/stock-items/S-1", headers=warehouse).json()["version"]
    assert second.post("/stock-items/S-1/receipts", headers={**warehouse, "If-Match": str(seen)},
                       json={"quantity": "5", "unit_cost": "3.00"}).status_code == 201
    stale = client.post("/stock-items/S-1/receipts", headers={**warehouse, "If-Match": str(seen)},
                        json={"quantity": "5", "unit_cost": "3.00"})
    assert (stale.status_code, stale.json()["error"]) == (412, "version_mismatch")
    assert client.get("/stock-items/S-1", headers=warehouse).json()["on_hand"] == "15"

    # Read your writes through the other server.
    latest = client.post("/stock-items/S-1/adjustments", headers=warehouse,
                         json={"counted_quantity": "14", "reason": "count"})
    report = second.get(f"/reports/inventory?after={latest.json()['position']}",
                        headers=warehouse).json()
    assert report["position"] >= latest.json()["position"]
    assert report["items"][0]["on_hand"] == "14"


def test_the_server_keeps_read_models_current(api_app: O2C) -> None:
    """Without a worker and without ``?after``, the server's own projector catches up."""
    live = build_app(api_app.settings.model_copy(update={"server_projector": True}))
    admin = {"Authorization": f"Bearer {live.settings.bootstrap_token}"}
    try:
        with TestClient(create_app(live.settings, app=live)) as server:
            server.post("/stock-items", headers=admin, json={"sku": "S-2", "name": "Gateway"})
            receipt = server.post("/stock-items/S-2/receipts", headers=admin,
                                  json={"quantity": "3", "unit_cost": "100.00"}).json()
            deadline = time.monotonic() + 5
            while True:
                report = server.get("/reports/inventory", headers=admin).json()
                if report["position"] >= receipt["position"] or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert report["position"] >= receipt["position"]
            assert report["items"] == [{"sku": "S-2", "name": "Gateway", "on_hand": "3",
                                        "reserved": "0", "available": "3", "value": "300.00"}]
    finally:
        live.close()


def test_the_factory_reads_the_environment(settings: Settings,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """``o2c serve`` runs ``create_app()`` with no arguments: settings come from O2C_*."""
    monkeypatch.setenv("O2C_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("O2C_BOOTSTRAP_TOKEN", "from-the-environment")
    monkeypatch.setenv("O2C_SERVER_PROJECTOR", "false")
    api = create_app()
    with TestClient(api) as server:
        admin = {"Authorization": "Bearer from-the-environment"}
        created = server.post("/stock-items", headers=admin, json={"sku": "E-1", "name": "Env"})
        assert created.status_code == 201
        assert server.get("/stock-items/E-1", headers={
            "Authorization": "Bearer test-bootstrap-token"}).status_code == 401
    assert api.state.o2c.closing.is_set()  # the server built it, so the server closed it


def test_one_key_sent_at_once_to_two_servers_records_once(
        client: TestClient, second: TestClient, api_app: O2C,
        tokens: dict[str, dict[str, str]]) -> None:
    admin = tokens["bootstrap"]
    client.post("/stock-items", headers=admin, json={"sku": "S-3", "name": "Relay"})
    count = _events(api_app)
    keyed = {**admin, "Idempotency-Key": "burst-1"}
    body = {"quantity": "4", "unit_cost": "1.25"}
    barrier = threading.Barrier(8)

    def send(server: TestClient) -> tuple[int, dict[str, object]]:
        barrier.wait()
        response = server.post("/stock-items/S-3/receipts", headers=keyed, json=body)
        return response.status_code, response.json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, [client, second] * 4))
    assert {status for status, _ in answers} == {201}
    assert len({str(answer) for _, answer in answers}) == 1
    assert _events(api_app) == count + 2  # one receipt and its journal entry
    assert api_app.stock_item("S-3").on_hand == 4
