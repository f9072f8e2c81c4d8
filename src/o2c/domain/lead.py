"""Lead: a person at a company who might buy, before they are a customer."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import InvalidStateError

NEW, QUALIFIED, DISQUALIFIED, CONVERTED = "new", "qualified", "disqualified", "converted"


class Lead(O2CAggregate):
    """A prospective buyer captured by marketing or sales, not yet a customer."""

    class Captured(Aggregate.Created):
        """A lead was captured from a source (web form, trade show, referral...)."""

        class_version = 1
        name: str
        company: str
        email: str
        source: str

    class Qualified(Aggregate.Event):
        """Sales judged the lead worth pursuing."""

        class_version = 1

    class Disqualified(Aggregate.Event):
        """Sales judged the lead not worth pursuing, with the reason."""

        class_version = 1
        reason: str

    class Converted(Aggregate.Event):
        """The lead became a customer with an opportunity (ids of both)."""

        class_version = 1
        customer_id: UUID
        opportunity_id: UUID

    @event(Captured)
    def __init__(self, name: str, company: str, email: str, source: str) -> None:
        self.name = name
        self.company = company
        self.email = email
        self.source = source
        self.status = NEW
        self.reason = ""
        self.customer_id: UUID | None = None
        self.opportunity_id: UUID | None = None

    @classmethod
    def capture(cls, name: object, company: object, email: object, source: object) -> Lead:
        """Captures a new lead after checking its fields."""
        return cls(
            name=values.text(name, "name"),
            company=values.text(company, "company"),
            email=values.email(email),
            source=values.text(source, "source"),
        )

    def qualify(self) -> None:
        """Marks a new lead as qualified."""
        if self.status != NEW:
            raise InvalidStateError(f"lead is {self.status}; only a new lead can be qualified")
        self._qualified()

    @event(Qualified)
    def _qualified(self) -> None:
        self.status = QUALIFIED

    def disqualify(self, reason: object) -> None:
        """Drops a lead that is not converted, recording why."""
        checked = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        if self.status not in (NEW, QUALIFIED):
            raise InvalidStateError(f"lead is {self.status}; it cannot be disqualified")
        self._disqualified(reason=checked)

    @event(Disqualified)
    def _disqualified(self, reason: str) -> None:
        self.status = DISQUALIFIED
        self.reason = reason

    def check_convertible(self) -> None:
        """Refuses conversion unless the lead is new or qualified."""
        if self.status not in (NEW, QUALIFIED):
            raise InvalidStateError(f"lead is {self.status}; it cannot be converted")

    def convert(self, customer_id: UUID, opportunity_id: UUID) -> None:
        """Records that the lead became this customer and opportunity."""
        self.check_convertible()
        self._converted(customer_id=customer_id, opportunity_id=opportunity_id)

    @event(Converted)
    def _converted(self, customer_id: UUID, opportunity_id: UUID) -> None:
        self.status = CONVERTED
        self.customer_id = customer_id
        self.opportunity_id = opportunity_id
