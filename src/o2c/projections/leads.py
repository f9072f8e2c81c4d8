"""The lead list read model: every lead with its contact, source and status, for paged,
searched and filtered lists (``o2c.projections.lists.leads``)."""

from __future__ import annotations

from typing import Any

from o2c.domain.lead import CONVERTED, DISQUALIFIED, NEW, QUALIFIED, Lead
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id
from o2c.projections.lists import search_text


class LeadList(ReadModel):
    """Per lead: name, company, e-mail, source, status (and why disqualified, or what it
    was converted into); where it was captured in the log and its search text."""

    name = "lead_list"
    tables = (Table("rm_lead_list", ("id",), (
        "id TEXT", "position BIGINT", "name TEXT", "company TEXT", "email TEXT", "source TEXT",
        "status TEXT", "reason TEXT", "customer_id TEXT", "opportunity_id TEXT",
        "captured_at TEXT", "updated_at TEXT", "sort_name TEXT", "search TEXT")),)
    indexes = (
        "CREATE INDEX IF NOT EXISTS {s}rm_lead_list_position ON {t}rm_lead_list (position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_lead_list_status ON {t}rm_lead_list "
        "(status, position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_lead_list_name ON {t}rm_lead_list "
        "(sort_name, position)",
    )

    def register(self) -> None:
        self.on(Lead.Captured, self._captured)
        self.on(Lead.Qualified, lambda e, r: self._status(e, r, QUALIFIED))
        self.on(Lead.Disqualified, lambda e, r: self._status(
            e, r, DISQUALIFIED, reason=e.event.reason))
        self.on(Lead.Converted, lambda e, r: self._status(
            e, r, CONVERTED, customer_id=str(e.event.customer_id),
            opportunity_id=str(e.event.opportunity_id)))

    def _captured(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_lead_list", (aggregate_id(e),), {
            "id": aggregate_id(e), "position": e.position, "name": event.name,
            "company": event.company, "email": event.email, "source": event.source,
            "status": NEW, "reason": "", "customer_id": None, "opportunity_id": None,
            "captured_at": e.recorded_at, "updated_at": e.recorded_at,
            "sort_name": event.name.casefold(),
            "search": search_text(event.name, event.company, event.email, event.source,
                                  aggregate_id(e))})

    @staticmethod
    def _status(e: Envelope, rows: Rows, status: str, **changes: str) -> None:
        lead = rows.get("rm_lead_list", (aggregate_id(e),))
        assert lead is not None, f"lead {aggregate_id(e)} changed before it was captured"
        lead.update(changes, status=status, updated_at=e.recorded_at)
        rows.put("rm_lead_list", (aggregate_id(e),), lead)
