"""Reports from the read models, with read-your-writes (``?after=POSITION``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from o2c.api.deps import ALL_ROLES, AppDep, ProjectorDep, allow
from o2c.api.models import ArAgingPublic, InventoryPublic, PipelinePublic, TrialBalancePublic
from o2c.domain.errors import InvalidInputError
from o2c.projections import reports

router = APIRouter(prefix="/reports", tags=["reports"], dependencies=[allow(*ALL_ROLES)])
After = Annotated[int | None, Query(ge=0, le=2**62, description=(
    "A log position from a command's answer: wait (up to 2 s) until the read models "
    "have reached it, so the report shows that write."))]
WAIT_SECONDS = 2.0


AsOf = Annotated[str | None, Query(
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", json_schema_extra={"format": "date"},
    description="An effective date, YYYY-MM-DD: postings effective on or before it.")]
KnownAt = Annotated[str | None, Query(
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
            r"(Z|[+-][0-9]{2}:?[0-9]{2})?$",
    json_schema_extra={"format": "date-time"},
    description="A recording time, ISO 8601 (UTC when no offset): only what had been "
                "recorded by then.")]


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"not a calendar date: {value!r}") from None


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"not an ISO 8601 time: {value!r}") from None


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
                  as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """Per account: debit, credit, balance; totals. As of a date, as known at a time."""
    day, moment = _day(as_of), _moment(known_at)
    return _with(_fresh(projector, after),
                 reports.trial_balance(app, as_of=day, known_at=moment))


@router.get("/ar-aging", response_model=ArAgingPublic)
def ar_aging(app: AppDep, projector: ProjectorDep, after: After = None,
             as_of: AsOf = None) -> dict[str, Any]:
    """Open invoices by age bucket (as of a date; today by default)."""
    day = _day(as_of)
    return _with(_fresh(projector, after), reports.ar_aging(app, as_of=day))
