"""Reports from the read models, with read-your-writes (``?after=POSITION``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from o2c.api.deps import ALL_ROLES, AppDep, ProjectorDep, allow
from o2c.api.routes._common import WAIT_SECONDS, fresh
from o2c.api.schemas.reports import (
    ArAgingPublic,
    InventoryPublic,
    PipelinePublic,
    TrialBalancePublic,
)
from o2c.domain.errors import InvalidInputError
from o2c.projections import reports

router = APIRouter(prefix="/reports", tags=["reports"], dependencies=[allow(*ALL_ROLES)])
After = Annotated[int | None, Query(ge=0, le=2**62, description=(
    f"A log position from a command's answer: wait (up to {WAIT_SECONDS:g} s) until the "
    "read models have reached it, so the report shows that write. The answer's "
    "`position` says how far the report reaches."))]


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
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # e.g. 9999-12-31T23:00-05:00 is in year 10000
        raise InvalidInputError(f"not an ISO 8601 time between years 1 and 9999: "
                                f"{value!r}") from None


def _with(position: int, report: dict[str, Any]) -> dict[str, Any]:
    return {"position": position, **report}


@router.get("/pipeline", response_model=PipelinePublic)
def pipeline(app: AppDep, projector: ProjectorDep, after: After = None) -> dict[str, Any]:
    """Open deals per stage (count, amount, weighted amount), win rate, lead conversion."""
    return _with(fresh(projector, after), reports.pipeline(app.db, app.places))


@router.get("/inventory", response_model=InventoryPublic)
def inventory(app: AppDep, projector: ProjectorDep, after: After = None) -> dict[str, Any]:
    """Per SKU: on hand, reserved, available and value."""
    return _with(fresh(projector, after), reports.inventory(app.db, app.places))


@router.get("/trial-balance", response_model=TrialBalancePublic)
def trial_balance(app: AppDep, projector: ProjectorDep, after: After = None,
                  as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """Per account: debit, credit, balance; totals. As of a date, as known at a time."""
    day, moment = _day(as_of), _moment(known_at)
    return _with(fresh(projector, after),
                 reports.trial_balance(app.db, app.places, as_of=day, known_at=moment))


@router.get("/ar-aging", response_model=ArAgingPublic)
def ar_aging(app: AppDep, projector: ProjectorDep, after: After = None,
             as_of: AsOf = None) -> dict[str, Any]:
    """Open invoices by age bucket (as of a date; today by default)."""
    day = _day(as_of)
    return _with(fresh(projector, after), reports.ar_aging(app.db, app.places, as_of=day))
