"""Bodies and answers of ``routes.customers``."""

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
    Whole,
)
from o2c.domain import values
from o2c.domain.customer import DEFAULT_PAYMENT_TERMS_DAYS

#: Days from invoice to due date (a lead converted into a customer takes them too).
PaymentTermsDays = Annotated[Whole, Field(ge=0, le=values.MAX_DAYS)]


class RegisterCustomer(Command):
    """A customer registered directly."""

    name: Name
    email: Name
    credit_limit: Amount | None = None
    payment_terms_days: PaymentTermsDays = DEFAULT_PAYMENT_TERMS_DAYS


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
    credit: Dec = Field(description="Unapplied credit: paid beyond the invoices settled, "
                                    "used by the customer's next invoice, refundable.")


class CustomerItemPublic(Out):
    """A customer in a list (``GET /customers``)."""

    id: str
    name: str
    email: str
    credit_limit: Dec | None
    payment_terms_days: int
    lead_id: str | None
    registered_at: str = Field(description="When it was recorded (UTC).")
    position: int = Field(description="Its place in the log.")


class CustomerListPublic(Out):
    """A page of customers."""

    items: list[CustomerItemPublic]
    next_cursor: str | None = Field(description="The next page's `cursor`; null on the last.")
    position: int = Field(description="The log position the read models had reached.")


class RefundCredit(Command):
    """Pay back (part of) a customer's unapplied credit."""

    amount: Amount
    reference: Annotated[str | None, Field(max_length=values.MAX_TEXT)] = None
    date: Annotated[Day | None, Field(description=(
        "The refund's effective date; default the business date. Not after it, not in a "
        "closed period, not before the credit was received."))] = None


class RefundPublic(CommandPublic):
    """A refund: how much, and the credit left."""

    amount: Dec
    credit: Dec
    date: dt.date


class ChangeCreditLimit(Command):
    """A new credit limit for a customer (null: no limit), and why (finance)."""

    credit_limit: Amount | None = Field(description="The new limit; null for none.")
    reason: LongText


class CreditLimitPublic(CommandPublic):
    """A credit limit changed."""

    credit_limit: Dec | None


class OverdueInvoicePublic(Out):
    """An open invoice past its due date beyond the grace days."""

    invoice_number: str
    due_on: dt.date
    days_overdue: int
    open: Dec


class CreditReleasePublic(Out):
    """An order finance released from credit control."""

    order_id: str
    reason: str
    by: str
    released_on: dt.date


class CustomerCreditPublic(Out):
    """A customer's credit position: its limit, its exposure (open receivables plus
    confirmed orders not yet invoiced, with tax), whether it is on credit hold and why,
    and the orders finance released (from the read models, and the customer)."""

    customer_id: str
    version: int
    credit_limit: Dec | None
    payment_terms_days: int
    open_receivables: Dec = Field(description="Open invoices less unapplied credit.")
    unshipped_confirmed: Dec = Field(description="What confirmed orders have still to "
                                                 "invoice, with tax.")
    exposure: Dec
    available: Dec | None = Field(description="Limit less exposure; null without a limit.")
    on_hold: bool
    grace_days: int
    overdue: list[OverdueInvoicePublic]
    releases: list[CreditReleasePublic]
