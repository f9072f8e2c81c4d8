"""The customer list read model: every customer, in the order registered, for paged
and searched lists (``o2c.projections.lists.customers``)."""

from __future__ import annotations

from typing import Any

from o2c.domain.customer import Customer
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id
from o2c.projections.lists import search_text


class CustomerList(ReadModel):
    """Per customer: name, e-mail, credit limit, terms, originating lead; where it was
    registered in the log (the list's stable order) and its search text."""

    name = "customer_list"
    tables = (Table("rm_customer_list", ("id",), (
        "id TEXT", "position BIGINT", "name TEXT", "email TEXT", "credit_limit BIGINT",
        "payment_terms_days INTEGER", "lead_id TEXT", "registered_at TEXT", "sort_name TEXT",
        "search TEXT")),)
    indexes = (
        "CREATE INDEX IF NOT EXISTS {s}rm_customer_list_position ON {t}rm_customer_list "
        "(position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_customer_list_name ON {t}rm_customer_list "
        "(sort_name, position)",
    )

    def register(self) -> None:
        self.on(Customer.Registered, self._registered)
        self.on(Customer.CreditLimitChanged, self._limit_changed)

    def _limit_changed(self, e: Envelope, rows: Rows) -> None:
        row = rows.get("rm_customer_list", (aggregate_id(e),))
        assert row is not None, f"customer {aggregate_id(e)} changed before it was registered"
        limit = e.event.credit_limit
        row["credit_limit"] = None if limit is None else self.minor(limit)
        rows.put("rm_customer_list", (aggregate_id(e),), row)

    def _registered(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        limit = event.credit_limit
        rows.put("rm_customer_list", (aggregate_id(e),), {
            "id": aggregate_id(e), "position": e.position, "name": event.name,
            "email": event.email, "credit_limit": None if limit is None else self.minor(limit),
            "payment_terms_days": event.payment_terms_days,
            "lead_id": str(event.lead_id) if event.lead_id else None,
            "registered_at": e.recorded_at, "sort_name": event.name.casefold(),
            "search": search_text(event.name, event.email, aggregate_id(e))})
