"""Bodies and answers of ``routes.customers``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from o2c.api.schemas.common import Amount, Command, CommandPublic, Day, Dec, Name, Out, Whole
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
