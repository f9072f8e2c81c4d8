"""The opportunity list read model: every deal with its customer, amount, stage and
expected close, for paged, searched and filtered lists (``lists.opportunities``)."""

from __future__ import annotations

from typing import Any

from o2c.domain.opportunity import LOST, STAGES, WON, Opportunity
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id
from o2c.projections.lists import search_text


class OpportunityList(ReadModel):
    """Per opportunity: customer, title, amount, stage and probability, expected close,
    lead, won order or lost reason; where it was opened in the log and its search text."""

    name = "opportunity_list"
    tables = (Table("rm_opportunity_list", ("id",), (
        "id TEXT", "position BIGINT", "customer_id TEXT", "title TEXT", "amount BIGINT",
        "stage TEXT", "probability INTEGER", "expected_close_date TEXT", "lead_id TEXT",
        "order_id TEXT", "lost_reason TEXT", "opened_at TEXT", "updated_at TEXT",
        "search TEXT")),)
    indexes = (
        "CREATE INDEX IF NOT EXISTS {s}rm_opportunity_list_position ON {t}rm_opportunity_list "
        "(position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_opportunity_list_stage ON {t}rm_opportunity_list "
        "(stage, position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_opportunity_list_customer ON {t}rm_opportunity_list "
        "(customer_id, position)",
    )

    def register(self) -> None:
        self.on(Opportunity.Opened, self._opened)
        self.on(Opportunity.StageChanged, lambda e, r: self._move(
            e, r, e.event.stage, e.event.probability))
        self.on(Opportunity.Won, lambda e, r: self._move(
            e, r, WON, STAGES[WON], order_id=str(e.event.order_id)))
        self.on(Opportunity.Lost, lambda e, r: self._move(
            e, r, LOST, STAGES[LOST], lost_reason=e.event.reason))

    def _opened(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_opportunity_list", (aggregate_id(e),), {
            "id": aggregate_id(e), "position": e.position,
            "customer_id": str(event.customer_id), "title": event.title,
            "amount": self.minor(event.amount), "stage": "prospecting",
            "probability": STAGES["prospecting"],
            "expected_close_date": event.expected_close_date.isoformat(),
            "lead_id": str(event.lead_id) if event.lead_id else None, "order_id": None,
            "lost_reason": "", "opened_at": e.recorded_at, "updated_at": e.recorded_at,
            "search": search_text(event.title, aggregate_id(e))})

    @staticmethod
    def _move(e: Envelope, rows: Rows, stage: str, probability: int, **changes: str) -> None:
        opportunity = rows.get("rm_opportunity_list", (aggregate_id(e),))
        assert opportunity is not None, (
            f"opportunity {aggregate_id(e)} changed before it was opened")
        opportunity.update(changes, stage=stage, probability=probability,
                           updated_at=e.recorded_at)
        rows.put("rm_opportunity_list", (aggregate_id(e),), opportunity)
