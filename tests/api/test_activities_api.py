"""Activities over HTTP: logging against leads, deals and customers (sales and admin
write, everyone reads), completing and rescheduling tasks, the follow-ups report, a
lead's and a deal's last and next activity, and the pipeline's stale counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from o2c.application import O2C

TODAY = datetime.now(UTC).date()


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def _day(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def _refused(client: TestClient, app: O2C, path: str, body: Any, headers: dict[str, str],
             status: int, error: str) -> None:
    head = app.db.head()
    answer = client.post(path, json=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error, answer.text
    assert app.db.head() == head, f"{path} recorded something when refused"


def test_log_complete_reschedule_and_report(client: TestClient, api_app: O2C,
                                            tokens: dict[str, dict[str, str]]) -> None:
    sales, auditor, finance = tokens["sales"], tokens["auditor"], tokens["finance"]
    lead = _ok(client.post("/leads", headers=sales, json={
        "name": "Dana", "company": "Apex", "email": "dana@apex.example", "source": "web"}),
        201)["id"]
    customer = _ok(client.post("/customers", headers=sales, json={
        "name": "Nimbus", "email": "ap@nimbus.example"}), 201)["id"]
    deal = _ok(client.post("/opportunities", headers=sales, json={
        "customer_id": customer, "title": "Racks", "amount": "100.00",
        "expected_close_date": "2030-01-31"}), 201)["id"]

    call = _ok(client.post(f"/leads/{lead}/activities", headers=sales, json={
        "kind": "call", "note": "Intro call", "outcome": "Wants a quote",
        "date": _day(-1)}), 201)
    assert (call["status"], call["due_date"], call["version"]) == ("done", None, 1)
    task = _ok(client.post(f"/leads/{lead}/activities", headers=tokens["admin"], json={
        "kind": "task", "note": "Send the quote", "due_date": _day(3), "owner": "sam"}), 201)
    assert (task["status"], task["due_date"]) == ("open", _day(3))
    late = _ok(client.post(f"/opportunities/{deal}/activities", headers=sales, json={
        "kind": "task", "note": "Chase the PO", "due_date": _day(-2), "date": _day(-5),
        "owner": "sam"}), 201)
    _ok(client.post(f"/customers/{customer}/activities", headers=sales, json={
        "kind": "meeting", "note": "Quarterly review"}), 201)

    # logged without an owner, the call is the caller's (the token holder's name)
    assert _ok(client.get(f"/activities/{call['id']}", headers=auditor))["owner"] == "sales-user"
    got = _ok(client.get(f"/activities/{task['id']}", headers=auditor))
    assert (got["kind"], got["note"], got["owner"], got["subject_kind"], got["subject_id"],
            got["date"], got["due_date"], got["status"]) == (
        "task", "Send the quote", "sam", "lead", lead, _day(0), _day(3), "open")

    moved = _ok(client.post(f"/activities/{task['id']}/reschedule", headers=sales,
                            json={"due_date": _day(6)}, ))
    assert (moved["version"], moved["due_date"]) == (2, _day(6))
    report = _ok(client.get(f"/reports/follow-ups?after={moved['position']}",
                            headers=finance))
    assert (report["open"], report["overdue"], report["as_of"]) == (2, 1, _day(0))
    (sam,) = report["owners"]
    assert [(i["id"], i["overdue"], i["subject"]) for i in sam["items"]] == [
        (late["id"], True, "Racks"), (task["id"], False, "Dana (Apex)")]
    # as of a later date both are overdue; another owner has none
    later = _ok(client.get(f"/reports/follow-ups?owner=sam&as_of={_day(7)}", headers=sales))
    assert [i["days_overdue"] for i in later["owners"][0]["items"]] == [9, 1]
    assert _ok(client.get("/reports/follow-ups?owner=ann", headers=sales))["owners"] == []

    shown = _ok(client.get(f"/leads/{lead}", headers=auditor))
    assert shown["last_activity"]["id"] == task["id"]
    assert shown["next_follow_up"]["id"] == task["id"]
    assert shown["next_follow_up"]["due_date"] == _day(6)

    done = _ok(client.post(f"/activities/{late['id']}/complete", headers=sales,
                           json={"outcome": "PO received"}))
    assert (done["status"], done["version"]) == ("done", 2)
    _ok(client.get(f"/reports/follow-ups?after={done['position']}", headers=sales))
    deal_shown = _ok(client.get(f"/opportunities/{deal}", headers=auditor))
    assert deal_shown["last_activity"]["id"] == late["id"]
    assert deal_shown["last_activity"]["touched_on"] == _day(0)
    assert deal_shown["last_activity"]["outcome"] == "PO received"
    assert deal_shown["next_follow_up"] is None

    pipeline = _ok(client.get("/reports/pipeline", headers=auditor))
    assert pipeline["stale"]["count"] == 0
    assert pipeline["stale"]["days"] == api_app.settings.stale_days == 14
    assert pipeline["stale"]["leads"] == 0
    assert [(s["stage"], s["count"]) for s in pipeline["stale"]["stages"]] == [
        (s["stage"], 0) for s in pipeline["stages"]]

    # refusals: 409 for the rules, 422 for the input, 404 for unknown ids, 403 for roles
    _refused(client, api_app, f"/activities/{late['id']}/complete", {}, sales, 409,
             "invalid_state")
    _refused(client, api_app, f"/activities/{late['id']}/reschedule",
             {"due_date": _day(9)}, sales, 409, "invalid_state")
    _refused(client, api_app, f"/activities/{call['id']}/complete", {}, sales, 409,
             "invalid_state")
    _refused(client, api_app, f"/leads/{lead}/activities",
             {"kind": "call", "note": "x", "date": _day(1)}, sales, 422, "invalid_input")
    _refused(client, api_app, f"/leads/{lead}/activities",
             {"kind": "task", "note": "x", "due_date": _day(-1)}, sales, 422, "invalid_input")
    _refused(client, api_app, f"/leads/{lead}/activities",
             {"kind": "fax", "note": "x"}, sales, 422, "invalid_input")
    _refused(client, api_app, f"/leads/{uuid.uuid4()}/activities",
             {"kind": "call", "note": "x"}, sales, 404, "not_found")
    _refused(client, api_app, f"/opportunities/{lead}/activities",
             {"kind": "call", "note": "x"}, sales, 404, "not_found")
    _refused(client, api_app, f"/activities/{uuid.uuid4()}/complete", {}, sales, 404,
             "not_found")
    for role in ("finance", "warehouse", "auditor"):
        _refused(client, api_app, f"/customers/{customer}/activities",
                 {"kind": "call", "note": "x"}, tokens[role], 403, "forbidden")
    _refused(client, api_app, f"/activities/{task['id']}/complete", {"outcome": "x"},
             {**sales, "If-Match": "1"}, 412, "version_mismatch")
    assert client.get(f"/activities/{uuid.uuid4()}", headers=sales).status_code == 404


def test_idempotency_key_over_http(client: TestClient, api_app: O2C,
                                   tokens: dict[str, dict[str, str]]) -> None:
    sales = tokens["sales"]
    lead = _ok(client.post("/leads", headers=sales, json={
        "name": "Lee", "company": "Orbit", "email": "lee@orbit.example", "source": "show"}),
        201)["id"]
    keyed = {**sales, "Idempotency-Key": "act-1"}
    body = {"kind": "email", "note": "Brochure"}
    first = _ok(client.post(f"/leads/{lead}/activities", headers=keyed, json=body), 201)
    head = api_app.db.head()
    again = _ok(client.post(f"/leads/{lead}/activities", headers=keyed, json=body), 201)
    assert (again["id"], api_app.db.head()) == (first["id"], head)
    _refused(client, api_app, f"/leads/{lead}/activities", {**body, "note": "Other"}, keyed,
             422, "idempotency_key_reused")
