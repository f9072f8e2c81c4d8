"""Bodies and answers of ``routes.returns``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StrictBool

from o2c.api.schemas.common import (
    Command,
    CommandPublic,
    Dec,
    LongText,
    Name,
    Out,
    Quantity,
    Sku,
)
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
    authorisation: Name | None = Field(default=None, examples=["RMA-1"], description=(
        "The order's return authorisation (RMA) the goods came back against: they must "
        "be within what it still authorises (409 not_authorised), and lower it."))


class AuthorisationLine(Command):
    """A SKU and how many of it may come back."""

    sku: Sku
    quantity: Quantity


class AuthoriseReturn(Command):
    """A return authorisation (RMA): invoiced goods of the order, each SKU once, that the
    customer may send back."""

    lines: Annotated[list[AuthorisationLine], Field(min_length=1, max_length=MAX_LINES)]
    reason: LongText
    date: DocumentDate = None


class CancelReturnAuthorisation(Command):
    """Why an RMA is cancelled."""

    reason: LongText


class ReturnAuthorisationDone(CommandPublic):
    """An RMA authorised or cancelled: its number and the date."""

    rma_number: str
    date: dt.date


class AuthorisedLinePublic(Out):
    """Per SKU of an RMA: authorised, received against it, and still outstanding (none
    once cancelled)."""

    sku: str
    authorised: Dec
    received: Dec
    outstanding: Dec


class ReturnAuthorisationPublic(Out):
    """A return authorisation of an order and where it stands: ``open`` (goods still to
    come back), ``received`` or ``cancelled``."""

    rma_number: str
    authorised_on: dt.date
    reason: str
    status: str
    lines: list[AuthorisedLinePublic]
    returns: list[int] = Field(description="The returns received against it.")
    cancelled_on: dt.date | None = None
    cancel_reason: str = ""


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
    authorisation: str | None = None


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
    authorisations: list[ReturnAuthorisationPublic] = []
