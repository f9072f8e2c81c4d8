"""Bodies and answers of ``routes.opportunities``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from o2c.api.schemas.activities import ActivityBriefPublic, LastActivityPublic
from o2c.api.schemas.common import Amount, Command, CommandPublic, Day, Dec, LongText, Name, Out
from o2c.api.schemas.sales_orders import OrderLines, Percent

#: Longest stage name a body may carry (the domain then checks it is a pipeline stage).
MAX_STAGE = 40


class OpenOpportunity(Command):
    """A deal for an existing customer."""

    customer_id: Name
    title: Name
    amount: Amount
    expected_close_date: Day


class ChangeStage(Command):
    """Move a deal to an open stage."""

    stage: Annotated[str, Field(max_length=MAX_STAGE, examples=["proposal"])]


class WinOpportunity(Command):
    """Close a deal as won; its lines become the sales order (priced as orders are,
    with an optional order discount). Without lines, the latest quote becomes the order
    at its prices and discounts."""

    # Declared as the order's lines, so the spec shows their limits as on every other
    # body; None only when left out (a JSON null is refused, as a list is expected).
    lines: OrderLines = Field(default=None)  # type: ignore[arg-type]
    discount_percent: Percent | None = None


class QuoteOpportunity(Command):
    """A proposal: lines priced as an order placed today would be (a line without
    ``unit_price`` takes the customer's price list, else the default list), with line
    and order discounts."""

    lines: OrderLines
    discount_percent: Percent | None = None


class QuoteLinePublic(Out):
    """A quoted line, with the unit price it was quoted at."""

    sku: str
    quantity: Dec
    unit_price: Dec
    discount_percent: Dec | None = None


class LoseOpportunity(Command):
    """Close a deal as lost."""

    reason: LongText


class OpportunityWonPublic(CommandPublic):
    """A won deal, with the sales order it became."""

    order_id: str


class OrderProgressPublic(Out):
    """What happened to an order: for the CRM side."""

    order_id: str
    status: str
    total: Dec
    shipped_cost: Dec
    invoiced: Dec
    paid: Dec
    open_balance: Dec


class OpportunityPublic(Out):
    """A deal, and what became of its order."""

    id: str
    version: int
    customer_id: str
    title: str
    amount: Dec
    expected_close_date: dt.date
    stage: str
    probability: int
    lead_id: str | None
    order_id: str | None
    lost_reason: str
    order: OrderProgressPublic | None
    quote: QuoteSummaryPublic | None = None
    last_activity: LastActivityPublic | None = Field(default=None, description=(
        "The activity that last touched it (from the read models; null before any)."))
    next_follow_up: ActivityBriefPublic | None = Field(default=None, description=(
        "Its open task due first (from the read models); null when none is open."))


class QuoteSummaryPublic(Out):
    """The deal's latest quote."""

    quote_no: int
    quoted_on: dt.date
    lines: list[QuoteLinePublic]
    discount_percent: Dec
    gross: Dec
    discount: Dec
    net: Dec
    tax: Dec
    total: Dec


class QuotePublic(CommandPublic, QuoteSummaryPublic):
    """A recorded quote and what it comes to."""


class OpportunityItemPublic(Out):
    """An opportunity in a list (``GET /opportunities``), with its customer's name and its
    weighted amount (amount x probability)."""

    id: str
    title: str
    customer_id: str
    customer_name: str | None
    stage: str
    probability: int
    amount: Dec
    weighted_amount: Dec
    expected_close_date: dt.date
    lead_id: str | None
    order_id: str | None
    lost_reason: str
    opened_at: str
    updated_at: str
    position: int


class OpportunityListPublic(Out):
    """A page of opportunities."""

    items: list[OpportunityItemPublic]
    next_cursor: str | None = Field(description="The next page's `cursor`; null on the last.")
    position: int = Field(description="The log position the read models had reached.")
