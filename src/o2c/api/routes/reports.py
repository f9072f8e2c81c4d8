"""Reports from the read models, with read-your-writes (``?after=POSITION``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from o2c.api.deps import ALL_ROLES, AppDep, PathId, ProjectorDep, allow
from o2c.api.routes._common import WAIT_SECONDS, fresh
from o2c.api.schemas.reports import (
    ArAgingPublic,
    BalanceSheetPublic,
    InventoryPublic,
    LedgerPublic,
    PipelinePublic,
    ProfitAndLossPublic,
    TrialBalancePublic,
)
from o2c.domain.errors import InvalidInputError
from o2c.projections import ledger_reports, reports

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
    return _with(fresh(projector, after), reports.pipeline(
        app.db, app.places, stale_days=app.settings.stale_days))


@router.get("/inventory", response_model=InventoryPublic)
def inventory(app: AppDep, projector: ProjectorDep, after: After = None) -> dict[str, Any]:
    """Per SKU: on hand, reserved, available and value."""
    return _with(fresh(projector, after), reports.inventory(app.db, app.places))


_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
From = Annotated[str | None, Query(
    alias="from", pattern=_DATE, json_schema_extra={"format": "date"},
    description="The first effective date, YYYY-MM-DD (inclusive); the beginning when "
                "omitted.")]
To = Annotated[str | None, Query(
    pattern=_DATE, json_schema_extra={"format": "date"},
    description="The last effective date, YYYY-MM-DD (inclusive); today when omitted.")]
Monthly = Annotated[bool, Query(description="Also per calendar month of the range.")]


@router.get("/trial-balance", response_model=TrialBalancePublic)
def trial_balance(app: AppDep, projector: ProjectorDep, after: After = None,
                  as_of: AsOf = None, known_at: KnownAt = None, start: From = None,
                  to: To = None, monthly: Monthly = False) -> dict[str, Any]:
    """Per account: debit, credit, balance; totals. As of a date, as known at a time;
    with from/to, opening, movement and closing per account."""
    day, moment = _day(as_of), _moment(known_at)
    if start is None and to is None and not monthly:
        return _with(fresh(projector, after),
                     reports.trial_balance(app.db, app.places, as_of=day, known_at=moment))
    if day is not None:
        raise InvalidInputError("give as_of or from/to, not both (to is the range's as_of)")
    return _with(fresh(projector, after), ledger_reports.trial_balance_range(
        app.db, app.places, start=_day(start), end=_day(to), known_at=moment,
        monthly=monthly))


@router.get("/ledger/{code}", response_model=LedgerPublic)
def ledger(app: AppDep, projector: ProjectorDep, code: PathId, after: After = None,
           start: From = None, to: To = None, known_at: KnownAt = None,
           limit: Annotated[int, Query(ge=1, le=ledger_reports.MAX_LIMIT, description=(
               "Lines per page."))] = ledger_reports.DEFAULT_LIMIT,
           cursor: Annotated[str | None, Query(max_length=200, description=(
               "A `next_cursor` from the previous page of the same ledger."))] = None,
           ) -> dict[str, Any]:
    """An account's postings in a date range: opening balance, lines with running
    balance and their cause, closing balance."""
    return _with(fresh(projector, after), ledger_reports.ledger(
        app.db, app.places, code, start=_day(start), end=_day(to), known_at=_moment(known_at),
        limit=limit, cursor=cursor))


@router.get("/pnl", response_model=ProfitAndLossPublic)
def profit_and_loss(app: AppDep, projector: ProjectorDep, after: After = None,
                    start: From = None, to: To = None, monthly: Monthly = False,
                    known_at: KnownAt = None) -> dict[str, Any]:
    """Profit and loss for a period (without the year-end close), optionally per month."""
    return _with(fresh(projector, after), ledger_reports.profit_and_loss(
        app.db, app.places, start=_day(start), end=_day(to), known_at=_moment(known_at),
        monthly=monthly))


@router.get("/balance-sheet", response_model=BalanceSheetPublic)
def balance_sheet(app: AppDep, projector: ProjectorDep, after: After = None,
                  as_of: AsOf = None, known_at: KnownAt = None) -> dict[str, Any]:
    """Assets, liabilities and equity (with the unclosed profit) at a date."""
    return _with(fresh(projector, after), ledger_reports.balance_sheet(
        app.db, app.places, as_of=_day(as_of), known_at=_moment(known_at)))


@router.get("/ar-aging", response_model=ArAgingPublic)
def ar_aging(app: AppDep, projector: ProjectorDep, after: After = None,
             as_of: AsOf = None) -> dict[str, Any]:
    """Open invoices by age bucket (as of a date; today by default)."""
    day = _day(as_of)
    return _with(fresh(projector, after), reports.ar_aging(app.db, app.places, as_of=day))
