"""The ledger reports over HTTP: money as strings with the currency's places, the
same roles as the other reports, 404 for an unknown account, 422 for bad dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from o2c.application import O2C
from o2c.projections import Projector
from support.ledger_story import ACCOUNT_TYPES, RENT, record

D = Decimal


def _get(client: TestClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _story(api_app: O2C) -> Any:
    story = record(api_app)
    Projector(api_app.db, api_app.settings).catch_up()
    return story


def test_ledger_pnl_and_balance_sheet(api_app: O2C, client: TestClient,
                                      tokens: dict[str, dict[str, str]]) -> None:
    story = _story(api_app)
    auditor = tokens["auditor"]
    ledger = _get(client, "/reports/ledger/1000?from=2025-06-01&to=2025-12-31", auditor)
    assert ledger["opening_balance"] == "1000.00"
    assert ledger["from"] == "2025-06-01"
    assert [line["debit"] for line in ledger["lines"]] == ["500.00", "0.00", "0.00", "80.00"]
    assert ledger["lines"][-1]["balance"] == ledger["closing_balance"] == "1450.00"
    first = ledger["lines"][0]
    assert first["trail"] == f"/audit/trail/{first['entry_id']}"
    trail = client.get(first["trail"], headers=auditor)
    assert trail.status_code == 200, trail.text

    paged = _get(client, "/reports/ledger/1000?limit=2", auditor)
    assert len(paged["lines"]) == 2
    assert paged["next_cursor"]
    rest = _get(client, f"/reports/ledger/1000?limit=50&cursor={paged['next_cursor']}", auditor)
    assert rest["page_opening_balance"] == paged["lines"][-1]["balance"]
    assert rest["lines"][-1]["balance"] == str(story.balance("1000"))

    pnl = _get(client, "/reports/pnl?from=2025-01-01&to=2025-12-31", auditor)
    assert pnl["net_profit"] == str(story.profit(start=date(2025, 1, 1),
                                                 end=date(2025, 12, 31))) == "450.00"
    assert pnl["revenue"]["total"] == "580.00"
    assert {a["code"]: a["amount"] for a in pnl["expenses"]["accounts"]}["5100"] == "0.00"
    monthly = _get(client, "/reports/pnl?from=2026-01-01&to=2026-02-28&monthly=true", auditor)
    assert [m["month"] for m in monthly["months"]] == ["2026-01", "2026-02"]
    assert monthly["net_profit_by_month"] == ["-45.50", "250.00"]
    known = _get(client, "/reports/pnl?from=2025-01-01&to=2025-12-31&known_at="
                 + story.marker.isoformat().replace("+00:00", "Z"), auditor)
    assert known["net_profit"] == "460.00"

    sheet = _get(client, "/reports/balance-sheet?as_of=2026-02-28", auditor)
    assert sheet["balanced"] is True
    assert sheet["difference"] == "0.00"
    assert sheet["assets"]["total"] == sheet["liabilities_and_equity"]
    assert sheet["equity"]["unclosed_profit"] == "204.50"  # 2026: 250.00 - 45.50

    ranged = _get(client, "/reports/trial-balance?from=2026-01-01&to=2026-02-28", auditor)
    rows = {a["code"]: a for a in ranged["accounts"]}
    assert rows[RENT]["opening"] == "0.00"  # closed into retained earnings
    assert rows[RENT]["debit"] == "45.50"
    assert rows["1000"]["closing"] == rows["1000"]["balance"] == str(
        story.balance("1000"))
    assert ranged["totals"]["closing"] == "0.00"
    assert set(rows) >= set(ACCOUNT_TYPES)
    # the single-date answer is unchanged
    single = _get(client, "/reports/trial-balance?as_of=2026-02-28", auditor)
    assert single["as_of"] == "2026-02-28"
    assert {a["code"]: a["balance"] for a in single["accounts"]} == {
        code: row["closing"] for code, row in rows.items()}


def test_roles_and_refusals(api_app: O2C, client: TestClient,
                            tokens: dict[str, dict[str, str]]) -> None:
    _story(api_app)
    for path in ("/reports/ledger/1000", "/reports/pnl", "/reports/balance-sheet",
                 "/reports/trial-balance?from=2025-01-01"):
        assert client.get(path).status_code == 401
        for role in ("sales", "warehouse", "finance", "auditor", "admin"):
            assert client.get(path, headers=tokens[role]).status_code == 200, (path, role)
    finance = tokens["finance"]
    unknown = client.get("/reports/ledger/9999", headers=finance)
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    for path in ("/reports/pnl?from=2026-02-01&to=2026-01-01",
                 "/reports/ledger/1000?from=2025-02-30",
                 "/reports/pnl?from=yesterday",
                 "/reports/ledger/1000?cursor=garbage",
                 "/reports/pnl?from=1990-01-01&to=2026-01-01&monthly=true",
                 "/reports/trial-balance?as_of=2026-01-01&to=2026-01-31",
                 "/reports/balance-sheet?known_at=not-a-time"):
        response = client.get(path, headers=finance)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"].startswith("invalid"), response.text
