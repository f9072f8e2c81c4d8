"""docs/security.md, proved: the auditor writes nothing, revoked and expired tokens are
refused at once by every server, and no answer gives away a token, SQL or a traceback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from o2c import auth
from o2c.api import create_app
from o2c.application import O2C
from o2c.bootstrap import build_app

Headers = dict[str, str]
State = dict[str, str]


def _bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def _post_routes(client: TestClient) -> set[str]:
    spec = client.get("/openapi.json").json()
    return {path for path, operations in spec["paths"].items() if "post" in operations}


#: Every command, in an order in which each succeeds for admin: (path template, the
#: path from what earlier steps answered, the body, what to keep from the answer).
STEPS: list[tuple[str, Callable[[State], str], Callable[[State], dict[str, Any]],
                  dict[str, str]]] = [
    ("/leads", lambda s: "/leads", lambda s: {
        "name": "Dana", "company": "Apex", "email": "dana@apex.example", "source": "web"},
     {"lead": "id"}),
    ("/leads/{lead_id}/qualify", lambda s: f"/leads/{s['lead']}/qualify", lambda s: {}, {}),
    ("/leads/{lead_id}/convert", lambda s: f"/leads/{s['lead']}/convert", lambda s: {
        "opportunity": {"title": "Sensors", "amount": "900.00",
                        "expected_close_date": "2030-01-31"}},
     {"customer": "customer_id", "opportunity": "opportunity_id"}),
    ("/leads", lambda s: "/leads", lambda s: {
        "name": "Lee", "company": "Orbit", "email": "lee@orbit.example", "source": "show"},
     {"lead2": "id"}),
    ("/leads/{lead_id}/disqualify", lambda s: f"/leads/{s['lead2']}/disqualify",
     lambda s: {"reason": "No budget"}, {}),
    ("/customers", lambda s: "/customers", lambda s: {
        "name": "Orbit Labs", "email": "ap@orbit.example"}, {"customer2": "id"}),
    ("/opportunities", lambda s: "/opportunities", lambda s: {
        "customer_id": s["customer2"], "title": "Gateways", "amount": "100",
        "expected_close_date": "2030-01-31"}, {"opportunity2": "id"}),
    ("/opportunities/{opportunity_id}/stage",
     lambda s: f"/opportunities/{s['opportunity2']}/stage", lambda s: {"stage": "proposal"},
     {}),
    ("/opportunities/{opportunity_id}/lose",
     lambda s: f"/opportunities/{s['opportunity2']}/lose", lambda s: {"reason": "Later"}, {}),
    ("/stock-items", lambda s: "/stock-items", lambda s: {"sku": "SEC-1", "name": "Sensor"},
     {}),
    ("/stock-items/{sku}/receipts", lambda s: "/stock-items/SEC-1/receipts",
     lambda s: {"quantity": "20", "unit_cost": "4.00"}, {}),
    ("/stock-items/{sku}/adjustments", lambda s: "/stock-items/SEC-1/adjustments",
     lambda s: {"counted_quantity": "19", "reason": "Count"}, {}),
    ("/price-lists/{name}/prices", lambda s: "/price-lists/default/prices",
     lambda s: {"sku": "SEC-1", "unit_price": "9.00"}, {}),
    ("/opportunities/{opportunity_id}/quote",
     lambda s: f"/opportunities/{s['opportunity']}/quote",
     lambda s: {"lines": [{"sku": "SEC-1", "quantity": "5"}]}, {}),
    ("/opportunities/{opportunity_id}/win", lambda s: f"/opportunities/{s['opportunity']}/win",
     lambda s: {"lines": [{"sku": "SEC-1", "quantity": "5", "unit_price": "9.00"}]},
     {"order": "order_id"}),
    ("/sales-orders", lambda s: "/sales-orders", lambda s: {
        "customer_id": s["customer2"],
        "lines": [{"sku": "SEC-1", "quantity": "1", "unit_price": "9.00"}]}, {"order2": "id"}),
    ("/sales-orders/{order_id}/cancel", lambda s: f"/sales-orders/{s['order2']}/cancel",
     lambda s: {"reason": "Duplicate"}, {}),
    ("/sales-orders/{order_id}/credit-release",
     lambda s: f"/sales-orders/{s['order']}/credit-release", lambda s: {"reason": "Prepaid"},
     {}),
    ("/customers/{customer_id}/credit-limit",
     lambda s: f"/customers/{s['customer']}/credit-limit",
     lambda s: {"credit_limit": "90000.00", "reason": "Review"}, {}),
    ("/sales-orders/{order_id}/confirm", lambda s: f"/sales-orders/{s['order']}/confirm",
     lambda s: {}, {}),
    ("/sales-orders/{order_id}/shipments", lambda s: f"/sales-orders/{s['order']}/shipments",
     lambda s: {"lines": [{"sku": "SEC-1", "quantity": "5"}]}, {}),
    ("/sales-orders/{order_id}/invoices", lambda s: f"/sales-orders/{s['order']}/invoices",
     lambda s: {}, {"invoice": "invoice_number"}),
    ("/sales-orders/{order_id}/credit-notes",
     lambda s: f"/sales-orders/{s['order']}/credit-notes",
     lambda s: {"invoice_number": s["invoice"], "reason": "Wrong price"}, {}),
    ("/sales-orders/{order_id}/invoices", lambda s: f"/sales-orders/{s['order']}/invoices",
     lambda s: {}, {}),
    ("/sales-orders/{order_id}/payments", lambda s: f"/sales-orders/{s['order']}/payments",
     lambda s: {"amount": "1.00"}, {}),
    ("/sales-orders/{order_id}/payments", lambda s: f"/sales-orders/{s['order']}/payments",
     lambda s: {"amount": "1000.00"}, {}),  # an overpayment: the customer's credit
    ("/sales-orders/{order_id}/return-authorisations",
     lambda s: f"/sales-orders/{s['order']}/return-authorisations",
     lambda s: {"lines": [{"sku": "SEC-1", "quantity": "1"}], "reason": "Dent"},
     {"rma": "rma_number"}),
    ("/sales-orders/{order_id}/return-authorisations/{rma_number}/cancel",
     lambda s: f"/sales-orders/{s['order']}/return-authorisations/{s['rma']}/cancel",
     lambda s: {"reason": "Kept"}, {}),
    ("/sales-orders/{order_id}/returns", lambda s: f"/sales-orders/{s['order']}/returns",
     lambda s: {"lines": [{"sku": "SEC-1", "quantity": "1"}]}, {}),
    ("/customers/{customer_id}/refunds", lambda s: f"/customers/{s['customer']}/refunds",
     lambda s: {"amount": "1.00"}, {}),
    ("/leads/{lead_id}/activities", lambda s: f"/leads/{s['lead']}/activities", lambda s: {
        "kind": "task", "note": "Call back", "due_date": "2099-01-01"}, {"task": "id"}),
    ("/opportunities/{opportunity_id}/activities",
     lambda s: f"/opportunities/{s['opportunity']}/activities",
     lambda s: {"kind": "call", "note": "Intro"}, {}),
    ("/customers/{customer_id}/activities", lambda s: f"/customers/{s['customer']}/activities",
     lambda s: {"kind": "meeting", "note": "Visit"}, {}),
    ("/activities/{activity_id}/reschedule", lambda s: f"/activities/{s['task']}/reschedule",
     lambda s: {"due_date": "2099-02-01"}, {}),
    ("/activities/{activity_id}/complete", lambda s: f"/activities/{s['task']}/complete",
     lambda s: {"outcome": "Done"}, {}),
    ("/ledger-accounts", lambda s: "/ledger-accounts",
     lambda s: {"code": "6100", "name": "Travel", "type": "expense"}, {}),
    ("/journal-entries", lambda s: "/journal-entries", lambda s: {
        "memo": "Taxi", "lines": [{"account": "6100", "debit": "12.00"},
                                  {"account": "1000", "credit": "12.00"}]}, {"entry": "id"}),
    ("/journal-entries/{entry_id}/reverse", lambda s: f"/journal-entries/{s['entry']}/reverse",
     lambda s: {}, {}),
    ("/periods/close", lambda s: "/periods/close",
     lambda s: {"through": (date.today() - timedelta(days=400)).isoformat()}, {}),
    ("/periods/reopen", lambda s: "/periods/reopen",
     lambda s: {"through": (date.today() - timedelta(days=500)).isoformat(),
                "reason": "A late bill"}, {}),
    ("/periods/year-end", lambda s: "/periods/year-end",
     lambda s: {"year": date.today().year - 3}, {}),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_write_route_accepts_the_auditor(client: TestClient, api_app: O2C,
                                            tokens: dict[str, Headers]) -> None:
    """Every POST of the spec, with a body that admin's same request then records: the
    auditor gets 403 and the log does not move."""
    assert {template for template, *_ in STEPS} == _post_routes(client)
    state: State = {}
    for template, path, body, keep in STEPS:
        url, payload = path(state), body(state)
        head = api_app.db.head()
        refused = client.post(url, json=payload, headers=tokens["auditor"])
        assert refused.status_code == 403, (template, refused.text)
        assert refused.json()["error"] == "forbidden"
        assert api_app.db.head() == head, template
        done = client.post(url, json=payload, headers=tokens["admin"])
        assert done.status_code in (200, 201), (template, done.text)
        assert api_app.db.head() > head, template
        answer = done.json()
        state.update({name: answer[field] for name, field in keep.items()})


def test_revoked_and_expired_tokens_are_refused_by_every_server(
        client: TestClient, api_app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
    other = build_app(api_app.settings)
    try:
        with TestClient(create_app(api_app.settings, app=other)) as second:
            token = auth.create_token(api_app.db, "sales", "Sue")
            brief = auth.create_token(api_app.db, "sales", "Tim",
                                      expires_at=datetime.now(UTC) + timedelta(minutes=5))
            for server in (client, second):
                for held in (token, brief):
                    assert server.get("/reports/pipeline", headers=_bearer(held)).status_code \
                        == 200
            info = auth.lookup_token(api_app.db, token)
            assert info is not None
            assert info.token_id is not None
            auth.revoke_token(api_app.db, info.token_id)
            # Five minutes on: the brief one has expired too.
            later = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
            monkeypatch.setattr(auth, "_now", lambda: later)
            head = api_app.db.head()
            for server in (client, second):
                for held in (token, brief):
                    for method, url, body in (("GET", "/reports/pipeline", None),
                                              ("POST", "/customers", {
                                                  "name": "X", "email": "x@x.example"})):
                        answer = server.request(method, url, json=body, headers=_bearer(held))
                        assert answer.status_code == 401, (method, url, answer.text)
                        assert answer.json() == {
                            "error": "unauthorized",
                            "detail": "unknown, revoked or expired bearer token"}
            assert api_app.db.head() == head
    finally:
        other.close()


#: What only the server's insides would show: its SQL, its drivers, a traceback.
INSIDES = re.compile(r"Traceback|File \"|\.py\"|psycopg|sqlite3|SELECT |INSERT INTO |"
                     r"o2c_events|o2c_event_meta|o2c_commands|o2c_tokens|stored_events|"
                     r"syntax error|OperationalError|IntegrityError|ProgrammingError|DataError")
#: Hostile text for fields, ids and headers (none of it contains what INSIDES looks for).
HOSTILE = ["'; DROP TABLE leads; --", "' OR '1'='1", "1); DELETE FROM x; --", "a\x00b",
           "%s%s%s", "$1::text", "\\", "\ud800", "?" * 50, "\U0001d518\u202e\ufeff\u0663",
           "x" * 5000]


def test_no_answer_echoes_a_token_sql_or_a_traceback(
        client: TestClient, api_app: O2C, tokens: dict[str, Headers]) -> None:
    sales = auth.create_token(api_app.db, "sales", "Sam")
    finance = auth.create_token(api_app.db, "finance", "Fin")
    revoked = auth.create_token(api_app.db, "admin", "Old")
    info = auth.lookup_token(api_app.db, revoked)
    assert info is not None
    assert info.token_id is not None
    auth.revoke_token(api_app.db, info.token_id)
    bootstrap = api_app.settings.bootstrap_token
    assert bootstrap is not None
    secrets = [bootstrap, sales, finance, revoked] + [t[21:] for t in (sales, finance, revoked)]
    answers: list[httpx.Response] = []

    def send(method: str, url: str, **kwargs: Any) -> httpx.Response:
        if "json" in kwargs:  # escaped, so lone surrogates travel as JSON allows
            kwargs["content"] = json.dumps(kwargs.pop("json")).encode()
            kwargs["headers"] = {**kwargs.get("headers", {}),
                                 "Content-Type": "application/json"}
        answer: httpx.Response = client.request(method, url, **kwargs)
        answers.append(answer)
        return answer

    # Tokens that are refused, tokens forged from a real id, and tokens carrying SQL.
    forged = f"o2c_{sales[4:20]}_{finance[21:]}"
    for bad in (revoked, forged, sales[:-1], sales + "A", "o2c_' OR '1'='1' --",
                f"{bootstrap}'--", "x" * 300, sales.replace("_", "-")):
        for method, url in (("GET", "/reports/pipeline"), ("POST", "/leads")):
            assert send(method, url, headers=_bearer(bad), json={}).status_code == 401
    # Hostile text in every kind of place, with valid tokens (the bootstrap one and ours).
    for who in (_bearer(bootstrap), _bearer(sales)):
        for text in HOSTILE:
            send("POST", "/leads", headers=who, json={
                "name": text, "company": text, "email": text, "source": text})
            send("POST", "/customers", headers=who, json={"name": "ok", "email": text})
            send("POST", "/sales-orders", headers=who, json={
                "customer_id": text, "lines": [{"sku": text, "quantity": text,
                                                "unit_price": "1"}]})
            send("POST", "/journal-entries", headers=who, json={
                "memo": text, "lines": [{"account": text, "debit": "1"},
                                        {"account": "1000", "credit": "1"}]})
            if not (text.isascii() and text.isprintable()):
                continue  # what follows goes in a URL or a header: no client sends these
            send("POST", "/customers", headers={**who, "Idempotency-Key": text[:200],
                                                "If-Match": text[:40]},
                 json={"name": "Key", "email": "k@k.example"})
            for path in ("/sales-orders/", "/stock-items/", "/ledger-accounts/",
                         "/audit/streams/", "/audit/trail/"):
                send("GET", path + text[:100], headers=who)
            send("GET", "/reports/trial-balance", headers=who,
                 params={"as_of": text, "known_at": text})
            send("GET", "/audit/events", headers=who, params={"after": text, "limit": text})
        send("POST", "/leads", headers={**who, "Content-Type": "application/json"},
             content=b'{"name": "a", "name": "\'; DROP TABLE leads; --", ')
        send("PUT", "/leads", headers=who, json={})
    problems = []
    for answer in answers:
        where = f"{answer.request.method} {answer.request.url.path[:60]} {answer.status_code}"
        if answer.status_code >= 500:
            problems.append(f"{where}: {answer.text[:200]}")
        shown = answer.text + " ".join(f"{k}: {v}" for k, v in answer.headers.items())
        for secret in secrets:
            if secret in shown:
                problems.append(f"{where} shows a token")
        if INSIDES.search(answer.text):
            problems.append(f"{where} shows the server's insides: {answer.text[:200]}")
    assert problems == []
    # A hostile name is only text: stored as sent, the tables still there.
    made = client.post("/leads", headers=tokens["sales"], json={
        "name": "'; DROP TABLE leads; --", "company": "x", "email": "a@b.example",
        "source": "web"})
    assert made.status_code == 201, made.text
    lead = client.get(f"/leads/{made.json()['id']}", headers=tokens["sales"])
    assert lead.json()["name"] == "'; DROP TABLE leads; --"
