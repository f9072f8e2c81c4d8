"""LedgerAccount: one account of the chart of accounts.

An account's balance is not kept on the aggregate: postings are recorded on
journal entries (see ``journal_entry.py``) and summed by the trial-balance
read model. So an account with a million postings loads as fast as a new one,
and concurrent invoices never contend on the Receivable account.
"""

from __future__ import annotations

import uuid
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import InvalidInputError

ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")
#: Types whose balance is normally a debit; the others are normally credits.
DEBIT_NORMAL = ("asset", "expense")
#: The longest account code.
MAX_CODE = 20

CASH, RECEIVABLE, INVENTORY = "1000", "1100", "1200"
PAYABLE, TAX_PAYABLE, EQUITY = "2000", "2100", "3000"
REVENUE, COGS, ADJUSTMENTS = "4000", "5000", "5100"
#: Where a year-end close moves the year's revenue and expense balances.
RETAINED_EARNINGS = "3100"

#: The default chart of accounts, created on first start (an account added here later is
#: opened on the next start of an existing store).
DEFAULT_CHART: tuple[tuple[str, str, str], ...] = (
    (CASH, "Cash", "asset"),
    (RECEIVABLE, "Accounts Receivable", "asset"),
    (INVENTORY, "Inventory", "asset"),
    (PAYABLE, "Accounts Payable", "liability"),
    (TAX_PAYABLE, "Sales Tax Payable", "liability"),
    (EQUITY, "Owner's Equity", "equity"),
    (RETAINED_EARNINGS, "Retained Earnings", "equity"),
    (REVENUE, "Sales Revenue", "revenue"),
    (COGS, "Cost of Goods Sold", "expense"),
    (ADJUSTMENTS, "Inventory Adjustments", "expense"),
)

_NAMESPACE = uuid.UUID("0b7e2a4c-2f5e-4f0a-8f43-6a1c9d3e5b02")


def check_code(code: object) -> str:
    """An account code: 1 to 20 letters, digits or '-'."""
    checked = values.text(code, "code", max_length=MAX_CODE)
    if not all(ch.isalnum() or ch == "-" for ch in checked):
        raise InvalidInputError(f"account code may hold only letters, digits and '-': {checked!r}")
    return checked


class LedgerAccount(O2CAggregate):
    """An account of the general ledger: its code, name and type."""

    class Opened(Aggregate.Created):
        """An account was added to the chart of accounts."""

        class_version = 1
        code: str
        name: str
        type: str

    @staticmethod
    def create_id(code: str) -> UUID:
        """Accounts are addressed by code: the id is derived from it."""
        return uuid.uuid5(_NAMESPACE, "account:" + code)

    @event(Opened)
    def __init__(self, code: str, name: str, type: str) -> None:
        self.code = code
        self.name = name
        self.type = type

    @classmethod
    def open(cls, code: object, name: object, type: object) -> LedgerAccount:
        """Opens an account after checking its fields."""
        if type not in ACCOUNT_TYPES:
            raise InvalidInputError(f"type must be one of {', '.join(ACCOUNT_TYPES)}")
        assert isinstance(type, str)
        return cls(code=check_code(code), name=values.text(name, "name"), type=type)
