"""Request bodies (commands) and responses (``*Public``) of the HTTP API.

Amounts and quantities are decimal strings in JSON (numbers are accepted on
input). Decimal places are checked by the domain against the book currency;
here only shape, size and finiteness are.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

Dec = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=28),
                PlainSerializer(str, return_type=str, when_used="json")]
Amount = Annotated[Dec, Field(examples=["1250.00"])]
Quantity = Annotated[Dec, Field(examples=["3"])]
Name = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]
def _iso_date(value: object) -> object:
    """Dates come as ISO 8601 text only (not numbers, which pydantic would take as epochs)."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("a date must be ISO 8601 text, YYYY-MM-DD")
    return dt.date.fromisoformat(value)


Day = Annotated[dt.date, BeforeValidator(_iso_date), Field(examples=["2026-12-31"])]
Sku = Annotated[str, Field(min_length=1, max_length=64, examples=["NT-SENSOR-100"])]
MAX_LINES = 500


class Command(BaseModel):
    """Every command refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    """Every response serialises Decimals as strings."""

    model_config = ConfigDict(from_attributes=True)


# Commands ---------------------------------------------------------------------------

class CaptureLead(Command):
    """A new lead."""

    name: Name
    company: Name
    email: Name
    source: Name


class DisqualifyLead(Command):
    """Why a lead is dropped."""

    reason: LongText


class OpportunityTerms(Command):
    """The opportunity a converted lead opens."""

    title: Name
    amount: Amount
    expected_close_date: Day


class ConvertLead(Command):
    """Convert a lead into a customer and an opportunity."""

    opportunity: OpportunityTerms
    credit_limit: Amount | None = None
    payment_terms_days: int = Field(default=30, ge=0, le=3650)


class RegisterCustomer(Command):
    """A customer registered directly."""

    name: Name
    email: Name
    credit_limit: Amount | None = None
    payment_terms_days: int = Field(default=30, ge=0, le=3650)


class OpenOpportunity(Command):
    """A deal for an existing customer."""

    customer_id: Name
    title: Name
    amount: Amount
    expected_close_date: Day


class ChangeStage(Command):
    """Move a deal to an open stage."""

    stage: Annotated[str, Field(max_length=40, examples=["proposal"])]


class OrderLine(Command):
    """A SKU, how many, and at what unit price."""

    sku: Sku
    quantity: Quantity
    unit_price: Amount


class WinOpportunity(Command):
    """Close a deal as won; its lines become the sales order."""

    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]


class LoseOpportunity(Command):
    """Close a deal as lost."""

    reason: LongText


class RegisterStockItem(Command):
    """A SKU added to the item master."""

    sku: Sku
    name: Name


class ReceiveStock(Command):
    """Goods received at a unit cost."""

    quantity: Quantity
    unit_cost: Amount


class AdjustStock(Command):
    """A physical count."""

    counted_quantity: Quantity
    reason: LongText


class PlaceSalesOrder(Command):
    """An order for an existing customer."""

    customer_id: Name
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]


class ShipmentLine(Command):
    """A SKU and how many ship."""

    sku: Sku
    quantity: Quantity


class ShipOrder(Command):
    """A shipment, in part or in full."""

    lines: Annotated[list[ShipmentLine], Field(min_length=1, max_length=MAX_LINES)]


class RecordPayment(Command):
    """A customer payment."""

    amount: Amount
    reference: Annotated[str | None, Field(max_length=200)] = None


class CancelOrder(Command):
    """Why an order is cancelled."""

    reason: LongText


class CreditInvoice(Command):
    """Which unpaid invoice a credit note reverses, and why."""

    invoice_number: Name
    reason: LongText


class OpenLedgerAccount(Command):
    """A new account of the chart."""

    code: Annotated[str, Field(min_length=1, max_length=20, examples=["6100"])]
    name: Name
    type: Annotated[str, Field(max_length=20, examples=["expense"])]


class EntryLine(Command):
    """One posting: an account and either a debit or a credit."""

    account: Annotated[str, Field(min_length=1, max_length=20)]
    debit: Amount | None = None
    credit: Amount | None = None


class PostJournalEntry(Command):
    """A manual, balanced journal entry; ``date`` may lie in the past."""

    memo: LongText
    lines: Annotated[list[EntryLine], Field(min_length=2, max_length=200)]
    date: Day | None = None


class ReverseJournalEntry(Command):
    """Undo an entry in an open period."""

    memo: LongText | None = None
    date: Day | None = None


class ClosePeriod(Command):
    """Close the books through a date."""

    through: Day
    note: Annotated[str, Field(max_length=2000)] = ""


class ErrorPublic(BaseModel):
    """Every error: a stable code and a one-line reason."""

    error: str = Field(examples=["insufficient_stock"])
    detail: str = Field(examples=["NT-SENSOR-100: 100 wanted, 70 available"])


# Responses --------------------------------------------------------------------------

class CommandPublic(Out):
    """What every command answers: the aggregate, its new version, the log position."""

    id: str
    version: int
    position: int = Field(description="Log position of what was recorded; pass it as "
                                      "?after= to a report to read your own write.")


class LeadConvertedPublic(CommandPublic):
    """A converted lead, with the customer and opportunity it became."""

    customer_id: str
    opportunity_id: str


class OpportunityWonPublic(CommandPublic):
    """A won deal, with the sales order it became."""

    order_id: str


class ValuePublic(CommandPublic):
    """A stock movement with the value it posted."""

    value: Dec


class ShipmentPublic(CommandPublic):
    """A shipment with its FIFO cost."""

    shipment_no: int
    cost: Dec


class InvoicePublic(CommandPublic):
    """An issued invoice."""

    invoice_number: str
    net: Dec
    tax: Dec
    total: Dec


class PaymentPublic(CommandPublic):
    """A payment, with what is still open on the order."""

    open_balance: Dec


class CreditNotePublic(CommandPublic):
    """A credit note."""

    credit_note_number: str
    total: Dec


class ReversalPublic(CommandPublic):
    """A reversing entry and the entry it reverses."""

    reverses: str


class PeriodPublic(CommandPublic):
    """How far the books are closed."""

    closed_through: dt.date


class LeadPublic(Out):
    """A lead."""

    id: str
    version: int
    name: str
    company: str
    email: str
    source: str
    status: str
    reason: str
    customer_id: str | None
    opportunity_id: str | None


class OrderProgressPublic(Out):
    """What happened to an order: for the CRM side."""

    order_id: str
    status: str
    total: Dec
    shipped_cost: Dec
    invoiced: Dec
    paid: Dec
    open_balance: Dec


class CustomerPublic(Out):
    """A customer, with its orders' totals (from the order-status read model)."""

    id: str
    version: int
    name: str
    email: str
    credit_limit: Dec | None
    payment_terms_days: int
    lead_id: str | None
    orders: int
    ordered: Dec
    invoiced: Dec
    paid: Dec
    open: Dec


class OpportunityPublic(Out):
    """A deal, and what became of its order."""

    id: str
    version: int
    customer_id: str
    title: str
    amount: Dec
    expected_close_date: dt.date
    stage: str
    probability: int
    lead_id: str | None
    order_id: str | None
    lost_reason: str
    order: OrderProgressPublic | None


class OrderLinePublic(Out):
    """One line of an order and how far it got."""

    sku: str
    quantity: Dec
    unit_price: Dec
    shipped: Dec
    invoiced: Dec


class InvoiceSummaryPublic(Out):
    """An invoice on an order."""

    invoice_number: str
    net: Dec
    tax: Dec
    total: Dec
    paid: Dec
    issued_on: dt.date
    due_on: dt.date
    credited: bool


class SalesOrderPublic(Out):
    """A sales order."""

    id: str
    version: int
    number: str
    customer_id: str
    opportunity_id: str | None
    status: str
    currency: str
    tax_rate: Dec
    lines: list[OrderLinePublic]
    total: Dec
    invoices: list[InvoiceSummaryPublic]
    paid: Dec
    open_balance: Dec
    cancel_reason: str


class LayerPublic(Out):
    """A FIFO cost layer."""

    quantity: Dec
    unit_cost: Dec
    value: Dec


class StockItemPublic(Out):
    """A SKU's stock."""

    sku: str
    id: str
    version: int
    name: str
    on_hand: Dec
    reserved: Dec
    available: Dec
    value: Dec
    layers: list[LayerPublic]


class LedgerAccountPublic(Out):
    """An account, with its balance from the trial-balance read model."""

    code: str
    id: str
    version: int
    name: str
    type: str
    debit: Dec
    credit: Dec
    balance: Dec


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


class AuditEventPublic(Out):
    """One stored event: where it is in the log, when, who, and its chained hash."""

    position: int
    aggregate_id: str
    version: int
    event: str = Field(examples=["SalesOrder.Confirmed"])
    recorded_at: str
    actor: str = Field(examples=["sales:Dana#3f2a9c0d11b4"])
    idempotency_key: str | None
    hash: str


class AuditLogPublic(Out):
    """A page of the log; pass ``next_after`` as ``after`` for the next page."""

    events: list[AuditEventPublic]
    next_after: int


class HistoryStepPublic(Out):
    """One event of an aggregate's history, with what it recorded."""

    position: int
    version: int
    event: str
    recorded_at: str
    actor: str
    idempotency_key: str | None
    hash: str
    data: dict[str, Any]


class StreamPublic(Out):
    """Every event of one aggregate, in order."""

    aggregate_id: str
    events: list[HistoryStepPublic]


class TrailStepPublic(Out):
    """A step of a lineage: the stored event behind it."""

    aggregate_id: str
    event: str
    position: int
    version: int
    recorded_at: str
    actor: str
    idempotency_key: str | None
    data: dict[str, Any]


class TrailLinePublic(Out):
    """One line of a journal entry."""

    account: str
    debit: Dec
    credit: Dec


class TrailEntryPublic(Out):
    """A journal entry an order caused."""

    journal_entry_id: str
    position: int
    date: str
    caused_by: str | None
    memo: str
    lines: list[TrailLinePublic]


class TrailPublic(Out):
    """Lineage of a sales order or journal entry: back to its lead, forward to its cash."""

    subject: str
    subject_type: str = Field(examples=["sales_order"])
    backward: list[TrailStepPublic]
    forward: list[TrailStepPublic]
    journal_entries: list[TrailEntryPublic] = []


class VerdictPublic(Out):
    """The hash chain's verdict: the first bad event, or the head's position and hash."""

    ok: bool
    count: int
    head_position: int
    head_hash: str
    first_bad_position: int | None
    reason: str


def plain(value: Any) -> Any:
    """Decimals to strings, recursively, for free-form report bodies."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
