"""Customers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, ProjectorDep, allow
from o2c.api.routes._common import answer, example, fresh, versioned
from o2c.api.routes._lists import ListQuery, list_query
from o2c.api.schemas.common import CommandPublic, ExactJSONRoute
from o2c.api.schemas.customers import (
    CustomerListPublic,
    CustomerPublic,
    RefundCredit,
    RefundPublic,
    RegisterCustomer,
)
from o2c.projections import reports

router = APIRouter(prefix="/customers", tags=["customers"], route_class=ExactJSONRoute)


@router.post("", status_code=201, response_model=CommandPublic, dependencies=[allow("sales")])
def register_customer(app: AppDep, ctx: ContextDep, body: Annotated[
        RegisterCustomer, example("A direct customer", {
            "name": "Nimbus Data Centers", "email": "buying@nimbusdc.example",
            "credit_limit": "50000.00", "payment_terms_days": 45})]) -> CommandPublic:
    """Register a customer directly."""
    return answer(app.register_customer(
        ctx, body.name, body.email,
        credit_limit=None if body.credit_limit is None else str(body.credit_limit),
        payment_terms_days=body.payment_terms_days), CommandPublic)


@router.get("/{customer_id}", response_model=CustomerPublic, dependencies=[allow(*ALL_ROLES)])
def get_customer(response: Response, app: AppDep, projector: ProjectorDep,
                 customer_id: PathId) -> CustomerPublic:
    """A customer, with what its orders shipped, invoiced and paid."""
    customer = app.customer(customer_id)
    fresh(projector, projector.head())
    summary = reports.customer_summary(app.db, app.places, str(customer.id))
    return versioned(response, CustomerPublic(
        id=str(customer.id), version=customer.version, name=customer.name,
        email=customer.email, credit_limit=customer.credit_limit,
        payment_terms_days=customer.payment_terms_days,
        lead_id=str(customer.lead_id) if customer.lead_id else None,
        orders=summary["orders"], ordered=summary["ordered"], invoiced=summary["invoiced"],
        paid=summary["paid"], open=summary["open"], credit=customer.credit))


@router.post("/{customer_id}/refunds", status_code=201, response_model=RefundPublic,
             dependencies=[allow("finance")])
def refund_credit(app: AppDep, ctx: ContextDep, customer_id: PathId, body: Annotated[
        RefundCredit, example("Pay back an overpayment", {
            "amount": "120.00", "reference": "ACH out 5521", "date": "2026-03-02"})]
                  ) -> RefundPublic:
    """Pay back unapplied credit (Dr Receivable, Cr Cash); refused beyond the credit."""
    return answer(app.refund_customer_credit(ctx, customer_id, body.amount, body.reference,
                                             date=body.date), RefundPublic)


@router.get("", response_model=CustomerListPublic, dependencies=[allow(*ALL_ROLES)])
def list_customers(query: Annotated[ListQuery, list_query("customers")]) -> CustomerListPublic:
    """Customers, a page at a time: search by name or e-mail, sort by name."""
    return query.page(CustomerListPublic)
