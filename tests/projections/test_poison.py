"""An event a read model cannot apply: it stays before it, loudly; the others go on.

The poison is written straight into the log through the application's save (past
the domain's limits, which now refuse it): the issue's order, whose line total
(10^24 cents) fits no 64-bit column of the order-status read model.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

import pytest

from o2c.application import O2C, Context
from o2c.domain.errors import ProjectionStuckError
from o2c.domain.sales_order import SalesOrder
from o2c.projections import Projector, reports
from o2c.projections import projector as following
from o2c.projections.inventory import Inventory
from o2c.projections.rebuild import rebuild

CTX = Context(actor="test")
D = Decimal


def _story(app: O2C) -> str:
    """A customer and some stock; the customer's id."""
    app.register_stock_item(CTX, "P-1", "Part one")
    app.receive_stock(CTX, "P-1", "100", "2.50")
    customer = app.register_customer(CTX, "Apex", "ap@apex.example")
    return str(customer.id)


def _poison(app: O2C, customer_id: str) -> int:
    """Records the issue's order without the domain's checks; its log position."""
    order = SalesOrder(customer_id=app.customer(customer_id).id, opportunity_id=None,
                       lines=[{"sku": "P-1", "quantity": D("1000000000000"),
                               "unit_price": D("1000000000000.00")}],
                       currency="USD", tax_rate=D("0.08"), payment_terms_days=30,
                       discount_percent=D("0"))
    app.save(order)
    return app.db.head()


def test_a_poison_event_stops_only_the_read_model_that_cannot_apply_it(
        app: O2C, caplog: pytest.LogCaptureFixture) -> None:
    projector = Projector(app.db, app.settings)
    customer = _story(app)
    projector.catch_up()
    poison = _poison(app, customer)
    app.receive_stock(CTX, "P-1", "5", "3.00")  # after the poison: other models move on
    app.place_sales_order(CTX, customer, [{"sku": "P-1", "quantity": "2", "unit_price": "9.00"}])
    head = app.db.head()

    with caplog.at_level(logging.INFO, "o2c.projections"), pytest.raises(
            ProjectionStuckError,
            match=rf"read model order_status is stuck at log position {poison} "
                  r"\(o2c\.domain\.sales_order:SalesOrder\.Placed\): \w+"):
        projector.catch_up()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, errors
    assert f"order_status is stuck at log position {poison}" in errors[0]

    health = projector.health()
    assert not health.ok
    assert [(s.name, s.position) for s in health.stuck] == [("order_status", poison)]
    assert health.positions["order_status"] < poison  # never past it: nothing skipped
    assert {n: p for n, p in health.positions.items() if n != "order_status"} == {
        n: head for n in projector.names() if n != "order_status"}
    assert health.position == health.positions["order_status"]
    assert health.lag == head - health.positions["order_status"]
    status = {row["name"]: row for row in projector.status()}
    assert str(status["order_status"]["stuck"]).startswith(
        f"read model order_status is stuck at log position {poison}")
    assert status["inventory"]["stuck"] == ""
    # The other read models are current: the receipt after the poison is counted.
    items = reports.inventory(app.db, app.places)["items"]
    assert [item["on_hand"] for item in items] == [D(105)]

    # Any process sees it (it is in the database), and trying again finds it again.
    other = Projector(app.db, app.settings)
    assert other.health().stuck == health.stuck
    with pytest.raises(ProjectionStuckError):
        other.catch_up()
    assert other.health().stuck == health.stuck  # same event, same time first seen
    started = time.monotonic()
    assert not other.wait_for(head, timeout=5.0)  # False at once: no waiting on it
    assert time.monotonic() - started < 2.0

    # A rebuild replays the log and stops at the same event, the same way.
    with pytest.raises(ProjectionStuckError, match=f"log position {poison}"):
        rebuild(projector)
    assert [(s.name, s.position) for s in projector.health().stuck] == [
        ("order_status", poison)]


def test_the_cli_report_says_so_in_one_line(app: O2C, database_url: str) -> None:
    customer = _story(app)
    poison = _poison(app, customer)
    with pytest.raises(ProjectionStuckError):
        Projector(app.db, app.settings).catch_up()
    env = {**os.environ, "O2C_DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-m", "o2c.cli", "report", "inventory"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("o2c: projection_stuck: read model order_status is stuck "
                               f"at log position {poison}")


def test_a_failure_that_does_not_recur_leaves_nothing_stuck(
        app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = Inventory._registered

    def flaky(self: Inventory, e: Any, rows: Any) -> None:
        calls.append(e.position)
        if len(calls) == 1:
            raise RuntimeError("a passing fault")
        real(self, e, rows)

    monkeypatch.setattr(Inventory, "_registered", flaky)
    projector = Projector(app.db, app.settings)
    _story(app)
    assert projector.catch_up() == app.db.head()
    assert projector.health().ok
    assert len(calls) == 2  # failed in the batch, applied when tried again
    assert [i["sku"] for i in reports.inventory(app.db, app.places)["items"]] == ["P-1"]


def test_a_stuck_read_model_moves_on_when_its_event_applies_again(
        app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
    failing = {"on": True}
    real = Inventory._registered

    def broken(self: Inventory, e: Any, rows: Any) -> None:
        if failing["on"]:
            raise KeyError("a handler bug")
        real(self, e, rows)

    monkeypatch.setattr(Inventory, "_registered", broken)
    monkeypatch.setattr(following, "RETRY_STUCK_SECONDS", 0.0)
    projector = Projector(app.db, app.settings)
    _story(app)
    with pytest.raises(ProjectionStuckError, match=r"inventory is stuck .* KeyError"):
        projector.catch_up()
    assert [s.name for s in projector.health().stuck] == ["inventory"]
    failing["on"] = False  # the fix
    assert projector.catch_up() == app.db.head()
    assert projector.health().ok
    assert projector.health().lag == 0
    with app.db.transaction(write=False) as cur:
        assert cur.execute(f"SELECT COUNT(*) FROM {app.db.table(following.FAULTS_TABLE)}"
                           ).fetchone() == (0,)
    assert [i["on_hand"] for i in reports.inventory(app.db, app.places)["items"]] == [D(100)]


def test_the_api_says_not_ready_and_answers_503_not_500(app: O2C) -> None:
    from fastapi.testclient import TestClient

    from o2c.api import create_app

    settings = app.settings.model_copy(update={"bootstrap_token": "poison-test-token",
                                               "server_projector": False})
    customer = _story(app)
    poison = _poison(app, customer)
    order = app.db.head()  # the poison order's own position is its only event
    headers = {"Authorization": "Bearer poison-test-token"}
    with TestClient(create_app(settings, app=app)) as client:
        with pytest.raises(ProjectionStuckError):
            client.app.state.projector.catch_up()  # type: ignore[attr-defined]
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert f"order_status is stuck at log position {poison}" in ready.json()["detail"]
        metrics = client.get("/metrics", headers=headers).text
        assert 'o2c_projector_stuck{read_model="order_status"} 1.0' in metrics
        assert 'o2c_projector_stuck{read_model="inventory"} 0.0' in metrics
        events = client.get(f"/audit/events?after={order - 1}&limit=1", headers=headers)
        order_id = events.json()["events"][0]["aggregate_id"]
        trail = client.get(f"/audit/trail/{order_id}", headers=headers)
        assert trail.status_code == 503, trail.text
        assert trail.json()["error"] == "projection_stuck"
        assert "Retry-After" in trail.headers
