"""Answers of ``routes.reports``."""

from __future__ import annotations

from o2c.api.schemas.common import Dec, Out


class StagePublic(Out):
    """Open deals at one stage."""

    stage: str
    count: int
    amount: Dec
    weighted_amount: Dec


class CountAmountPublic(Out):
    """How many, and for how much."""

    count: int
    amount: Dec


class OpenPipelinePublic(CountAmountPublic):
    """All open deals."""

    weighted_amount: Dec


class LeadCountsPublic(Out):
    """Leads by outcome."""

    total: int
    converted: int
    disqualified: int
    open: int


class PipelinePublic(Out):
    """The sales pipeline."""

    position: int
    stages: list[StagePublic]
    open: OpenPipelinePublic
    won: CountAmountPublic
    lost: CountAmountPublic
    win_rate: Dec
    leads: LeadCountsPublic
    lead_conversion_rate: Dec


class InventoryItemPublic(Out):
    """Stock of one SKU."""

    sku: str
    name: str
    on_hand: Dec
    reserved: Dec
    available: Dec
    value: Dec


class InventoryPublic(Out):
    """Inventory levels."""

    position: int
    items: list[InventoryItemPublic]
    total_value: Dec


class AccountBalancePublic(Out):
    """One account's line of the trial balance."""

    code: str
    name: str
    type: str
    normal_balance: str
    debit: Dec
    credit: Dec
    balance: Dec


class TotalsPublic(Out):
    """Totals of the trial balance (balance is zero when the books balance)."""

    debit: Dec
    credit: Dec
    balance: Dec


class TrialBalancePublic(Out):
    """The trial balance, optionally as of a date and as known at a time."""

    position: int
    as_of: str | None
    known_at: str | None
    accounts: list[AccountBalancePublic]
    totals: TotalsPublic


class AgingBucketPublic(Out):
    """Open invoices in one age bucket."""

    bucket: str
    count: int
    amount: Dec


class OpenInvoicePublic(Out):
    """An open invoice."""

    invoice_number: str
    order_id: str
    customer_id: str
    issued_on: str
    due_on: str
    total: Dec
    paid: Dec
    open: Dec
    days_overdue: int
    bucket: str


class ArAgingPublic(Out):
    """Accounts receivable by age."""

    position: int
    as_of: str
    buckets: list[AgingBucketPublic]
    invoices: list[OpenInvoicePublic]
    total_open: Dec
