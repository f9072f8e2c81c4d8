"""Customer: the CRM account that is also the ERP's bill-to party."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import money, values
from o2c.domain.base import O2CAggregate

DEFAULT_PAYMENT_TERMS_DAYS = 30


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

    @event(Registered)
    def __init__(self, name: str, email: str, credit_limit: Decimal | None,
                 payment_terms_days: int, lead_id: UUID | None) -> None:
        self.name = name
        self.email = email
        self.credit_limit = credit_limit
        self.payment_terms_days = payment_terms_days
        self.lead_id = lead_id

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
