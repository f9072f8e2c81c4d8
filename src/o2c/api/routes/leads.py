"""Leads: capture, qualify, disqualify, convert."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, allow
from o2c.api.routes._common import answer, example, versioned
from o2c.api.routes._lists import ListQuery, list_query
from o2c.api.schemas.common import CommandPublic, ExactJSONRoute
from o2c.api.schemas.leads import (
    CaptureLead,
    ConvertLead,
    DisqualifyLead,
    LeadConvertedPublic,
    LeadListPublic,
    LeadPublic,
)
from o2c.projections.activities import subject_activity

router = APIRouter(prefix="/leads", tags=["leads"], route_class=ExactJSONRoute)
SALES = [allow("sales")]


@router.post("", status_code=201, response_model=CommandPublic, dependencies=SALES)
def capture_lead(app: AppDep, ctx: ContextDep, body: Annotated[CaptureLead, example(
        "A web-form lead", {"name": "Dana Whitfield", "company": "Apex Robotics",
                            "email": "dana@apexrobotics.example", "source": "web form"})]
                 ) -> CommandPublic:
    """Capture a new lead."""
    return answer(app.capture_lead(ctx, body.name, body.company, body.email, body.source),
                  CommandPublic)


@router.post("/{lead_id}/qualify", response_model=CommandPublic, dependencies=SALES)
def qualify_lead(app: AppDep, ctx: ContextDep, lead_id: PathId) -> CommandPublic:
    """Mark a new lead as qualified."""
    return answer(app.qualify_lead(ctx, lead_id), CommandPublic)


@router.post("/{lead_id}/disqualify", response_model=CommandPublic, dependencies=SALES)
def disqualify_lead(app: AppDep, ctx: ContextDep, lead_id: PathId, body: Annotated[
        DisqualifyLead, example("No budget", {"reason": "No budget this year"})]
                    ) -> CommandPublic:
    """Drop a lead, with the reason."""
    return answer(app.disqualify_lead(ctx, lead_id, body.reason), CommandPublic)


@router.post("/{lead_id}/convert", status_code=201, response_model=LeadConvertedPublic,
             dependencies=SALES)
def convert_lead(app: AppDep, ctx: ContextDep, lead_id: PathId, body: Annotated[
        ConvertLead, example("Convert into a deal", {"opportunity": {
            "title": "Apex assembly line sensors", "amount": "9440.00",
            "expected_close_date": "2026-12-31"}})]) -> LeadConvertedPublic:
    """Turn a lead into a customer and an opportunity."""
    terms = body.opportunity
    return answer(app.convert_lead(
        ctx, lead_id, {"title": terms.title, "amount": str(terms.amount),
                       "expected_close_date": terms.expected_close_date},
        credit_limit=None if body.credit_limit is None else str(body.credit_limit),
        payment_terms_days=body.payment_terms_days), LeadConvertedPublic)


@router.get("/{lead_id}", response_model=LeadPublic, dependencies=[allow(*ALL_ROLES)])
def get_lead(response: Response, app: AppDep, lead_id: PathId) -> LeadPublic:
    """A lead's current state."""
    lead = app.lead(lead_id)
    return versioned(response, LeadPublic(id=str(lead.id), version=lead.version, name=lead.name,
                      company=lead.company, email=lead.email, source=lead.source,
                      status=lead.status, reason=lead.reason,
                      customer_id=str(lead.customer_id) if lead.customer_id else None,
                      opportunity_id=str(lead.opportunity_id) if lead.opportunity_id else None,
                      **subject_activity(app.db, str(lead.id))))


@router.get("", response_model=LeadListPublic, dependencies=[allow(*ALL_ROLES)])
def list_leads(query: Annotated[ListQuery, list_query("leads")]) -> LeadListPublic:
    """Leads, a page at a time: search, filter by status, sort by name."""
    return query.page(LeadListPublic)
