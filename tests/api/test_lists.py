"""The API's collections (``GET /customers``, ``/leads``... ``?limit=&cursor=&q=&status=``)
and ``/docs``/``/redoc`` served with no network."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from o2c.api.routes import docs
from o2c.application import O2C, Context
from o2c.auth import ROLES

CTX = Context(actor="api-lists-test")
COLLECTIONS = ("/customers", "/leads", "/opportunities", "/sales-orders", "/invoices",
               "/stock-items", "/journal-entries")
ROOT = Path(__file__).resolve().parents[2]


def _business(app: O2C) -> int:
    """A lead converted and won, its order shipped, invoiced and part paid; the head."""
    app.register_stock_item(CTX, "NT-SENSOR-100", "Sensor")
    app.receive_stock(CTX, "NT-SENSOR-100", "100", "42.00")
    lead = app.capture_lead(CTX, "Dana Whitfield", "Apex Robotics", "dana@apex.example", "web")
    app.capture_lead(CTX, "Sam Ortiz", "Borealis", "sam@borealis.example", "referral")
    converted = app.convert_lead(CTX, lead.id, {"title": "Apex pilot", "amount": "12000.00",
                                                "expected_close_date": "2026-03-31"})
    won = app.win_opportunity(CTX, converted.extra["opportunity_id"], [
        {"sku": "NT-SENSOR-100", "quantity": "10", "unit_price": "89.00"}])
    order = won.extra["order_id"]
    app.confirm_order(CTX, order)
    app.ship_order(CTX, order, [{"sku": "NT-SENSOR-100", "quantity": "10"}])
    app.invoice_order(CTX, order)
    app.pay_order(CTX, order, "100.00")
    app.post_journal_entry(CTX, "Owner tops up the till", [
        {"account": "1000", "debit": "25.00"}, {"account": "3000", "credit": "25.00"}])
    return app.db.head()


def _pages(client: TestClient, path: str, headers: dict[str, str], limit: int,
           **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        answer = client.get(path, headers=headers, params={
            "limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"items", "next_cursor", "position"}
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursors never ended")


def test_every_collection_pages_for_every_role(api_app: O2C, client: TestClient,
                                              tokens: dict[str, dict[str, str]]) -> None:
    head = _business(api_app)
    for path in COLLECTIONS:
        assert client.get(path).status_code == 401, path
        for role in ROLES:
            answer = client.get(path, headers=tokens[role], params={"after": head})
            assert answer.status_code == 200, (path, role, answer.text)
            assert answer.json()["position"] == head
            assert answer.json()["items"], path
        whole = _pages(client, path, tokens["auditor"], 200)
        assert _pages(client, path, tokens["auditor"], 1) == whole, path

    [order] = client.get("/sales-orders", headers=tokens["sales"]).json()["items"]
    assert (order["status"], order["net"], order["paid"], order["customer_name"]) == (
        "invoiced", "890.00", "100.00", "Apex Robotics")
    [invoice] = client.get("/invoices", headers=tokens["finance"],
                           params={"status": "open"}).json()["items"]
    assert Decimal(invoice["open"]) == Decimal(invoice["total"]) - Decimal("100.00")
    assert invoice["order_number"] == order["number"]
    [item] = client.get("/stock-items", headers=tokens["warehouse"],
                        params={"q": "sensor"}).json()["items"]
    assert (item["on_hand"], item["available"], item["value"]) == ("90", "90", "3780.00")
    leads = client.get("/leads", headers=tokens["sales"], params={"status": "converted"})
    assert [lead["name"] for lead in leads.json()["items"]] == ["Dana Whitfield"]
    deals = client.get("/opportunities", headers=tokens["sales"],
                       params={"status": "won", "customer_id": order["customer_id"]})
    assert [d["title"] for d in deals.json()["items"]] == ["Apex pilot"]
    entries = client.get("/journal-entries", headers=tokens["finance"],
                         params={"q": "till"}).json()["items"]
    assert [(e["memo"], e["total"], e["manual"]) for e in entries] == [
        ("Owner tops up the till", "25.00", True)]


def test_a_page_after_a_command_shows_it(client: TestClient,
                                         tokens: dict[str, dict[str, str]]) -> None:
    created = client.post("/customers", headers=tokens["sales"],
                          json={"name": "Nimbus Data", "email": "ap@nimbus.example",
                                "credit_limit": "50000.00"})
    assert created.status_code == 201, created.text
    answer = client.get("/customers", headers=tokens["sales"],
                        params={"after": created.json()["position"], "q": "NIMBUS"})
    assert answer.status_code == 200
    [customer] = answer.json()["items"]
    assert (customer["id"], customer["credit_limit"]) == (created.json()["id"], "50000.00")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # refused before reading
@pytest.mark.parametrize(("path", "params", "detail"), [
    ("/customers", {"limit": 0}, "limit"), ("/leads", {"limit": 201}, "limit"),
    ("/leads", {"limit": "ten"}, "limit"), ("/leads", {"status": "nosuch"}, "status"),
    ("/customers", {"status": "open"}, "status"), ("/invoices", {"sort": "name"}, "sort"),
    ("/sales-orders", {"cursor": "not-a-cursor"}, "cursor"),
    ("/stock-items", {"q": "x" * 101}, "q"), ("/journal-entries", {"q": "a\x01b"}, "q"),
    ("/opportunities", {"after": -1}, "after")])
def test_bad_list_parameters_are_refused(client: TestClient, tokens: dict[str, dict[str, str]],
                                         path: str, params: dict[str, Any],
                                         detail: str) -> None:
    answer = client.get(path, headers=tokens["auditor"], params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_input"
    assert detail in answer.json()["detail"]


def test_a_cursor_from_another_list_is_refused(api_app: O2C, client: TestClient,
                                               tokens: dict[str, dict[str, str]]) -> None:
    head = _business(api_app)
    first = client.get("/leads", headers=tokens["sales"], params={"limit": 1, "after": head})
    cursor = first.json()["next_cursor"]
    assert cursor
    assert client.get("/leads", headers=tokens["sales"],
                      params={"cursor": cursor}).status_code == 200
    for path, params in (("/customers", {}), ("/leads", {"sort": "name"})):
        refused = client.get(path, headers=tokens["sales"], params={"cursor": cursor, **params})
        assert refused.status_code == 422, path


# /docs and /redoc, offline -----------------------------------------------------------------

_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_assets_served_from_the_package(client: TestClient,
                                                             page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    html = answer.text
    assert "http://" not in html
    assert "https://" not in html  # no CDN, no web fonts
    references = _REFERENCE.findall(html)
    assert len(references) >= 2, references  # the script, and the style sheet or icon
    for url in references:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        name = url.rsplit("/", 1)[-1]
        assert asset.content == docs.ASSETS[name][0].read_bytes()
        assert asset.headers["content-type"].split(";")[0] in {
            "text/javascript", "text/css", "image/png"}
    assert "/openapi.json" in html
    assert client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_only_the_listed_assets_are_served(client: TestClient) -> None:
    for name in ("LICENSE", "..%2F..%2F__init__.py", "swagger-ui.css.map", "nothing.js"):
        assert client.get(f"/docs/assets/{name}").status_code == 404, name
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/docs", "/redoc"} & set(paths)
    assert not [p for p in paths if p.startswith("/docs/")]


def test_pip_install_ships_the_vendored_files() -> None:
    """Every served asset and every licence beside it matches the package data that
    pyproject.toml declares (a wheel built from it was checked to hold them)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["package-data"]["o2c.api"]
    package = ROOT / "src" / "o2c" / "api"
    vendored = [p for p in (package / "static").rglob("*") if p.is_file()]
    assert {path for path, _ in docs.ASSETS.values()} <= set(vendored)
    assert {p.name for p in vendored} >= {"LICENSE", "NOTICE", "redoc.standalone.js.LICENSE.txt",
                                          "swagger-ui-bundle.js.LICENSE.txt"}
    for path in vendored:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in declared), relative


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_wrong_method_lists_every_method_of_the_path(client: TestClient) -> None:
    for path, methods in (("/leads", {"GET", "POST"}), ("/invoices", {"GET"}),
                          ("/journal-entries", {"GET", "POST"})):
        answer = client.request("PATCH", path)
        assert answer.status_code == 405, path
        assert set(answer.headers["Allow"].split(", ")) - {"HEAD"} == methods, path
