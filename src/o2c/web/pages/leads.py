"""Leads: the list with filters; capture, qualify, disqualify, convert."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result
from o2c.domain.errors import O2CError
from o2c.projections import lists
from o2c.web import core
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False, route_class=core.BrowserRoute)
PAGE = 50


def _leads(request: Request, who: Viewer, error: str = "", status: int = 200) -> Response:
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    params = request.query_params
    chosen = params.get("status", "")[:40]
    try:
        page = lists.leads(app.db, app.places, limit=PAGE, cursor=params.get("cursor") or None,
                           q=params.get("q") or None, status=chosen or None)
    except O2CError as exc:
        page, error, status = lists.Page(items=[], next_cursor=None), exc.message, 422
    template = "leads_table.html" if request.headers.get("HX-Request") else "leads.html"
    return core.render(request, who, template, status=status, error=error, page=page,
                       chosen=chosen, q=params.get("q", "")[:100],
                       statuses=list(lists.STATUSES["leads"]))


@router.get("/leads")
def leads(request: Request) -> Response:
    """Leads, newest first, filtered by status and text."""
    return _leads(request, core.signed_in(request))


def _page(req: Request, who: Viewer, error: str, status: int) -> Response:
    return _leads(req, who, error, status)


@router.post("/leads")
async def capture(request: Request) -> Response:
    """Captures a new lead."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.capture_lead(ctx, form.get("name"), form.get("company"), form.get("email"),
                                form.get("source"))

    return await core.perform(request, "lead.capture", run, _page,
                              then=lambda r: "/leads", done=lambda r: "Lead captured.")


@router.post("/leads/{lead_id}/qualify")
async def qualify(request: Request, lead_id: str) -> Response:
    """Qualifies a new lead."""
    return await core.perform(request, "lead.qualify",
                              lambda app, ctx, form: app.qualify_lead(ctx, lead_id), _page,
                              then=lambda r: "/leads", done=lambda r: "Lead qualified.")


@router.post("/leads/{lead_id}/disqualify")
async def disqualify(request: Request, lead_id: str) -> Response:
    """Disqualifies a lead, with the reason."""
    return await core.perform(
        request, "lead.disqualify",
        lambda app, ctx, form: app.disqualify_lead(ctx, lead_id, form.get("reason")), _page,
        then=lambda r: "/leads", done=lambda r: "Lead disqualified.")


@router.post("/leads/{lead_id}/convert")
async def convert(request: Request, lead_id: str) -> Response:
    """Converts a lead into a customer and an opportunity, and shows the pipeline."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.convert_lead(ctx, lead_id, {
            "title": form.get("title"), "amount": form.get("amount"),
            "expected_close_date": form.get("expected_close_date")})

    return await core.perform(request, "lead.convert", run, _page,
                              then=lambda r: "/pipeline",
                              done=lambda r: "Lead converted: a customer and an opportunity.")
