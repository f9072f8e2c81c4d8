"""Invoices: the list across orders (an order's own invoices are on its page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from o2c.api.deps import ALL_ROLES, allow
from o2c.api.routes._lists import ListQuery, list_query
from o2c.api.schemas.invoices import InvoiceListPublic

router = APIRouter(prefix="/invoices", tags=["invoices"])


@router.get("", response_model=InvoiceListPublic, dependencies=[allow(*ALL_ROLES)])
def list_invoices(query: Annotated[ListQuery, list_query("invoices", by_customer=True)]
                  ) -> InvoiceListPublic:
    """Invoices, a page at a time: search, filter open / overdue / paid / credited."""
    return query.page(InvoiceListPublic)
