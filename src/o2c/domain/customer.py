"""Customer: the CRM account that is also the ERP's bill-to party."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import money, values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import (
    DomainError,
    InvalidInputError,
    InvalidStateError,
    LimitExceededError,
)
from o2c.domain.money import ZERO

DEFAULT_PAYMENT_TERMS_DAYS = 30


class InsufficientCreditError(DomainError):
    """A refund of more than the customer's unapplied credit (409 ``insufficient_credit``)."""

    code = "insufficient_credit"


class Customer(O2CAggregate):
    """A buying organisation: who orders are placed by and invoices go to."""

    class Registered(Aggregate.Created):
        """A customer was registered, directly or by converting a lead."""

        class_version = 1
        name: str
        email: str
        credit_limit: Decimal | None
        payment_terms_days: int
        lead_id: UUID | None

    class CreditReceived(Aggregate.Event):
        """Money the customer paid beyond the invoices it settled, held as unapplied
        credit (posted Dr Cash, Cr Receivable with the payment)."""

        class_version = 1
        amount: Decimal
        reference: str
        received_on: date
        order_id: UUID | None

    class CreditApplied(Aggregate.Event):
        """Unapplied credit settled (part of) an invoice of one of the customer's orders;
        no posting: both sides are Receivable."""

        class_version = 1
        amount: Decimal
        order_id: UUID
        invoice_number: str
        applied_on: date

    class CreditRefunded(Aggregate.Event):
        """Unapplied credit was paid back to the customer (Dr Receivable, Cr Cash)."""

        class_version = 1
        amount: Decimal
        reference: str
        refunded_on: date

    class CreditLimitChanged(Aggregate.Event):
        """Finance changed the customer's credit limit (None: no limit), with the reason;
        no posting."""

        class_version = 1
        credit_limit: Decimal | None
        previous: Decimal | None
        reason: str

    class CreditReleased(Aggregate.Event):
        """Finance released one order of the customer from credit control (over the limit
        or on credit hold), with the reason: that order's confirmation skips the credit
        check. No posting."""

        class_version = 1
        order_id: UUID
        reason: str
        by: str
        released_on: date

    @event(Registered)
    def __init__(self, name: str, email: str, credit_limit: Decimal | None,
                 payment_terms_days: int, lead_id: UUID | None) -> None:
        self.name = name
        self.email = email
        self.credit_limit = credit_limit
        self.payment_terms_days = payment_terms_days
        self.lead_id = lead_id
        self.credit = ZERO
        self.credit_since: date | None = None

    @classmethod
    def register(cls, name: object, email: object, *, credit_limit: object = None,
                 payment_terms_days: object = DEFAULT_PAYMENT_TERMS_DAYS,
                 lead_id: UUID | None = None, places: int = 2) -> Customer:
        """Registers a customer after checking its fields."""
        return cls(
            name=values.text(name, "name"),
            email=values.email(email),
            credit_limit=None if credit_limit is None else money.money(
                credit_limit, places=places, what="credit_limit", allow_zero=True),
            payment_terms_days=values.whole_days(payment_terms_days, "payment_terms_days"),
            lead_id=lead_id,
        )

    # Unapplied credit ---------------------------------------------------------------

    def receive_credit(self, amount: Decimal, reference: str, received_on: date,
                       order_id: UUID | None) -> None:
        """Holds ``amount`` (what a payment left after settling invoices) as credit."""
        money.check_amount(self.credit + amount, "the customer's unapplied credit",
                           error=LimitExceededError)
        self._credit_received(amount=amount, reference=reference, received_on=received_on,
                              order_id=order_id)

    @event(CreditReceived)
    def _credit_received(self, amount: Decimal, reference: str, received_on: date,
                         order_id: UUID | None) -> None:
        self.credit += amount
        self.credit_since = max(received_on, self.credit_since or received_on)

    def credit_to_apply(self, open_amount: Decimal, on: date) -> tuple[Decimal, date]:
        """How much of the unapplied credit settles an invoice with ``open_amount`` open,
        and the date it does (the invoice's date, or the day the credit was last topped
        up if later: credit never settles anything before it was received)."""
        share = min(self.credit, open_amount)
        since = self.credit_since or on
        return share, max(on, since)

    def apply_credit(self, amount: Decimal, order_id: UUID, invoice_number: str,
                     applied_on: date) -> None:
        """Uses ``amount`` of the unapplied credit on an invoice."""
        if not ZERO < amount <= self.credit:
            raise InsufficientCreditError(f"{amount} to apply, but the customer's unapplied "
                                          f"credit is {self.credit}")
        self._credit_applied(amount=amount, order_id=order_id, invoice_number=invoice_number,
                             applied_on=applied_on)

    @event(CreditApplied)
    def _credit_applied(self, amount: Decimal, order_id: UUID, invoice_number: str,
                        applied_on: date) -> None:
        self.credit -= amount

    def refund(self, amount: object, reference: object, refunded_on: date,
               places: int) -> Decimal:
        """Pays back unapplied credit: refused beyond the credit, or dated before the
        credit was last received."""
        paid = money.money(amount, places=places, what="amount")
        ref = values.text(reference, "reference", optional=True)
        if paid > self.credit:
            raise InsufficientCreditError(
                f"customer {self.name}: a refund of {paid} but the unapplied credit is "
                f"{self.credit}")
        if self.credit_since is not None and refunded_on < self.credit_since:
            raise InvalidInputError(
                f"a refund dated {refunded_on} is before the credit it pays back was "
                f"received ({self.credit_since})")
        self._credit_refunded(amount=paid, reference=ref, refunded_on=refunded_on)
        return paid

    @event(CreditRefunded)
    def _credit_refunded(self, amount: Decimal, reference: str, refunded_on: date) -> None:
        self.credit -= amount

    # Credit control -----------------------------------------------------------------

    def change_credit_limit(self, credit_limit: object, reason: object, places: int) -> None:
        """Sets a new credit limit (None: no limit) with the reason; refused when it is
        the limit already."""
        limit = None if credit_limit is None else money.money(
            credit_limit, places=places, what="credit_limit", allow_zero=True)
        why = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        if limit == self.credit_limit:
            raise InvalidStateError(f"customer {self.name}: the credit limit is already "
                                    f"{'none' if limit is None else limit}")
        self._credit_limit_changed(credit_limit=limit, previous=self.credit_limit,
                                   reason=why)

    @event(CreditLimitChanged)
    def _credit_limit_changed(self, credit_limit: Decimal | None, previous: Decimal | None,
                              reason: str) -> None:
        self.credit_limit = credit_limit

    @property
    def credit_releases(self) -> dict[str, dict[str, object]]:
        """The orders finance released from credit control (by order id as text): reason,
        by whom, when."""
        found: dict[str, dict[str, object]] = self.__dict__.get("_credit_releases", {})
        return found

    def released(self, order_id: UUID) -> bool:
        """Whether finance released this order from credit control."""
        return str(order_id) in self.credit_releases

    def release_order(self, order_id: UUID, reason: object, by: str,
                      released_on: date) -> None:
        """Releases one order of this customer from credit control; refused if it is
        released already (the caller checks it is this customer's and unconfirmed)."""
        why = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        if self.released(order_id):
            raise InvalidStateError(f"order {order_id} was already released from credit "
                                    "control")
        self._credit_released(order_id=order_id, reason=why, by=by, released_on=released_on)

    @event(CreditReleased)
    def _credit_released(self, order_id: UUID, reason: str, by: str,
                         released_on: date) -> None:
        self.__dict__["_credit_releases"] = {**self.credit_releases, str(order_id): {
            "reason": reason, "by": by, "released_on": released_on}}
