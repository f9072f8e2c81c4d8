"""LedgerAccount: an account of the chart; it holds no postings, so it never grows."""

from __future__ import annotations

import pytest

from o2c.domain import ledger_account as chart
from o2c.domain.errors import InvalidInputError
from o2c.domain.ledger_account import ACCOUNT_TYPES, DEFAULT_CHART, LedgerAccount


def test_open_an_account() -> None:
    account = LedgerAccount.open(" 1300-A ", "Prepaid expenses", "asset")
    assert (account.code, account.name, account.type) == ("1300-A", "Prepaid expenses", "asset")
    assert account.id == LedgerAccount.create_id("1300-A")  # addressed by code
    assert [type(e) for e in account.pending_events] == [LedgerAccount.Opened]


@pytest.mark.parametrize(("code", "name", "kind"), [
    ("1300", "X", "assets"), ("1300", "X", None), ("1300", "X", "Asset"),
    ("", "X", "asset"), ("13 00", "X", "asset"), ("1300/1", "X", "asset"),
    ("1" * 21, "X", "asset"), ("1300", "", "asset"), (1300, "X", "asset"),
])
def test_open_refuses_bad_fields(code: object, name: object, kind: object) -> None:
    with pytest.raises(InvalidInputError):
        LedgerAccount.open(code, name, kind)


def test_the_default_chart_has_every_account_the_posting_rules_use() -> None:
    codes = {code: kind for code, _, kind in DEFAULT_CHART}
    assert codes == {
        chart.CASH: "asset", chart.RECEIVABLE: "asset", chart.INVENTORY: "asset",
        chart.PAYABLE: "liability", chart.TAX_PAYABLE: "liability", chart.EQUITY: "equity",
        chart.RETAINED_EARNINGS: "equity", chart.REVENUE: "revenue", chart.COGS: "expense",
        chart.ADJUSTMENTS: "expense"}
    assert set(codes.values()) <= set(ACCOUNT_TYPES)
    assert len({LedgerAccount.create_id(code) for code in codes}) == len(codes)


def test_an_account_holds_no_balance_or_postings() -> None:
    account = LedgerAccount.open("1000", "Cash", "asset")
    assert set(vars(account)) - {"_id", "_version", "_created_on", "_modified_on",
                                 "_pending_events"} == {"code", "name", "type"}
