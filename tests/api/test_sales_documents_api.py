"""Sales documents over HTTP (issue 12): dated documents, payments naming invoices,
customer credit and refunds, series numbers, AR aging with names and credit, and every
money figure of a report written with the currency's places."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

Headers = dict[str, dict[str, str]]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _money_fields(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (path, value) of a report that is money, by its field name."""
    names = ("amount", "weighted_amount", "total_value", "value", "total_open", "open",
             "paid", "total", "unapplied_credit", "net_receivable", "net", "debit",
             "credit", "balance")
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in names and isinstance(item, str):
                found.append((f"{path}.{key}", item))
            else:
                found += _money_fields(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _money_fields(item, f"{path}[{index}]")
    return found


def test_every_report_writes_zero_with_the_currencys_places(
        client: TestClient, tokens: Headers) -> None:
    auditor = tokens["auditor"]
    reports = {name: _ok(client.get(f"/reports/{name}", headers=auditor))
               for name in ("pipeline", "inventory", "trial-balance", "ar-aging")}
    assert reports["inventory"]["total_value"] == "0.00"
    assert reports["pipeline"]["open"]["amount"] == "0.00"
    assert reports["pipeline"]["open"]["weighted_amount"] == "0.00"
    aging = reports["ar-aging"]
    assert (aging["total_open"], aging["unapplied_credit"], aging["net_receivable"]) == (
        "0.00", "0.00", "0.00")
    figures = [figure for report in reports.values() for figure in _money_fields(report)]
    assert figures
    for path, figure in figures:
        assert figure.endswith(".00") or "." in figure, (path, figure)
        assert figure != "0", path


def _order(client: TestClient, tokens: Headers, quantity: str = "10") -> tuple[str, str]:
    sales, warehouse = tokens["sales"], tokens["warehouse"]
    if client.get("/stock-items/DOC-1", headers=sales).status_code == 404:
        _ok(client.post("/stock-items", headers=warehouse,
                        json={"sku": "DOC-1", "name": "Doc sensor"}), 201)
        _ok(client.post("/stock-items/DOC-1/receipts", headers=warehouse,
                        json={"quantity": "1000", "unit_cost": "4.00"}), 201)
    customer = _ok(client.post("/customers", headers=sales, json={
        "name": "Zenith Components", "email": "ap@zenith.example",
        "payment_terms_days": 10}), 201)["id"]
    order = _ok(client.post("/sales-orders", headers=sales, json={
        "customer_id": customer,
        "lines": [{"sku": "DOC-1", "quantity": quantity, "unit_price": "100.00"}]}), 201)["id"]
    _ok(client.post(f"/sales-orders/{order}/confirm", headers=sales))
    return customer, order


def test_dated_documents_payments_credit_and_refunds_and_ar_aging(
        client: TestClient, tokens: Headers) -> None:
    warehouse, finance, auditor = tokens["warehouse"], tokens["finance"], tokens["auditor"]
    today = datetime.now(UTC).date()
    day = [today - timedelta(days=n) for n in range(60)]
    customer, order = _order(client, tokens)
    # Two shipments and invoices, back-dated 40 and 30 days (100.00 + 8 % tax each).
    numbers = []
    for ago in (40, 30):
        shipped = _ok(client.post(f"/sales-orders/{order}/shipments", headers=warehouse, json={
            "lines": [{"sku": "DOC-1", "quantity": "1"}], "date": day[ago].isoformat()}), 201)
        assert shipped["date"] == day[ago].isoformat()
        invoice = _ok(client.post(f"/sales-orders/{order}/invoices", headers=finance,
                                  json={"date": day[ago].isoformat()}), 201)
        assert invoice["due_on"] == (day[ago] + timedelta(days=10)).isoformat()
        numbers.append(invoice["invoice_number"])
    first_year, second_year = day[40].year, day[30].year
    assert numbers[0] == f"INV-{first_year}-000001"
    assert numbers[1] == f"INV-{second_year}-{(2 if first_year == second_year else 1):06d}"
    # An invoice without a body is dated today (nothing left to invoice: refused).
    refused = client.post(f"/sales-orders/{order}/invoices", headers=finance)
    assert (refused.status_code, refused.json()["error"]) == (409, "nothing_to_invoice")
    # Documents dated in the future are refused, and record nothing.
    future = (today + timedelta(days=1)).isoformat()
    for path, body in ((f"/sales-orders/{order}/payments", {"amount": "1.00", "date": future}),
                       (f"/sales-orders/{order}/shipments",
                        {"lines": [{"sku": "DOC-1", "quantity": "1"}], "date": future})):
        answer = client.post(path, headers=tokens["admin"], json=body)
        assert (answer.status_code, answer.json()["error"]) == (422, "invalid_input"), path
    # A payment 10 days ago names the second invoice, and pays 300.00: 108.00 settles
    # it, 108.00 the first (oldest due), and 84.00 is the customer's credit.
    paid = _ok(client.post(f"/sales-orders/{order}/payments", headers=finance, json={
        "amount": "300.00", "reference": "wire 55", "invoices": [numbers[1], numbers[0]],
        "date": day[10].isoformat()}), 201)
    assert paid["allocations"] == [{"invoice_number": numbers[1], "amount": "108.00"},
                                   {"invoice_number": numbers[0], "amount": "108.00"}]
    assert (paid["applied"], paid["unapplied"], paid["customer_credit"]) == (
        "216.00", "84.00", "84.00")
    page = _ok(client.get(f"/sales-orders/{order}", headers=auditor))
    assert [(i["invoice_number"], i["paid"], i["open"]) for i in page["invoices"]] == [
        (numbers[0], "108.00", "0.00"), (numbers[1], "108.00", "0.00")]
    assert _ok(client.get(f"/customers/{customer}", headers=auditor))["credit"] == "84.00"

    def aging(as_of: str | None = None) -> Any:
        query = f"?after={paid['position']}" + (f"&as_of={as_of}" if as_of else "")
        return _ok(client.get(f"/reports/ar-aging{query}", headers=auditor))

    def receivable(as_of: str) -> Decimal:
        tb = _ok(client.get(f"/reports/trial-balance?as_of={as_of}", headers=auditor))
        return Decimal(next(a["balance"] for a in tb["accounts"] if a["code"] == "1100"))

    # As of 20 days ago the (back-dated) payment had not come: both invoices open, the
    # first 10 days overdue (due 30 days ago).
    before = aging(day[20].isoformat())
    assert [(i["invoice_number"], i["open"], i["customer_name"], i["due_on"])
            for i in before["invoices"]] == [
        (numbers[0], "108.00", "Zenith Components", (day[30]).isoformat()),
        (numbers[1], "108.00", "Zenith Components", (day[20]).isoformat())]
    assert {b["bucket"]: b["amount"] for b in before["buckets"]}["1-30"] == "108.00"
    assert (before["total_open"], before["unapplied_credit"], before["net_receivable"]) == (
        "216.00", "0.00", "216.00")
    # Today: nothing open, 84.00 of credit, net receivable -84.00.
    now = aging()
    assert now["invoices"] == []
    assert [(c["customer_name"], c["open"], c["unapplied_credit"], c["net"])
            for c in now["customers"]] == [("Zenith Components", "0.00", "84.00", "-84.00")]
    assert (now["total_open"], now["unapplied_credit"], now["net_receivable"]) == (
        "0.00", "84.00", "-84.00")
    for ago in (45, 40, 35, 20, 10, 0):
        report = aging(day[ago].isoformat())
        assert Decimal(report["net_receivable"]) == receivable(day[ago].isoformat()), ago
    # A refund beyond the credit is refused (409 insufficient_credit); within it, it
    # pays cash back.
    over = client.post(f"/customers/{customer}/refunds", headers=finance,
                       json={"amount": "84.01"})
    assert (over.status_code, over.json()["error"]) == (409, "insufficient_credit")
    refund = _ok(client.post(f"/customers/{customer}/refunds", headers=finance, json={
        "amount": "50.00", "reference": "ACH out", "date": day[5].isoformat()}), 201)
    assert (refund["amount"], refund["credit"]) == ("50.00", "34.00")
    after = _ok(client.get(f"/reports/ar-aging?after={refund['position']}", headers=auditor))
    assert after["net_receivable"] == "-34.00"
    assert Decimal(after["net_receivable"]) == receivable(today.isoformat())
    # The customer's next invoice uses the 34.00 left.
    _ok(client.post(f"/sales-orders/{order}/shipments", headers=warehouse,
                    json={"lines": [{"sku": "DOC-1", "quantity": "1"}]}), 201)
    third = _ok(client.post(f"/sales-orders/{order}/invoices", headers=finance), 201)
    assert (third["credit_applied"], third["date"]) == ("34.00", today.isoformat())
    final = _ok(client.get(f"/reports/ar-aging?after={third['position']}", headers=auditor))
    assert [(i["invoice_number"], i["paid"], i["open"]) for i in final["invoices"]] == [
        (third["invoice_number"], "34.00", "74.00")]
    assert (final["unapplied_credit"], final["net_receivable"]) == ("0.00", "74.00")
    invoices = _ok(client.get(f"/invoices?after={third['position']}", headers=auditor))
    assert {i["invoice_number"]: i["paid"] for i in invoices["items"]}[
        third["invoice_number"]] == "34.00"
