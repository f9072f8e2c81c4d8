"""Bodies and answers of ``routes.returns``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StrictBool

from o2c.api.schemas.common import Command, CommandPublic, Dec, LongText, Out, Quantity, Sku
from o2c.api.schemas.sales_orders import DocumentDate
from o2c.domain.returns import MAX_LINES


class ReturnLine(Command):
    """A SKU, how many came back, and whether they are damaged (written off, not
    restocked)."""

    sku: Sku
    quantity: Quantity
    damaged: StrictBool = False


class ReturnGoods(Command):
    """Goods a customer sent back: invoiced goods of the order, each SKU once."""

    lines: Annotated[list[ReturnLine], Field(min_length=1, max_length=MAX_LINES)]
    date: DocumentDate = None
    reason: LongText | None = None


class ReturnCreditPublic(Out):
    """One invoice's share of a return's credit note, and what it settled on it."""

    invoice_number: str
    total: Dec
    applied: Dec


class ReturnPublic(CommandPublic):
    """A recorded return: its credit note, the cost the goods came back at, and where the
    credit went."""

    return_no: int
    credit_note_number: str
    restocked_cost: Dec
    damaged_cost: Dec
    net: Dec
    tax: Dec
    total: Dec
    applied: Dec = Field(description="What the credit settled on the order's invoices.")
    unapplied: Dec = Field(description="What became the customer's unapplied credit.")
    credits: list[ReturnCreditPublic]
    customer_credit: Dec | None = None
    date: dt.date


class ReturnedLinePublic(Out):
    """A returned line of a past return."""

    sku: str
    quantity: Dec
    damaged: bool
    cost: Dec


class ReturnRecordPublic(Out):
    """A past return of an order."""

    return_no: int
    returned_on: dt.date
    credit_note_number: str
    lines: list[ReturnedLinePublic]
    restocked_cost: Dec
    damaged_cost: Dec
    net: Dec
    tax: Dec
    total: Dec
    applied: Dec
    unapplied: Dec
    reason: str


class ReturnableLinePublic(Out):
    """Per order line: shipped, invoiced, returned, and how much may still come back."""

    sku: str
    shipped: Dec
    invoiced: Dec
    returned: Dec
    returnable: Dec


class OrderReturnsPublic(Out):
    """An order's returns and what may still be returned."""

    id: str
    version: int
    number: str
    lines: list[ReturnableLinePublic]
    returns: list[ReturnRecordPublic]
