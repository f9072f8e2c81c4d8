"""Customers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, ProjectorDep, allow
from o2c.api.routes._common import answer, example, fresh, versioned
from o2c.api.routes._lists import ListQuery, list_query
from o2c.api.schemas.common import CommandPublic, ExactJSONRoute
from o2c.api.schemas.customers import (
    ChangeCreditLimit,
    CreditLimitPublic,
    CreditReleasePublic,
    CustomerCreditPublic,
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


@router.post("/{customer_id}/credit-limit", response_model=CreditLimitPublic,
             dependencies=[allow("finance")])
def change_credit_limit(app: AppDep, ctx: ContextDep, customer_id: PathId, body: Annotated[
        ChangeCreditLimit, example("Annual review", {
            "credit_limit": "75000.00", "reason": "Annual review: two years paid on time"})]
                        ) -> CreditLimitPublic:
    """Change a customer's credit limit (null: none), with the reason; an event."""
    return answer(app.change_credit_limit(
        ctx, customer_id, None if body.credit_limit is None else str(body.credit_limit),
        body.reason), CreditLimitPublic)


@router.get("/{customer_id}/credit", response_model=CustomerCreditPublic,
            dependencies=[allow(*ALL_ROLES)])
def get_customer_credit(response: Response, app: AppDep, projector: ProjectorDep,
                        customer_id: PathId) -> CustomerCreditPublic:
    """A customer's limit, exposure, credit hold (overdue invoices) and released orders."""
    customer = app.customer(customer_id)
    fresh(projector, projector.head())
    grace = app.settings.credit_grace_days
    credit = reports.customer_credit(app.db, app.places, str(customer.id),
                                     grace_days=grace)
    return versioned(response, CustomerCreditPublic(
        **{**credit, "credit_limit": customer.credit_limit}, version=customer.version,
        payment_terms_days=customer.payment_terms_days, grace_days=grace,
        releases=[CreditReleasePublic.model_validate({"order_id": order_id, **release})
                  for order_id, release in customer.credit_releases.items()]))
