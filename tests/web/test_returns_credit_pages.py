"""The returns and credit pages server-side (FastAPI's TestClient): the API's clients
still get JSON at the addresses the pages share; a release form naming another
customer's order is refused and records nothing; a forged post without the role is
refused with 403."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from web_support import BOOTSTRAP, csrf_of

from o2c.api import create_app
from o2c.application import O2C, Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.persistence import log
from o2c.projections import Projector, lists


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[O2C]:
    """Two customers with a placed order each (replaces the demo store: faster)."""
    path = tmp_path_factory.mktemp("pages") / "o2c.sqlite"
    app = build_app(Settings(database_url=f"sqlite:///{path}", currency="USD",
                             bootstrap_token=BOOTSTRAP, server_projector=False))
    ctx = Context(actor="setup")
    app.register_stock_item(ctx, "PG-1", "Page sensor")
    app.receive_stock(ctx, "PG-1", "10", "5.00")
    for name in ("Alpha", "Beta"):
        customer = app.register_customer(ctx, name, f"ap@{name.lower()}.example",
                                         credit_limit="10.00").id
        app.place_sales_order(ctx, customer, [
            {"sku": "PG-1", "quantity": "1", "unit_price": "50.00"}])
    try:
        yield app
    finally:
        app.close()


def _ids(app: O2C) -> list[tuple[str, str]]:
    Projector(app.db, app.settings).catch_up()
    page = lists.sales_orders(app.db, app.places, sort="oldest")
    return [(item.id, item.customer_id) for item in page.items]


def test_the_api_keeps_its_json_at_the_shared_addresses(seeded: O2C) -> None:
    [(order, customer), _] = _ids(seeded)
    with TestClient(create_app(seeded.settings, app=seeded)) as api:
        auth = {"Authorization": f"Bearer {BOOTSTRAP}"}
        returns = api.get(f"/sales-orders/{order}/returns", headers=auth)
        assert returns.headers["content-type"].startswith("application/json")
        assert returns.json()["lines"][0]["returnable"] == "0"
        credit = api.get(f"/customers/{customer}/credit", headers=auth)
        assert credit.json()["credit_limit"] == "10.00"
        assert api.get(f"/customers/{customer}/credit").status_code == 401


def test_release_of_another_customers_order_is_refused(
        seeded: O2C, browser_as: Callable[[str], TestClient]) -> None:
    [(_, alpha), (beta_order, _)] = _ids(seeded)
    finance = browser_as("finance")
    page = finance.get(f"/customers/{alpha}/credit")
    assert page.status_code == 200
    assert "Release order" in page.text
    head = log.head(seeded.db)
    answer = finance.post(f"/customers/{alpha}/credit/release", data={
        "csrf": csrf_of(page.text), "key": "other", "order_id": beta_order,
        "reason": "wrong customer"})
    assert answer.status_code == 422
    assert "is not this customer&#39;s" in answer.text
    assert log.head(seeded.db) == head

    sales = browser_as("sales")
    page = sales.get(f"/customers/{alpha}/credit")
    assert "Release order" not in page.text
    answer = sales.post(f"/customers/{alpha}/credit/release", data={
        "csrf": csrf_of(page.text), "key": "forged", "order_id": beta_order,
        "reason": "forged"})
    assert answer.status_code == 403
    assert log.head(seeded.db) == head
