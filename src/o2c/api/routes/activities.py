"""Activities and follow-ups: calls, e-mails, meetings and tasks logged against leads,
deals and customers; tasks completed or rescheduled; the open follow-ups per owner."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, ProjectorDep, allow
from o2c.api.routes._common import WAIT_SECONDS, answer, example, fresh, versioned
from o2c.api.schemas.activities import (
    ActivityLoggedPublic,
    ActivityPublic,
    CompleteActivity,
    FollowUpsPublic,
    LogActivity,
    RescheduleActivity,
)
from o2c.api.schemas.common import ExactJSONRoute
from o2c.application import O2C, Context
from o2c.domain.activity import CUSTOMER, LEAD, OPPORTUNITY
from o2c.domain.errors import InvalidInputError
from o2c.projections import activities

router = APIRouter(tags=["activities"], route_class=ExactJSONRoute)
SALES = [allow("sales")]
_CALL = example("A call with an outcome", {"kind": "call", "note": "Intro call with Dana",
                                           "outcome": "Wants a quote"})
_TASK = example("A follow-up task", {"kind": "task", "note": "Send the quote",
                                     "due_date": "2026-12-31", "owner": "sam"})


def _log(app: O2C, ctx: Context, subject_kind: str, subject_id: str,
         body: LogActivity) -> ActivityLoggedPublic:
    return answer(app.log_activity(ctx, subject_kind, subject_id, body.kind, body.note,
                                   due_date=body.due_date, owner=body.owner,
                                   outcome=body.outcome, date=body.date),
                  ActivityLoggedPublic)


@router.post("/leads/{lead_id}/activities", status_code=201,
             response_model=ActivityLoggedPublic, dependencies=SALES)
def log_lead_activity(app: AppDep, ctx: ContextDep, lead_id: PathId,
                      body: Annotated[LogActivity, _CALL]) -> ActivityLoggedPublic:
    """Log a call, e-mail, meeting or task against a lead."""
    return _log(app, ctx, LEAD, lead_id, body)


@router.post("/opportunities/{opportunity_id}/activities", status_code=201,
             response_model=ActivityLoggedPublic, dependencies=SALES)
def log_opportunity_activity(app: AppDep, ctx: ContextDep, opportunity_id: PathId,
                             body: Annotated[LogActivity, _TASK]) -> ActivityLoggedPublic:
    """Log a call, e-mail, meeting or task against a deal."""
    return _log(app, ctx, OPPORTUNITY, opportunity_id, body)


@router.post("/customers/{customer_id}/activities", status_code=201,
             response_model=ActivityLoggedPublic, dependencies=SALES)
def log_customer_activity(app: AppDep, ctx: ContextDep, customer_id: PathId,
                          body: Annotated[LogActivity, _CALL]) -> ActivityLoggedPublic:
    """Log a call, e-mail, meeting or task against a customer."""
    return _log(app, ctx, CUSTOMER, customer_id, body)


@router.post("/activities/{activity_id}/complete", response_model=ActivityLoggedPublic,
             dependencies=SALES)
def complete_activity(app: AppDep, ctx: ContextDep, activity_id: PathId, body: Annotated[
        CompleteActivity, example("Done", {"outcome": "Quote sent"})]) -> ActivityLoggedPublic:
    """Mark an open task done, with its outcome."""
    return answer(app.complete_activity(ctx, activity_id, body.outcome, body.date),
                  ActivityLoggedPublic)


@router.post("/activities/{activity_id}/reschedule", response_model=ActivityLoggedPublic,
             dependencies=SALES)
def reschedule_activity(app: AppDep, ctx: ContextDep, activity_id: PathId, body: Annotated[
        RescheduleActivity, example("Next week", {"due_date": "2027-01-08"})]
                        ) -> ActivityLoggedPublic:
    """Give an open task another due date."""
    return answer(app.reschedule_activity(ctx, activity_id, body.due_date),
                  ActivityLoggedPublic)


@router.get("/activities/{activity_id}", response_model=ActivityPublic,
            dependencies=[allow(*ALL_ROLES)])
def get_activity(response: Response, app: AppDep, activity_id: PathId) -> ActivityPublic:
    """An activity's current state."""
    a = app.activity(activity_id)
    return versioned(response, ActivityPublic(
        id=str(a.id), version=a.version, subject_kind=a.subject_kind,
        subject_id=str(a.subject_id), kind=a.kind, note=a.note, owner=a.owner,
        outcome=a.outcome, date=a.date, due_date=a.due_date, status=a.status,
        completed_on=a.completed_on))


After = Annotated[int | None, Query(ge=0, le=2**62, description=(
    f"A log position from a command's answer: wait (up to {WAIT_SECONDS:g} s) until the "
    "read models have reached it."))]
AsOf = Annotated[str | None, Query(
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", json_schema_extra={"format": "date"},
    description="The business date overdue is judged by, YYYY-MM-DD; today (UTC) when "
                "omitted.")]
Owner = Annotated[str | None, Query(min_length=1, max_length=200,
                                    description="Only this owner's follow-ups.")]


@router.get("/reports/follow-ups", response_model=FollowUpsPublic,
            dependencies=[allow(*ALL_ROLES)])
def follow_ups(app: AppDep, projector: ProjectorDep, owner: Owner = None, as_of: AsOf = None,
               after: After = None) -> dict[str, Any]:
    """Open follow-ups (tasks not done) per owner: overdue first, then by due date."""
    if as_of is None:
        today = datetime.now(UTC).date()
    else:
        try:
            today = date.fromisoformat(as_of)
        except ValueError:
            raise InvalidInputError(f"not a calendar date: {as_of!r}") from None
    position = fresh(projector, after)
    return {"position": position, **activities.follow_ups(app.db, today, owner)}
