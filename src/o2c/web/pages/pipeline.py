"""The pipeline: a board of open deals by stage, a funnel chart, cycle length; move a
deal between stages, win it with order lines (available stock shown), lose it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result
from o2c.domain.errors import O2CError
from o2c.domain.opportunity import OPEN_STAGES
from o2c.projections import lists, reports
from o2c.web import core
from o2c.web.pages import csv_report
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False)
#: Deals shown per stage column (the newest).
PER_STAGE = 50
#: Order lines the win form offers.
WIN_LINES = 3


def cycle_days(app: O2C) -> tuple[Decimal | None, int]:
    """The mean days from opening to winning, over the newest won deals (up to a page)."""
    won = lists.opportunities(app.db, app.places, limit=lists.MAX_LIMIT, status="won").items
    days = [(datetime.fromisoformat(o.updated_at.replace("Z", "+00:00"))
             - datetime.fromisoformat(o.opened_at.replace("Z", "+00:00"))).total_seconds()
            / 86400 for o in won if o.updated_at and o.opened_at]
    if not days:
        return None, 0
    return Decimal(str(round(sum(days) / len(days), 1))), len(days)


def _board(request: Request, who: Viewer, error: str = "", status: int = 200) -> Response:
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    report = reports.pipeline(app.db, app.places)
    columns: list[dict[str, Any]] = []
    for row in report["stages"]:
        page = lists.opportunities(app.db, app.places, limit=PER_STAGE, status=row["stage"])
        columns.append({**row, "deals": page.items, "more": page.next_cursor is not None})
    chart = {"labels": [r["stage"] for r in report["stages"]], "datasets": [
        {"label": "Amount", "data": [str(r["amount"]) for r in report["stages"]],
         "backgroundColor": "#0b5cad"},
        {"label": "Weighted", "data": [str(r["weighted_amount"]) for r in report["stages"]],
         "backgroundColor": "#1b6b2f"}]}
    cycle, won_count = cycle_days(app)
    return core.render(request, who, "pipeline.html", status=status, error=error,
                       report=report, columns=columns, chart=chart, cycle=cycle,
                       won_count=won_count, stages=list(OPEN_STAGES))


@router.get("/pipeline")
def pipeline(request: Request) -> Response:
    """The board of open deals by stage, with the funnel and the figures."""
    return _board(request, core.signed_in(request))


@router.get("/pipeline.csv")
def pipeline_csv(request: Request) -> Response:
    """The pipeline report per stage as CSV (open stages, then won and lost)."""
    core.signed_in(request)
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    report = reports.pipeline(app.db, app.places)
    rows = [*report["stages"],
            {"stage": "won", **report["won"]}, {"stage": "lost", **report["lost"]}]
    return csv_report("pipeline.csv", ["stage", "count", "amount", "weighted_amount"], rows)


def _page(req: Request, who: Viewer, error: str, status: int) -> Response:
    return _board(req, who, error, status)


@router.post("/pipeline/{opportunity_id}/stage")
async def move(request: Request, opportunity_id: str) -> Response:
    """Moves a deal to another open stage."""
    return await core.perform(
        request, "opportunity.stage",
        lambda app, ctx, form: app.change_stage(ctx, opportunity_id, form.get("stage")),
        _page, then=lambda r: "/pipeline", done=lambda r: "Deal moved.")


@router.post("/pipeline/{opportunity_id}/lose")
async def lose(request: Request, opportunity_id: str) -> Response:
    """Closes a deal as lost, with the reason."""
    return await core.perform(
        request, "opportunity.lose",
        lambda app, ctx, form: app.lose_opportunity(ctx, opportunity_id, form.get("reason")),
        _page, then=lambda r: "/pipeline", done=lambda r: "Deal lost.")


def _win_page(request: Request, who: Viewer, opportunity_id: str, error: str = "",
              status: int = 200) -> Response:
    app: O2C = request.app.state.o2c
    try:
        deal = app.opportunity(opportunity_id)
    except O2CError as exc:
        return core.refusal(request, who, exc.message, 404)
    stock = lists.stock_items(app.db, app.places, limit=lists.MAX_LIMIT)
    return core.render(request, who, "win.html", status=status, error=error, deal=deal,
                       stock=stock.items, lines=WIN_LINES)


@router.get("/pipeline/{opportunity_id}/win")
def win_form(request: Request, opportunity_id: str) -> Response:
    """The win form: order lines, with each SKU's available quantity."""
    return _win_page(request, core.signed_in(request, "opportunity.win"), opportunity_id)


@router.post("/pipeline/{opportunity_id}/win")
async def win(request: Request, opportunity_id: str) -> Response:
    """Closes a deal as won: it becomes a sales order (shown next)."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.win_opportunity(ctx, opportunity_id,
                                   form.lines("sku", "quantity", "unit_price"))

    def page(req: Request, who: Viewer, error: str, status: int) -> Response:
        return _win_page(req, who, opportunity_id, error, status)

    return await core.perform(request, "opportunity.win", run, page,
                              then=lambda r: "/orders/" + str(r.extra.get("order_id", "")),
                              done=lambda r: "Deal won: the sales order is placed.")
