"""The pipeline read model: opportunities by stage, leads by status."""

from __future__ import annotations

from typing import Any

from o2c.domain.lead import Lead
from o2c.domain.opportunity import STAGES, Opportunity
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id


class Pipeline(ReadModel):
    """Opportunities by stage (count, amount, weighted amount), win rate, lead conversion."""

    name = "pipeline"
    tables = (
        Table("rm_opportunities", ("id",), (
            "id TEXT", "customer_id TEXT", "title TEXT", "stage TEXT", "amount BIGINT",
            "probability INTEGER", "order_id TEXT", "lead_id TEXT")),
        Table("rm_pipeline_stages", ("stage",), (
            "stage TEXT", "count BIGINT", "amount BIGINT", "weighted BIGINT")),
        Table("rm_leads", ("id",), ("id TEXT", "company TEXT", "status TEXT")),
        Table("rm_lead_counts", ("status",), ("status TEXT", "count BIGINT")),
    )

    def register(self) -> None:
        self.on(Lead.Captured, self._lead_captured)
        self.on(Lead.Qualified, lambda e, r: self._lead_status(e, r, "qualified"))
        self.on(Lead.Disqualified, lambda e, r: self._lead_status(e, r, "disqualified"))
        self.on(Lead.Converted, lambda e, r: self._lead_status(e, r, "converted"))
        self.on(Opportunity.Opened, self._opened)
        self.on(Opportunity.StageChanged,
                lambda e, r: self._move(e, r, e.event.stage))
        self.on(Opportunity.Won, self._won)
        self.on(Opportunity.Lost, lambda e, r: self._move(e, r, "lost"))

    @staticmethod
    def _count(rows: Rows, status: str, delta: int) -> None:
        row = rows.get("rm_lead_counts", (status,)) or {"status": status, "count": 0}
        row["count"] += delta
        rows.put("rm_lead_counts", (status,), row)

    def _lead_captured(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_leads", (aggregate_id(e),),
                 {"id": aggregate_id(e), "company": event.company, "status": "new"})
        self._count(rows, "total", 1)
        self._count(rows, "new", 1)

    def _lead_status(self, e: Envelope, rows: Rows, status: str) -> None:
        lead = rows.get("rm_leads", (aggregate_id(e),))
        assert lead is not None, f"lead {aggregate_id(e)} changed before it was captured"
        self._count(rows, lead["status"], -1)
        self._count(rows, status, 1)
        lead["status"] = status
        rows.put("rm_leads", (aggregate_id(e),), lead)

    @staticmethod
    def _stage(rows: Rows, stage: str, count: int, amount: int, probability: int) -> None:
        row = rows.get("rm_pipeline_stages", (stage,)) or {
            "stage": stage, "count": 0, "amount": 0, "weighted": 0}
        row["count"] += count
        row["amount"] += amount * count
        row["weighted"] += amount * probability * count
        rows.put("rm_pipeline_stages", (stage,), row)

    def _opened(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        amount = self.minor(event.amount)
        rows.put("rm_opportunities", (aggregate_id(e),), {
            "id": aggregate_id(e), "customer_id": str(event.customer_id), "title": event.title,
            "stage": "prospecting", "amount": amount, "probability": STAGES["prospecting"],
            "order_id": None, "lead_id": str(event.lead_id) if event.lead_id else None})
        self._stage(rows, "prospecting", 1, amount, STAGES["prospecting"])

    def _move(self, e: Envelope, rows: Rows, stage: str) -> None:
        opp = rows.get("rm_opportunities", (aggregate_id(e),))
        assert opp is not None, f"opportunity {aggregate_id(e)} changed before it was opened"
        self._stage(rows, opp["stage"], -1, opp["amount"], opp["probability"])
        opp["stage"], opp["probability"] = stage, STAGES[stage]
        self._stage(rows, stage, 1, opp["amount"], opp["probability"])
        rows.put("rm_opportunities", (aggregate_id(e),), opp)

    def _won(self, e: Envelope, rows: Rows) -> None:
        self._move(e, rows, "won")
        opp = rows.get("rm_opportunities", (aggregate_id(e),))
        assert opp is not None
        opp["order_id"] = str(e.event.order_id)
        rows.put("rm_opportunities", (aggregate_id(e),), opp)
