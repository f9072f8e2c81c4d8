"""Follow-ups: the open tasks per owner (overdue first) with the forms to complete and
reschedule them, the stale leads and deals; and a lead's, deal's or customer's
activities with the form to log a call, e-mail, meeting or task."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result
from o2c.domain.activity import KINDS, SUBJECTS
from o2c.domain.errors import NotFoundError
from o2c.projections import activities
from o2c.web import core
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False)
PAGE = "/follow-ups"


def _follow_ups(request: Request, who: Viewer, error: str = "", status: int = 200) -> Response:
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    owner = request.query_params.get("owner", "")[:200].strip()
    today = datetime.now(UTC).date()
    report = activities.follow_ups(app.db, today, owner or None)
    stale = activities.stale(app.db, today, app.settings.stale_days)
    return core.render(request, who, "follow_ups.html", status=status, error=error,
                       report=report, owner=owner, stale=stale,
                       stale_days=app.settings.stale_days, today=today.isoformat())


@router.get(PAGE)
def follow_ups(request: Request) -> Response:
    """Open follow-ups per owner, overdue first; the stale leads and deals."""
    return _follow_ups(request, core.signed_in(request))


def _subject(request: Request, who: Viewer, error: str = "", status: int = 200) -> Response:
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    kind = request.path_params["kind"]
    subject_id = request.path_params["subject_id"]
    found = activities.subject_of(app.db, subject_id) if kind in SUBJECTS else None
    if found is None or found["kind"] != kind:
        return core.refusal(request, who, f"No {kind} {subject_id}.", 404)
    return core.render(request, who, "activities.html", status=status, error=error,
                       subject=found, items=activities.activities_of(app.db, subject_id),
                       summary=activities.subject_activity(app.db, subject_id),
                       kinds=KINDS, today=datetime.now(UTC).date().isoformat())


@router.get(PAGE + "/{kind}/{subject_id}")
def subject_activities(request: Request, kind: str, subject_id: str) -> Response:
    """A lead's, deal's or customer's activities, with the form to log one."""
    return _subject(request, core.signed_in(request))


@router.post(PAGE + "/{kind}/{subject_id}")
async def log(request: Request, kind: str, subject_id: str) -> Response:
    """Logs a call, e-mail, meeting or task against the subject."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        if kind not in SUBJECTS:
            raise NotFoundError(f"no {kind} {subject_id}")
        return app.log_activity(ctx, kind, subject_id, form.get("kind"), form.get("note"),
                                due_date=form.optional("due_date"),
                                owner=form.optional("owner"),
                                outcome=form.optional("outcome"), date=form.optional("date"))

    return await core.perform(
        request, "activity.log", run, _subject,
        then=lambda r: f"{PAGE}/{core.quoted(kind)}/{core.quoted(subject_id)}",
        done=lambda r: "Task set." if r.extra.get("status") == "open" else "Activity logged.")


@router.post(PAGE + "/activity/{activity_id}/complete")
async def complete(request: Request, activity_id: str) -> Response:
    """Marks an open task done, with its outcome."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.complete_activity(ctx, activity_id, form.optional("outcome"),
                                     form.optional("date"))

    return await core.perform(request, "activity.complete", run, _follow_ups,
                              then=lambda r: PAGE, done=lambda r: "Task completed.")


@router.post(PAGE + "/activity/{activity_id}/reschedule")
async def reschedule(request: Request, activity_id: str) -> Response:
    """Gives an open task another due date."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.reschedule_activity(ctx, activity_id, form.get("due_date"))

    return await core.perform(
        request, "activity.reschedule", run, _follow_ups, then=lambda r: PAGE,
        done=lambda r: f"Task rescheduled to {r.extra.get('due_date', '')}.")
