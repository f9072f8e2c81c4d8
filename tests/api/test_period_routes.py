"""Closing, reopening and the year-end close over HTTP (the business date is today)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from o2c.application import O2C
from o2c.domain import posting_rules

TODAY = datetime.now(UTC).date()
LAST = TODAY.year - 1


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def _entry(client: TestClient, headers: dict[str, str], day: str, debit: str, credit: str,
           amount: str) -> dict[str, Any]:
    return _ok(client.post("/journal-entries", headers=headers, json={
        "memo": "test", "date": day, "lines": [{"account": debit, "debit": amount},
                                               {"account": credit, "credit": amount}]}), 201)


def _balances(client: TestClient, headers: dict[str, str], after: int,
              as_of: str) -> dict[str, str]:
    report = _ok(client.get(f"/reports/trial-balance?as_of={as_of}&after={after}",
                            headers=headers))
    assert report["totals"]["balance"] == "0.00"
    return {row["code"]: row["balance"] for row in report["accounts"]}


def test_year_end_reopen_and_close_again(client: TestClient,
                                         tokens: dict[str, dict[str, str]],
                                         api_app: O2C) -> None:
    finance, auditor = tokens["finance"], tokens["auditor"]
    _entry(client, finance, f"{LAST}-02-01", "1000", "4000", "900.00")
    _entry(client, finance, f"{LAST}-05-01", "5100", "1000", "100.00")
    closed = _ok(client.post("/periods/year-end", headers=finance, json={"year": LAST}))
    assert closed["year"] == LAST
    assert closed["closed_through"] == f"{LAST}-12-31"
    entry_id = closed["entry_id"]
    year_end = _balances(client, auditor, closed["position"], f"{LAST}-12-31")
    assert (year_end["4000"], year_end["5100"], year_end["3100"]) == ("0.00", "0.00",
                                                                      "-800.00")
    periods = _ok(client.get("/periods", headers=auditor))
    assert periods["closed_through"] == f"{LAST}-12-31"
    assert periods["closed_years"] == [{"year": LAST, "entry_id": entry_id}]
    # The entry is in the journal like any other, its cause named.
    listed = _ok(client.get(f"/journal-entries?q={posting_rules.YEAR_END_CLOSE}"
                            f"&after={closed['position']}", headers=auditor))
    assert [(i["id"], i["date"], i["manual"]) for i in listed["items"]] == [
        (entry_id, f"{LAST}-12-31", False)]
    # A second close of the year is refused, and records nothing.
    again = client.post("/periods/year-end", headers=finance, json={"year": LAST})
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "invalid_state"
    # Reopening: a reason is required; the reversal is a system entry.
    missing = client.post("/periods/reopen", headers=finance,
                          json={"through": f"{LAST}-11-30"})
    assert missing.status_code == 422
    later = client.post("/periods/reopen", headers=finance,
                        json={"through": f"{LAST}-12-31", "reason": "x"})
    assert later.status_code == 409
    assert later.json()["error"] == "invalid_state"
    reopened = _ok(client.post("/periods/reopen", headers=finance, json={
        "through": f"{LAST}-11-30", "reason": "late supplier bill"}))
    assert reopened["closed_through"] == f"{LAST}-11-30"
    assert reopened["reopened_years"] == [LAST]
    assert len(reopened["reversal_ids"]) == 1
    back = _balances(client, auditor, reopened["position"], f"{LAST}-12-31")
    assert (back["4000"], back["5100"], back["3100"]) == ("-900.00", "100.00", "0.00")
    # History: the reopening with its reason and actor.
    history = _ok(client.get(f"/audit/streams/{periods['id']}", headers=auditor))
    reopen_step = [s for s in history["events"] if s["event"] == "AccountingPeriods.Reopened"]
    assert len(reopen_step) == 1
    assert reopen_step[0]["data"]["reason"] == "late supplier bill"
    assert reopen_step[0]["actor"] != "system"
    # The late bill goes in, and the year closes again.
    _entry(client, finance, f"{LAST}-12-15", "5100", "1000", "50.00")
    second = _ok(client.post("/periods/year-end", headers=finance, json={"year": LAST}))
    final = _balances(client, auditor, second["position"], f"{LAST}-12-31")
    assert (final["4000"], final["5100"], final["3100"]) == ("0.00", "0.00", "-750.00")


def test_future_dates_are_refused(client: TestClient, tokens: dict[str, dict[str, str]],
                                  api_app: O2C) -> None:
    finance = tokens["finance"]
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    head = api_app.db.head()
    future_close = client.post("/periods/close", headers=finance, json={"through": tomorrow})
    assert future_close.status_code == 422, future_close.text
    assert "after the business date" in future_close.json()["detail"]
    this_year = client.post("/periods/year-end", headers=finance, json={"year": TODAY.year})
    if TODAY.month == 12 and TODAY.day == 31:  # the year is over only on its last day
        assert this_year.status_code == 200
    else:
        assert this_year.status_code == 422, this_year.text
    future_entry = client.post("/journal-entries", headers=finance, json={
        "memo": "next week's rent", "date": tomorrow,
        "lines": [{"account": "5100", "debit": "10"}, {"account": "1000", "credit": "10"}]})
    assert future_entry.status_code == 422
    assert "after the business date" in future_entry.json()["detail"]
    if not (TODAY.month == 12 and TODAY.day == 31):
        assert api_app.db.head() == head
    posted = _entry(client, finance, TODAY.isoformat(), "1000", "3000", "20.00")
    early = client.post(f"/journal-entries/{posted['id']}/reverse", headers=finance,
                        json={"date": (TODAY - timedelta(days=1)).isoformat()})
    assert early.status_code == 422, early.text
    assert "before the entry it reverses" in early.json()["detail"]
    assert client.post("/periods/year-end", headers=finance,
                       json={"year": "20x6"}).status_code == 422
    ok = _ok(client.post("/periods/close", headers=finance,
                         json={"through": TODAY.isoformat()}))
    assert ok["closed_through"] == TODAY.isoformat()


def test_roles_for_reopen_and_year_end(client: TestClient,
                                       tokens: dict[str, dict[str, str]]) -> None:
    for role in ("sales", "warehouse", "auditor"):
        assert client.post("/periods/reopen", headers=tokens[role], json={
            "through": f"{LAST}-01-01", "reason": "x"}).status_code == 403
        assert client.post("/periods/year-end", headers=tokens[role],
                           json={"year": LAST}).status_code == 403
    assert client.post("/periods/year-end", headers=tokens["admin"],
                       json={"year": LAST}).status_code == 200
