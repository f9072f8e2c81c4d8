"""Bodies and answers of ``routes.sales_orders``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from o2c.api.schemas.common import (
    Amount,
    Command,
    CommandPublic,
    Day,
    Dec,
    LongText,
    Name,
    Out,
    Quantity,
    Sku,
)
from o2c.domain import values
from o2c.domain.sales_order import MAX_LINES

#: A discount in percent, 0 to 100, at most two decimal places (checked by the domain).
Percent = Annotated[Dec, Field(examples=["10"], description=(
    "A discount in percent: 0 to 100, at most two decimal places."))]


class OrderLine(Command):
    """A SKU, how many, at what unit price (left out: the customer's price list on the
    order date, else the default list) and an optional line discount."""

    sku: Sku
    quantity: Quantity
    unit_price: Amount | None = None
    discount_percent: Percent | None = None


#: An order's lines (a won opportunity's too): as many as the domain accepts.
OrderLines = Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]


class PlaceSalesOrder(Command):
    """An order for an existing customer, with an optional discount on the lines' sum."""

    customer_id: Name
    lines: OrderLines
    discount_percent: Percent | None = None


class ShipmentLine(Command):
    """A SKU and how many ship."""

    sku: Sku
    quantity: Quantity


#: A document's effective date: not after the business date, not in a closed period.
DocumentDate = Annotated[Day | None, Field(description=(
    "The document's effective date (ISO 8601); default the business date (today, UTC). "
    "Refused after the business date (422) or inside a closed period (409 period_closed)."))]
#: The most invoices one payment names.
MAX_INVOICES = 200


class ShipOrder(Command):
    """A shipment, in part or in full."""

    lines: Annotated[list[ShipmentLine], Field(min_length=1, max_length=MAX_LINES)]
    date: DocumentDate = None


class InvoiceOrder(Command):
    """An invoice of what shipped and is not yet invoiced (the body is optional); not
    dated before the order's latest shipment."""

    date: DocumentDate = None


class RecordPayment(Command):
    """A customer payment: it settles the invoices named, in that order (or else the
    order's open invoices, oldest due first); what is left is the customer's unapplied
    credit, used by the customer's next invoice."""

    amount: Amount
    reference: Annotated[str | None, Field(max_length=values.MAX_TEXT)] = None
    invoices: Annotated[list[Name] | None, Field(
        min_length=1, max_length=MAX_INVOICES,
        description="Invoice numbers of this order to settle, in this order.")] = None
    date: DocumentDate = None


class CancelOrder(Command):
    """Why an order is cancelled."""

    reason: LongText


class CreditInvoice(Command):
    """Which unpaid invoice a credit note reverses, and why."""

    invoice_number: Name
    reason: LongText
    date: DocumentDate = None


class ShipmentPublic(CommandPublic):
    """A shipment with its FIFO cost."""

    shipment_no: int
    cost: Dec
    date: dt.date | None = None


class InvoicePublic(CommandPublic):
    """An issued invoice."""

    invoice_number: str
    gross: Dec | None = None
    discount: Dec | None = None
    net: Dec
    tax: Dec
    total: Dec
    date: dt.date | None = None
    due_on: dt.date | None = None
    credit_applied: Dec | None = Field(
        default=None, description="The customer's unapplied credit this invoice used.")


class AllocationPublic(Out):
    """What a payment settled on one invoice."""

    invoice_number: str
    amount: Dec


class PaymentPublic(CommandPublic):
    """A payment: what it settled, what it left as customer credit, what is still open on
    the order."""

    open_balance: Dec
    applied: Dec | None = None
    unapplied: Dec | None = None
    allocations: list[AllocationPublic] = []
    customer_credit: Dec | None = Field(
        default=None, description="The customer's unapplied credit after this payment, "
                                  "when it left some.")
    date: dt.date | None = None


class CreditNotePublic(CommandPublic):
    """A credit note."""

    credit_note_number: str
    total: Dec
    date: dt.date | None = None


class OrderLinePublic(Out):
    """One line of an order and how far it got."""

    sku: str
    quantity: Dec
    unit_price: Dec
    shipped: Dec
    invoiced: Dec
    discount_percent: Dec | None = None
    gross: Dec | None = None
    discount: Dec | None = None
    net: Dec | None = None


class InvoiceSummaryPublic(Out):
    """An invoice on an order."""

    invoice_number: str
    gross: Dec | None = None
    discount: Dec | None = None
    net: Dec
    tax: Dec
    total: Dec
    paid: Dec
    open: Dec
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
    gross: Dec | None = Field(default=None, description="Before discounts.")
    discount: Dec | None = Field(default=None, description="Line and order discounts.")
    discount_percent: Dec | None = Field(default=None,
                                         description="The order's discount on its lines.")
    tax: Dec | None = None
    total_with_tax: Dec | None = None
    invoices: list[InvoiceSummaryPublic]
    paid: Dec
    open_balance: Dec
    cancel_reason: str


class SalesOrderItemPublic(Out):
    """A sales order in a list (``GET /sales-orders``): ``net`` before tax, ``invoiced``
    what its standing invoices charge with tax, ``open`` what of that is unpaid."""

    id: str
    number: str
    customer_id: str
    customer_name: str | None
    opportunity_id: str | None
    status: str
    ordered_quantity: Dec
    shipped_quantity: Dec
    invoiced_quantity: Dec
    net: Dec
    invoiced: Dec
    paid: Dec
    open: Dec
    placed_at: str
    updated_at: str
    position: int


class SalesOrderListPublic(Out):
    """A page of sales orders."""

    items: list[SalesOrderItemPublic]
    next_cursor: str | None = Field(description="The next page's `cursor`; null on the last.")
    position: int = Field(description="The log position the read models had reached.")


class ReleaseCredit(Command):
    """Why finance lets this order past credit control (over the limit, on hold)."""

    reason: LongText


class ReleasedPublic(CommandPublic):
    """An order released from credit control: recorded on its customer."""

    customer_id: str
    customer_version: int
