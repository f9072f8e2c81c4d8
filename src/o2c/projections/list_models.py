"""The read models behind the paged lists (``lists``), registered in ``read_models``."""

from __future__ import annotations

from o2c.projections.base import ReadModel
from o2c.projections.customers import CustomerList
from o2c.projections.invoices import InvoiceList
from o2c.projections.journal_entries import JournalList
from o2c.projections.leads import LeadList
from o2c.projections.opportunities import OpportunityList
from o2c.projections.orders import OrderList

LIST_MODELS: tuple[type[ReadModel], ...] = (CustomerList, LeadList, OpportunityList, OrderList,
                                            InvoiceList, JournalList)
