"""Opportunities: the pipeline, and the hand-over of won deals as sales orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, allow
from o2c.api.routes._common import answer, example, lines_of, versioned
from o2c.api.routes._lists import ListQuery, list_query
from o2c.api.schemas.common import CommandPublic, ExactJSONRoute
from o2c.api.schemas.opportunities import (
    ChangeStage,
    LoseOpportunity,
    OpenOpportunity,
    OpportunityListPublic,
    OpportunityPublic,
    OpportunityWonPublic,
    OrderProgressPublic,
    QuoteOpportunity,
    QuotePublic,
    QuoteSummaryPublic,
    WinOpportunity,
)
from o2c.domain.errors import NotFoundError
from o2c.projections.activities import subject_activity

router = APIRouter(prefix="/opportunities", tags=["opportunities"], route_class=ExactJSONRoute)
SALES = [allow("sales")]
#: A win's body may be left out: the latest quote becomes the order.
NO_LINES = WinOpportunity()


@router.post("", status_code=201, response_model=CommandPublic, dependencies=SALES)
def open_opportunity(app: AppDep, ctx: ContextDep, body: Annotated[
        OpenOpportunity, example("A new deal", {
            "customer_id": "0b8f7c6e-3c1a-4d3e-9a55-1f2b3c4d5e6f",
            "title": "Rack monitoring pilot", "amount": "4800.00",
            "expected_close_date": "2026-12-31"})]) -> CommandPublic:
    """Open a deal for an existing customer."""
    return answer(app.open_opportunity(ctx, body.customer_id, body.title, str(body.amount),
                                       body.expected_close_date), CommandPublic)


@router.post("/{opportunity_id}/stage", response_model=CommandPublic, dependencies=SALES)
def change_stage(app: AppDep, ctx: ContextDep, opportunity_id: PathId, body: Annotated[
        ChangeStage, example("To proposal", {"stage": "proposal"})]) -> CommandPublic:
    """Move a deal to another open stage."""
    return answer(app.change_stage(ctx, opportunity_id, body.stage), CommandPublic)


@router.post("/{opportunity_id}/win", status_code=201, response_model=OpportunityWonPublic,
             dependencies=SALES)
def win_opportunity(app: AppDep, ctx: ContextDep, opportunity_id: PathId, body: Annotated[
        WinOpportunity, example("Won with two lines", {"lines": [
            {"sku": "NT-SENSOR-100", "quantity": "80", "unit_price": "89.00"},
            {"sku": "NT-GATEWAY-200", "quantity": "5", "unit_price": "464.00"}]})] = NO_LINES
                    ) -> OpportunityWonPublic:
    """Close a deal as won: it becomes a sales order (of the latest quote, without lines)."""
    return answer(app.win_opportunity(
        ctx, opportunity_id, None if body.lines is None else lines_of(body.lines),
        discount_percent=body.discount_percent), OpportunityWonPublic)


@router.post("/{opportunity_id}/quote", status_code=201, response_model=QuotePublic,
             dependencies=SALES)
def quote_opportunity(app: AppDep, ctx: ContextDep, opportunity_id: PathId, body: Annotated[
        QuoteOpportunity, example("Priced from the lists, 5 % off", {
            "lines": [{"sku": "NT-SENSOR-100", "quantity": "80"},
                      {"sku": "NT-GATEWAY-200", "quantity": "5", "unit_price": "464.00",
                       "discount_percent": "10"}],
            "discount_percent": "5"})]) -> QuotePublic:
    """Record a proposal, priced as its order will be; winning without lines orders it."""
    return answer(app.quote_opportunity(ctx, opportunity_id, lines_of(body.lines),
                                        discount_percent=body.discount_percent), QuotePublic)


@router.post("/{opportunity_id}/lose", response_model=CommandPublic, dependencies=SALES)
def lose_opportunity(app: AppDep, ctx: ContextDep, opportunity_id: PathId, body: Annotated[
        LoseOpportunity, example("Lost", {"reason": "Chose a competitor"})]) -> CommandPublic:
    """Close a deal as lost."""
    return answer(app.lose_opportunity(ctx, opportunity_id, body.reason), CommandPublic)


@router.get("/{opportunity_id}", response_model=OpportunityPublic,
            dependencies=[allow(*ALL_ROLES)])
def get_opportunity(response: Response, app: AppDep, opportunity_id: PathId) -> OpportunityPublic:
    """A deal, and what was shipped, invoiced and paid on its order."""
    opp = app.opportunity(opportunity_id)
    progress = None
    if opp.order_id is not None:
        try:
            order = app.sales_order(opp.order_id)
        except NotFoundError:
            order = None
        if order is not None:
            progress = OrderProgressPublic(
                order_id=str(order.id), status=order.status, total=order.total,
                shipped_cost=order.cost, invoiced=order.invoiced_total, paid=order.paid,
                open_balance=order.open_balance)
    return versioned(response, OpportunityPublic(
        id=str(opp.id), version=opp.version, customer_id=str(opp.customer_id), title=opp.title,
        amount=opp.amount, expected_close_date=opp.expected_close_date, stage=opp.stage,
        probability=opp.probability, lead_id=str(opp.lead_id) if opp.lead_id else None,
        order_id=str(opp.order_id) if opp.order_id else None, lost_reason=opp.lost_reason,
        order=progress, quote=None if opp.latest_quote is None
        else QuoteSummaryPublic.model_validate(opp.latest_quote),
        **subject_activity(app.db, str(opp.id))))


@router.get("", response_model=OpportunityListPublic, dependencies=[allow(*ALL_ROLES)])
def list_opportunities(query: Annotated[ListQuery, list_query(
        "opportunities", by_customer=True)]) -> OpportunityListPublic:
    """Opportunities, a page at a time: search, filter by stage or customer, sort."""
    return query.page(OpportunityListPublic)
