"""Bodies and answers of ``routes.leads``."""

from __future__ import annotations

from pydantic import Field

from o2c.api.schemas.activities import ActivityBriefPublic, LastActivityPublic
from o2c.api.schemas.common import Amount, Command, CommandPublic, Day, LongText, Name, Out
from o2c.api.schemas.customers import PaymentTermsDays
from o2c.domain.customer import DEFAULT_PAYMENT_TERMS_DAYS


class CaptureLead(Command):
    """A new lead."""

    name: Name
    company: Name
    email: Name
    source: Name


class DisqualifyLead(Command):
    """Why a lead is dropped."""

    reason: LongText


class OpportunityTerms(Command):
    """The opportunity a converted lead opens."""

    title: Name
    amount: Amount
    expected_close_date: Day


class ConvertLead(Command):
    """Convert a lead into a customer and an opportunity."""

    opportunity: OpportunityTerms
    credit_limit: Amount | None = None
    payment_terms_days: PaymentTermsDays = DEFAULT_PAYMENT_TERMS_DAYS


class LeadConvertedPublic(CommandPublic):
    """A converted lead, with the customer and opportunity it became."""

    customer_id: str
    opportunity_id: str


class LeadPublic(Out):
    """A lead."""

    id: str
    version: int
    name: str
    company: str
    email: str
    source: str
    status: str
    reason: str
    customer_id: str | None
    opportunity_id: str | None
    last_activity: LastActivityPublic | None = Field(default=None, description=(
        "The activity that last touched it (from the read models; null before any)."))
    next_follow_up: ActivityBriefPublic | None = Field(default=None, description=(
        "Its open task due first (from the read models); null when none is open."))


class LeadItemPublic(Out):
    """A lead in a list (``GET /leads``): ``reason`` is why it was disqualified."""

    id: str
    name: str
    company: str
    email: str
    source: str
    status: str
    reason: str
    customer_id: str | None
    opportunity_id: str | None
    captured_at: str
    updated_at: str
    position: int


class LeadListPublic(Out):
    """A page of leads."""

    items: list[LeadItemPublic]
    next_cursor: str | None = Field(description="The next page's `cursor`; null on the last.")
    position: int = Field(description="The log position the read models had reached.")
