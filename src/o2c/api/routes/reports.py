"""Reports from the read models, with read-your-writes (``?after=POSITION``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from o2c.api.deps import ALL_ROLES, AppDep, ProjectorDep, allow
from o2c.api.models import ArAgingPublic, InventoryPublic, PipelinePublic, TrialBalancePublic
from o2c.projections import reports

router = APIRouter(prefix="/reports", tags=["reports"], dependencies=[allow(*ALL_ROLES)])
After = Annotated[int | None, Query(ge=0, le=2**62, description=(
    "A log position from a command's answer: wait (up to 2 s) until the read models "
    "have reached it, so the report shows that write."))]
WAIT_SECONDS = 2.0


def _fresh(projector: ProjectorDep, after: int | None) -> int:
    if after is not None:
        projector.wait_for(after, timeout=WAIT_SECONDS)
    return projector.position()


def _with(position: int, report: dict[str, Any]) -> dict[str, Any]:
    return {"position": position, **report}


@router.get("/pipeline", response_model=PipelinePublic)
def pipeline(app: AppDep, projector: ProjectorDep, after: After = None) -> dict[str, Any]:
    """Open deals per stage (count, amount, weighted amount), win rate, lead conversion."""
    return _with(_fresh(projector, after), reports.pipeline(app))


@router.get("/inventory", response_model=InventoryPublic)
def inventory(app: AppDep, projector: ProjectorDep, after: After = None) -> dict[str, Any]:
    """Per SKU: on hand, reserved, available and value."""
    return _with(_fresh(projector, after), reports.inventory(app))


@router.get("/trial-balance", response_model=TrialBalancePublic)
def trial_balance(app: AppDep, projector: ProjectorDep, after: After = None,
                  as_of: Annotated[date | None, Query(
                      description="Postings effective on or before this date.")] = None,
                  known_at: Annotated[datetime | None, Query(
                      description="Only what had been recorded by this time.")] = None,
                  ) -> dict[str, Any]:
    """Per account: debit, credit, balance; totals. As of a date, as known at a time."""
    return _with(_fresh(projector, after),
                 reports.trial_balance(app, as_of=as_of, known_at=known_at))


@router.get("/ar-aging", response_model=ArAgingPublic)
def ar_aging(app: AppDep, projector: ProjectorDep, after: After = None,
             as_of: Annotated[date | None, Query(
                 description="Age invoices as of this date (today by default).")] = None,
             ) -> dict[str, Any]:
    """Open invoices by age bucket."""
    return _with(_fresh(projector, after), reports.ar_aging(app, as_of=as_of))
