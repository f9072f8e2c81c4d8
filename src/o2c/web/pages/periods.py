"""Accounting periods: how far the books are closed, the closed years, and the close,
reopen and year-end forms (finance and admin)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result
from o2c.web import core
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False)
PAGE = "/books/periods"


def _page(request: Request, who: Viewer, error: str = "", status: int = 200) -> Response:
    app: O2C = request.app.state.o2c
    periods = app.periods()
    years = sorted((periods.closed_years if periods else {}).items(), reverse=True)
    return core.render(request, who, "periods.html", status=status, error=error,
                       closed_through=periods.closed_through if periods else None,
                       years=[{"year": year, "entry_id": str(entry) if entry else None}
                              for year, entry in years],
                       version=periods.version if periods else None)


@router.get(PAGE)
def periods_page(request: Request) -> Response:
    """How far the books are closed and which years, with the forms to change it."""
    return _page(request, core.signed_in(request))


@router.post(PAGE)
async def close(request: Request) -> Response:
    """Closes the books through a date (not after today)."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.close_period(ctx, form.get("through"), form.get("note"))

    return await core.perform(
        request, "period.close", run, _page, then=lambda r: PAGE,
        done=lambda r: f"Books closed through {r.extra.get('closed_through', '')}.")


@router.post(PAGE + "/reopen")
async def reopen(request: Request) -> Response:
    """Reopens the periods after a date, with a reason."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.reopen_period(ctx, form.get("through"), form.get("reason"))

    def said(r: Result) -> str:
        years = ", ".join(str(y) for y in r.extra.get("reopened_years", []))
        return (f"Books reopened: closed through {r.extra.get('closed_through', '')}."
                + (f" Year {years} reopened, its closing entry reversed." if years else ""))

    return await core.perform(request, "period.reopen", run, _page, then=lambda r: PAGE,
                              done=said)


@router.post(PAGE + "/year-end")
async def year_end(request: Request) -> Response:
    """Closes a year: revenue and expenses to retained earnings."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.year_end(ctx, form.get("year"))

    return await core.perform(
        request, "period.year_end", run, _page, then=lambda r: PAGE,
        done=lambda r: f"Year {r.extra.get('year', '')} closed"
                       + (f" by entry {r.extra['entry_id']}." if r.extra.get("entry_id")
                          else " (nothing to move)."))
