"""o2c: an event-sourced order-to-cash engine.

CRM (leads, customers, opportunities) and ERP (sales orders, stock, the general
ledger) recorded as immutable events on one append-only log, with read models
projected from it.
"""

__version__ = "0.1.0"
