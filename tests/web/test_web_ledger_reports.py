"""The ledger report pages, server-side (TestClient on the demo); the browser test is
test_ledger_reports_browser.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from html import unescape

from fastapi.testclient import TestClient

from o2c.application import O2C
from o2c.projections import Projector, ledger_reports, reports

Client = Callable[[str], TestClient]


def _cells(html: str, row_id: str) -> str:
    found = re.search(rf'id="{row_id}">([^<]*)<', html)
    assert found, row_id
    return unescape(found[1])


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_pages_show_the_reports(browser_as: Client, seeded: O2C) -> None:
    Projector(seeded.db, seeded.settings).catch_up()
    client = browser_as("auditor")
    balances = {a["code"]: a["balance"]
                for a in reports.trial_balance(seeded.db, seeded.places)["accounts"]}
    tb = client.get("/books/trial-balance").text
    assert 'href="/books/ledger/1000?' in tb
    page = client.get("/books/ledger/1000")
    assert page.status_code == 200
    assert _amount(_cells(page.text, "closing")) == balances["1000"]
    assert 'href="/audit?trail=' in page.text
    pnl = client.get("/books/pnl?monthly=1")
    assert pnl.status_code == 200
    expected = ledger_reports.profit_and_loss(seeded.db, seeded.places)["net_profit"]
    assert _amount(_cells(pnl.text, "net-profit")) == expected
    sheet = client.get("/books/balance-sheet")
    assert sheet.status_code == 200
    assert 'id="balanced" class="ok"' in sheet.text
    ranged = client.get("/books/trial-balance?from=2026-01-01")
    assert ranged.status_code == 200
    assert 'id="total-opening"' in ranged.text
    for nav in ("/books/pnl", "/books/balance-sheet"):
        assert f'href="{nav}"' in tb


def test_bad_input_and_unknown_accounts(browser_as: Client) -> None:
    client = browser_as("finance")
    assert client.get("/books/ledger/9999").status_code == 404
    for path in ("/books/pnl?from=2026-02-01&to=2026-01-01", "/books/pnl?from=nope",
                 "/books/balance-sheet?as_of=2026-13-01",
                 "/books/ledger/1000?cursor=garbage",
                 "/books/trial-balance?from=2026-01-01&as_of=2026-02-01"):
        answer = client.get(path)
        assert answer.status_code == 422, path
        assert 'role="alert"' in answer.text, path
