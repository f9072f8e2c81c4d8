"""Answers of ``routes.invoices``."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from o2c.api.schemas.common import Dec, Out


class InvoiceItemPublic(Out):
    """An invoice in a list (``GET /invoices``): ``open`` is what is neither paid nor
    credited; ``status`` is ``open``, ``overdue``, ``paid`` or ``credited``."""

    invoice_number: str
    order_id: str
    order_number: str
    customer_id: str
    customer_name: str | None
    issued_on: dt.date
    due_on: dt.date
    net: Dec
    tax: Dec
    total: Dec
    paid: Dec
    credited: Dec
    open: Dec
    status: str
    days_overdue: int
    credit_note_number: str | None
    position: int


class InvoiceListPublic(Out):
    """A page of invoices."""

    items: list[InvoiceItemPublic]
    next_cursor: str | None = Field(description="The next page's `cursor`; null on the last.")
    position: int = Field(description="The log position the read models had reached.")
