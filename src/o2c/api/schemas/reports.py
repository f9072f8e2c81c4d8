"""Answers of ``routes.reports``."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

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


class StaleItemPublic(Out):
    """An open lead or deal with no activity for the stale period."""

    kind: str = Field(description="`lead` or `opportunity`.")
    id: str
    name: str = Field(description="The lead (name and company) or the deal's title.")
    stage: str = Field(description="A deal's stage, or a lead's status.")
    last_activity_date: dt.date | None
    idle_since: dt.date = Field(description="Its last activity, or when it was created.")
    days_idle: int


class StaleStagePublic(Out):
    """How many open deals at one stage are stale."""

    stage: str
    count: int


class StalePublic(Out):
    """Open leads and deals with no activity for ``days`` days (``O2C_STALE_DAYS``) or
    more before ``as_of`` (today): how many, how many leads, how many deals per stage, and
    which, the longest idle first."""

    days: int
    as_of: dt.date
    count: int
    leads: int
    stages: list[StaleStagePublic]
    items: list[StaleItemPublic]


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
    stale: StalePublic | None = None


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


class MonthPublic(Out):
    """One calendar month of a monthly report (clipped to the report's dates)."""

    month: str = Field(examples=["2026-01"])
    from_: str = Field(alias="from")
    to: str


class MonthMovementPublic(Out):
    """An account's debits and credits in one month."""

    month: str
    debit: Dec
    credit: Dec


class AccountBalancePublic(Out):
    """One account's line of the trial balance: with ``from``/``to``, its opening
    balance, the debits and credits in the range, and its closing balance (which
    ``balance`` repeats)."""

    code: str
    name: str
    type: str
    normal_balance: str
    debit: Dec
    credit: Dec
    balance: Dec
    opening: Dec | None = None
    closing: Dec | None = None
    by_month: list[MonthMovementPublic] | None = None


class TotalsPublic(Out):
    """Totals of the trial balance (balance is zero when the books balance)."""

    debit: Dec
    credit: Dec
    balance: Dec
    opening: Dec | None = None
    closing: Dec | None = None


class TrialBalancePublic(Out):
    """The trial balance, optionally as of a date and as known at a time; with
    ``from``/``to``, opening, movement and closing per account (``as_of`` is ``to``)."""

    position: int
    as_of: str | None
    known_at: str | None
    accounts: list[AccountBalancePublic]
    totals: TotalsPublic
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    months: list[MonthPublic] | None = None


class LedgerAccountPublic(Out):
    """The account a ledger is of."""

    code: str
    name: str
    type: str
    normal_balance: str


class LedgerLinePublic(Out):
    """One posting to the account, with the running balance after it (debit positive)
    and what caused it: ``trail`` is the audit path of its journal entry."""

    date: str
    position: int
    line_no: int
    entry_id: str
    memo: str | None
    cause: str
    source_id: str | None
    year_end: bool
    trail: str = Field(examples=["/audit/trail/0b7e2a4c-2f5e-4f0a-8f43-6a1c9d3e5b02"])
    debit: Dec
    credit: Dec
    balance: Dec


class DebitCreditPublic(Out):
    """Debits and credits."""

    debit: Dec
    credit: Dec


class LedgerPublic(Out):
    """An account's ledger for a date range: the opening balance (everything before
    ``from``), the lines of this page in date and log order, the range's totals and
    closing balance; ``next_cursor`` continues after the last line."""

    position: int
    account: LedgerAccountPublic
    from_: str | None = Field(alias="from")
    to: str
    known_at: str | None
    opening_balance: Dec
    page_opening_balance: Dec
    lines: list[LedgerLinePublic]
    totals: DebitCreditPublic
    closing_balance: Dec
    next_cursor: str | None


class AmountLinePublic(Out):
    """An account's figure in a report, in its natural sign."""

    code: str
    name: str
    amount: Dec
    by_month: list[Dec] | None = None


class SectionPublic(Out):
    """A section of a report: its accounts and total."""

    accounts: list[AmountLinePublic]
    total: Dec
    by_month: list[Dec] | None = None


class ProfitAndLossPublic(Out):
    """Revenue less expenses for a period, without the year-end close's entries
    (``excluded_causes``); with ``monthly``, each figure per month too."""

    position: int
    from_: str | None = Field(alias="from")
    to: str
    known_at: str | None
    revenue: SectionPublic
    expenses: SectionPublic
    net_profit: Dec
    excluded_causes: list[str]
    months: list[MonthPublic] | None = None
    net_profit_by_month: list[Dec] | None = None


class EquitySectionPublic(SectionPublic):
    """Equity accounts, and the revenue and expense balances not yet closed into
    retained earnings."""

    unclosed_profit: Dec
    total_with_unclosed_profit: Dec


class BalanceSheetPublic(Out):
    """Assets, liabilities and equity at a date; ``balanced`` says assets equal
    liabilities + equity + unclosed profit (``difference`` is zero)."""

    position: int
    as_of: str
    known_at: str | None
    assets: SectionPublic
    liabilities: SectionPublic
    equity: EquitySectionPublic
    liabilities_and_equity: Dec
    difference: Dec
    balanced: bool


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
    customer_name: str | None = None
    order_number: str | None = None


class CustomerReceivablePublic(Out):
    """One customer in AR aging: its open invoices, its unapplied credit, and the net."""

    customer_id: str
    customer_name: str | None
    invoices: int
    open: Dec
    unapplied_credit: Dec
    net: Dec
    credit_limit: Dec | None = Field(default=None, description="Today's credit limit; null "
                                                               "for none.")
    exposure: Dec | None = Field(default=None, description=(
        "Today's exposure, as credit control counts it: open invoices less unapplied "
        "credit, plus what confirmed orders have still to invoice, with tax."))


class ArAgingPublic(Out):
    """Accounts receivable by age (of the due date), with each customer's unapplied credit;
    ``net_receivable`` = ``total_open`` - ``unapplied_credit`` (the Receivable balance)."""

    position: int
    as_of: str
    buckets: list[AgingBucketPublic]
    invoices: list[OpenInvoicePublic]
    total_open: Dec
    customers: list[CustomerReceivablePublic] = []
    unapplied_credit: Dec | None = None
    net_receivable: Dec | None = None
