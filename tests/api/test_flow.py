"""Lead to cash over HTTP, with the report figures checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from o2c.application import O2C
from o2c.auth import lookup_token


def _ok(response: object, status: int = 200) -> dict:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined]


def test_lead_to_cash(client: TestClient, tokens: dict[str, dict[str, str]],
                      api_app: O2C) -> None:
    sales, warehouse, finance = tokens["sales"], tokens["warehouse"], tokens["finance"]
    auditor = tokens["auditor"]
    lead = _ok(client.post("/leads", headers=sales, json={
        "name": "Dana Whitfield", "company": "Apex Robotics",
        "email": "dana@apexrobotics.example", "source": "web form"}), 201)
    _ok(client.post(f"/leads/{lead['id']}/qualify", headers=sales))
    converted = _ok(client.post(f"/leads/{lead['id']}/convert", headers=sales, json={
        "opportunity": {"title": "Apex sensors", "amount": "9440.00",
                        "expected_close_date": "2026-12-31"}}), 201)
    opp = converted["opportunity_id"]
    staged = _ok(client.post(f"/opportunities/{opp}/stage", headers=sales,
                             json={"stage": "proposal"}))
    pipeline = _ok(client.get(f"/reports/pipeline?after={staged['position']}", headers=sales))
    assert pipeline["position"] >= staged["position"]
    proposal = {s["stage"]: s for s in pipeline["stages"]}["proposal"]
    assert (proposal["count"], proposal["amount"], proposal["weighted_amount"]) == (
        1, "9440.00", "4720.00")  # 50 % of 9440.00
    # A second lead goes nowhere, and a second deal is lost.
    other = _ok(client.post("/leads", headers=sales, json={
        "name": "Lee Park", "company": "Orbit Labs", "email": "lee@orbit.example",
        "source": "trade show"}), 201)
    _ok(client.post(f"/leads/{other['id']}/disqualify", headers=sales,
                    json={"reason": "No budget"}))
    lost = _ok(client.post("/opportunities", headers=sales, json={
        "customer_id": converted["customer_id"], "title": "Spare gateways", "amount": "1200",
        "expected_close_date": "2026-11-30"}), 201)
    _ok(client.post(f"/opportunities/{lost['id']}/lose", headers=sales,
                    json={"reason": "Postponed"}))
    _ok(client.post("/stock-items", headers=warehouse,
                    json={"sku": "NT-SENSOR-100", "name": "Sensor"}), 201)
    _ok(client.post("/stock-items/NT-SENSOR-100/receipts", headers=warehouse,
                    json={"quantity": "100", "unit_cost": "42.00"}), 201)
    _ok(client.post("/stock-items/NT-SENSOR-100/receipts", headers=warehouse,
                    json={"quantity": 50, "unit_cost": 45.5}), 201)
    won = _ok(client.post(f"/opportunities/{opp}/win", headers=sales, json={
        "lines": [{"sku": "NT-SENSOR-100", "quantity": "120", "unit_price": "89.00"}]}), 201)
    order = won["order_id"]
    confirmed = _ok(client.post(f"/sales-orders/{order}/confirm", headers=sales))
    inventory = _ok(client.get(f"/reports/inventory?after={confirmed['position']}",
                               headers=warehouse))
    assert inventory["items"][0]["reserved"] == "120"
    assert inventory["items"][0]["available"] == "30"
    shipped = _ok(client.post(f"/sales-orders/{order}/shipments", headers=warehouse, json={
        "lines": [{"sku": "NT-SENSOR-100", "quantity": "110"}]}), 201)
    assert shipped["cost"] == "4655.00"  # 100 x 42.00 + 10 x 45.50, FIFO
    inventory = _ok(client.get(f"/reports/inventory?after={shipped['position']}",
                               headers=warehouse))
    assert inventory["items"] == [{
        "sku": "NT-SENSOR-100", "name": "Sensor", "on_hand": "40", "reserved": "10",
        "available": "30", "value": "1820.00"}]  # 40 x 45.50 left at cost
    assert inventory["total_value"] == "1820.00"
    pipeline = _ok(client.get(f"/reports/pipeline?after={shipped['position']}", headers=sales))
    assert pipeline["won"] == {"count": 1, "amount": "9440.00"}
    assert pipeline["lost"] == {"count": 1, "amount": "1200.00"}
    assert pipeline["win_rate"] == "0.5000"
    assert pipeline["leads"] == {"total": 2, "converted": 1, "disqualified": 1, "open": 0}
    assert pipeline["lead_conversion_rate"] == "0.5000"
    assert all(stage["count"] == 0 for stage in pipeline["stages"])
    invoice = _ok(client.post(f"/sales-orders/{order}/invoices", headers=finance), 201)
    assert (invoice["net"], invoice["tax"], invoice["total"]) == ("9790.00", "783.20",
                                                                 "10573.20")
    paid = _ok(client.post(f"/sales-orders/{order}/payments", headers=finance,
                           json={"amount": "10000.00", "reference": "ACH 1"}), 201)
    assert paid["open_balance"] == "573.20"
    balance = _ok(client.get(f"/reports/trial-balance?after={paid['position']}",
                             headers=auditor))
    accounts = {a["code"]: a for a in balance["accounts"]}
    assert accounts["1000"]["balance"] == "10000.00"
    assert accounts["1100"]["balance"] == "573.20"
    assert accounts["1200"]["balance"] == str(Decimal("6475.00") - Decimal("4655.00"))
    assert accounts["4000"]["balance"] == "-9790.00"
    assert accounts["2100"]["balance"] == "-783.20"
    assert accounts["5000"]["balance"] == "4655.00"
    assert balance["totals"]["balance"] == "0.00"
    assert balance["totals"]["debit"] == balance["totals"]["credit"]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    before = _ok(client.get(f"/reports/trial-balance?as_of={yesterday}", headers=auditor))
    assert Decimal(balance["totals"]["debit"]) > 0
    assert Decimal(before["totals"]["debit"]) == 0  # everything was posted today
    known = _ok(client.get("/reports/trial-balance?known_at=2000-01-01T00:00:00Z",
                           headers=auditor))
    assert Decimal(known["totals"]["debit"]) == 0  # nothing was recorded back then
    aging = _ok(client.get(f"/reports/ar-aging?after={paid['position']}", headers=finance))
    assert aging["total_open"] == "573.20"
    assert [(b["bucket"], b["count"], b["amount"]) for b in aging["buckets"]
            if b["count"]] == [("current", 1, "573.20")]
    assert aging["invoices"][0]["invoice_number"] == invoice["invoice_number"]
    assert aging["invoices"][0]["order_id"] == order
    opportunity = _ok(client.get(f"/opportunities/{opp}", headers=sales))
    assert opportunity["stage"] == "won"
    assert opportunity["order"]["status"] == "partially_shipped"
    assert opportunity["order"]["paid"] == "10000.00"
    customer = _ok(client.get(f"/customers/{converted['customer_id']}", headers=sales))
    assert (customer["orders"], customer["paid"], customer["open"]) == (1, "10000.00", "573.20")
    so = _ok(client.get(f"/sales-orders/{order}", headers=auditor))
    assert so["lines"][0]["shipped"] == "110"
    assert so["lines"][0]["invoiced"] == "110"
    account = _ok(client.get("/ledger-accounts/1100", headers=finance))
    assert account["balance"] == "573.20"
    verdict = _ok(client.get("/audit/verify", headers=auditor))
    assert verdict["ok"] is True
    trail = _ok(client.get(f"/audit/trail/{order}", headers=auditor))
    assert trail["backward"][0]["event"] == "Lead.Captured"
    stream = _ok(client.get(f"/audit/streams/{order}", headers=auditor))
    assert [e["event"] for e in stream["events"]][:2] == ["SalesOrder.Placed",
                                                          "SalesOrder.Confirmed"]
    sales_token = sales["Authorization"].removeprefix("Bearer ")
    sales_actor = lookup_token(api_app.db, sales_token, api_app.settings.bootstrap_token).actor  # type: ignore[union-attr]
    assert sales_actor.startswith("sales:sales-user#")
    assert stream["events"][1]["actor"] == sales_actor
    # Every step records the role and holder of the token that did it.
    assert {step["event"]: step["actor"].split("#")[0] for step in trail["forward"]} == {
        "SalesOrder.Confirmed": "sales:sales-user",
        "SalesOrder.Shipped": "warehouse:warehouse-user",
        "SalesOrder.Invoiced": "finance:finance-user",
        "SalesOrder.PaymentReceived": "finance:finance-user"}
    log = _ok(client.get("/audit/events?after=0&limit=5", headers=auditor))
    assert [e["position"] for e in log["events"]] == [1, 2, 3, 4, 5]


def test_business_rules_answer_409(client: TestClient, tokens: dict[str, dict[str, str]],
                                   api_app: O2C) -> None:
    admin = tokens["bootstrap"]
    customer = _ok(client.post("/customers", headers=admin,
                               json={"name": "Nimbus", "email": "ap@nimbus.example"}), 201)
    _ok(client.post("/stock-items", headers=admin, json={"sku": "G-1", "name": "Gateway"}), 201)
    _ok(client.post("/stock-items/G-1/receipts", headers=admin,
                    json={"quantity": "2", "unit_cost": "310.00"}), 201)
    order = _ok(client.post("/sales-orders", headers=admin, json={
        "customer_id": customer["id"],
        "lines": [{"sku": "G-1", "quantity": "3", "unit_price": "480.00"}]}), 201)
    head = api_app.db.head()
    refused = client.post(f"/sales-orders/{order['id']}/confirm", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["error"] == "insufficient_stock"
    unbalanced = client.post("/journal-entries", headers=admin, json={
        "memo": "oops", "lines": [{"account": "1000", "debit": "5.00"},
                                  {"account": "3000", "credit": "4.00"}]})
    assert (unbalanced.status_code, unbalanced.json()["error"]) == (409, "unbalanced_entry")
    stale = client.post(f"/sales-orders/{order['id']}/cancel", headers={**admin, "If-Match": "7"},
                        json={"reason": "changed mind"})
    assert (stale.status_code, stale.json()["error"]) == (412, "version_mismatch")
    assert client.get("/sales-orders/not-an-id", headers=admin).status_code == 404
    assert api_app.db.head() == head
    cancelled = client.post(f"/sales-orders/{order['id']}/cancel",
                            headers={**admin, "If-Match": str(order["version"])},
                            json={"reason": "changed mind"})
    assert cancelled.status_code == 200
    _ok(client.post("/periods/close", headers=admin, json={"through": "2026-01-31"}))
    closed = client.post("/journal-entries", headers=admin, json={
        "memo": "late", "date": "2026-01-15",
        "lines": [{"account": "1000", "debit": "5.00"}, {"account": "3000", "credit": "5.00"}]})
    assert (closed.status_code, closed.json()["error"]) == (409, "period_closed")


def test_audit_routes(client: TestClient, tokens: dict[str, dict[str, str]],
                      api_app: O2C) -> None:
    admin, auditor = tokens["bootstrap"], tokens["auditor"]
    _ok(client.post("/stock-items", headers=admin, json={"sku": "A-1", "name": "Part"}), 201)
    receipt = _ok(client.post("/stock-items/A-1/receipts", headers={
        **admin, "Idempotency-Key": "r-1"}, json={"quantity": "2", "unit_cost": "5.00"}), 201)
    entry = _ok(client.post("/journal-entries", headers=admin, json={
        "memo": "Capital", "lines": [{"account": "1000", "debit": "100.00"},
                                     {"account": "3000", "credit": "100.00"}]}), 201)
    head = api_app.db.head()
    # The log, page by page, in order, up to the head.
    seen, after = [], 0
    while True:
        page = _ok(client.get(f"/audit/events?after={after}&limit=4", headers=auditor))
        if not page["events"]:
            break
        seen += page["events"]
        after = page["next_after"]
    assert [e["position"] for e in seen] == list(range(1, head + 1))
    keyed = [e for e in seen if e["idempotency_key"] == "r-1"]
    assert [e["event"] for e in keyed] == ["StockItem.Received", "JournalEntry.Posted"]
    assert keyed[0]["position"] <= receipt["position"]
    ours = [e for e in seen if e["actor"] != "system"]  # "system" opened the chart
    assert len(ours) == 4  # registered, received (and its entry), the manual entry
    # The bootstrap token's fixed actor: nothing in the log is derived from it.
    assert all(e["actor"] == "admin:bootstrap" for e in ours)
    # One aggregate's history, by id or by SKU.
    by_sku = _ok(client.get("/audit/streams/A-1", headers=auditor))
    assert [e["event"] for e in by_sku["events"]] == ["StockItem.Registered",
                                                      "StockItem.Received"]
    assert by_sku["events"][1]["data"]["quantity"] == "2"
    assert client.get("/audit/streams/no-such-thing", headers=auditor).status_code == 404
    # A manual entry's trail is the entry itself.
    trail = _ok(client.get(f"/audit/trail/{entry['id']}", headers=auditor))
    assert trail["subject_type"] == "journal_entry"
    assert [s["event"] for s in trail["backward"]] == ["JournalEntry.Posted"]
    assert client.get("/audit/trail/A-1", headers=auditor).status_code == 404
    verdict = _ok(client.get("/audit/verify", headers=auditor))
    assert (verdict["ok"], verdict["count"], verdict["head_position"]) == (True, head, head)
    assert verdict["first_bad_position"] is None
