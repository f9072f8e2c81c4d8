"""Opportunity: a deal in the sales pipeline, won into a sales order or lost."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import money, values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import InvalidInputError, InvalidStateError
from o2c.domain.sales_order import (
    Line,
    Totals,
    check_order_lines,
    check_totals,
    discount_percent,
    order_totals,
)

#: The open pipeline stages, in order, with their default win probabilities (%).
OPEN_STAGES: dict[str, int] = {
    "prospecting": 10, "qualification": 20, "proposal": 50, "negotiation": 80,
}
WON, LOST = "won", "lost"
#: Every stage with its probability, the closed ones included.
STAGES: dict[str, int] = {**OPEN_STAGES, WON: 100, LOST: 0}


class Opportunity(O2CAggregate):
    """A potential sale to a customer, moving through the pipeline stages."""

    class Opened(Aggregate.Created):
        """A deal entered the pipeline (at prospecting)."""

        class_version = 1
        customer_id: UUID
        title: str
        amount: Decimal
        expected_close_date: date
        lead_id: UUID | None

    class StageChanged(Aggregate.Event):
        """The deal moved to another open stage, with that stage's probability."""

        class_version = 1
        stage: str
        probability: int

    class Quoted(Aggregate.Event):
        """A proposal was sent: ``lines`` of SKU, quantity, unit price (given, or from the
        price lists on ``quoted_on``) and optional ``discount_percent``, an order
        ``discount_percent``, and what they come to (``order_totals``). Winning the deal
        without lines orders the latest quote."""

        class_version = 1
        quote_no: int
        lines: list[Line]
        discount_percent: Decimal
        gross: Decimal
        discount: Decimal
        net: Decimal
        tax: Decimal
        total: Decimal
        quoted_on: date

    class Won(Aggregate.Event):
        """The customer said yes; the deal became this sales order."""

        class_version = 1
        order_id: UUID

    class Lost(Aggregate.Event):
        """The customer said no, with the reason."""

        class_version = 1
        reason: str

    @event(Opened)
    def __init__(self, customer_id: UUID, title: str, amount: Decimal,
                 expected_close_date: date, lead_id: UUID | None) -> None:
        self.customer_id = customer_id
        self.title = title
        self.amount = amount
        self.expected_close_date = expected_close_date
        self.lead_id = lead_id
        self.stage = "prospecting"
        self.probability = OPEN_STAGES["prospecting"]
        self.order_id: UUID | None = None
        self.lost_reason = ""

    @classmethod
    def open(cls, customer_id: UUID, title: object, amount: object,
             expected_close_date: object, *, lead_id: UUID | None = None,
             places: int = 2) -> Opportunity:
        """Opens a deal for a customer after checking its fields."""
        return cls(
            customer_id=customer_id,
            title=values.text(title, "title"),
            amount=money.money(amount, places=places, what="amount", allow_zero=True),
            expected_close_date=values.a_date(expected_close_date, "expected_close_date"),
            lead_id=lead_id,
        )

    @property
    def is_open(self) -> bool:
        """True until the deal is won or lost."""
        return self.stage in OPEN_STAGES

    def _check_open(self) -> None:
        if not self.is_open:
            raise InvalidStateError(f"opportunity is {self.stage}")

    def move_to(self, stage: object) -> None:
        """Moves the deal to an open stage (use win/lose to close it)."""
        if not isinstance(stage, str) or stage not in OPEN_STAGES:
            raise InvalidInputError(
                f"stage must be one of {', '.join(OPEN_STAGES)} (use win or lose to close)")
        self._check_open()
        if stage == self.stage:
            raise InvalidStateError(f"opportunity is already at {stage}")
        assert isinstance(stage, str)
        self._stage_changed(stage=stage, probability=OPEN_STAGES[stage])

    @event(StageChanged)
    def _stage_changed(self, stage: str, probability: int) -> None:
        self.stage = stage
        self.probability = probability

    @property
    def latest_quote(self) -> dict[str, Any] | None:
        """The last proposal sent (None before any)."""
        found: dict[str, Any] | None = self.__dict__.get("last_quote")
        return found

    def quote(self, lines: Iterable[Mapping[str, object]], discount: object, *,
              tax_rate: Decimal, places: int, quoted_on: date) -> Totals:
        """Records a proposal of priced lines (every line has its unit price by now) and
        an order discount; refused on a closed deal, bad lines or figures beyond the
        limits. Its totals are worked out as the order's will be."""
        checked = check_order_lines(lines, places)
        percent = discount_percent(discount)
        totals = check_totals(order_totals(checked, tax_rate, places, percent),
                              "the quote's")
        self._check_open()
        number = (self.latest_quote or {}).get("quote_no", 0) + 1
        self._quoted(quote_no=number, lines=checked, discount_percent=percent,
                     gross=totals.gross, discount=totals.discount, net=totals.net,
                     tax=totals.tax, total=totals.total, quoted_on=quoted_on)
        return totals

    @event(Quoted)
    def _quoted(self, quote_no: int, lines: list[Line], discount_percent: Decimal,
                gross: Decimal, discount: Decimal, net: Decimal, tax: Decimal,
                total: Decimal, quoted_on: date) -> None:
        self.last_quote = {"quote_no": quote_no, "lines": lines,
                           "discount_percent": discount_percent, "gross": gross,
                           "discount": discount, "net": net, "tax": tax, "total": total,
                           "quoted_on": quoted_on}

    def check_winnable(self) -> None:
        """Refuses to win a deal that is already closed."""
        self._check_open()

    def win(self, order_id: UUID) -> None:
        """Closes the deal as won, handing it over as the given sales order."""
        self._check_open()
        self._won(order_id=order_id)

    @event(Won)
    def _won(self, order_id: UUID) -> None:
        self.stage = WON
        self.probability = STAGES[WON]
        self.order_id = order_id

    def lose(self, reason: object) -> None:
        """Closes the deal as lost."""
        checked = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        self._check_open()
        self._lost(reason=checked)

    @event(Lost)
    def _lost(self, reason: str) -> None:
        self.stage = LOST
        self.probability = STAGES[LOST]
        self.lost_reason = reason
