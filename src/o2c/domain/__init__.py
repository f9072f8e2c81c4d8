"""The o2c domain: aggregates, their events, money and errors.

Imports only the standard library and ``eventsourcing.domain``.
"""

from o2c.domain.customer import Customer
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.lead import Lead
from o2c.domain.ledger_account import LedgerAccount
from o2c.domain.opportunity import Opportunity
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem

__all__ = ["Customer", "JournalEntry", "Lead", "LedgerAccount", "Opportunity", "SalesOrder",
           "StockItem"]
