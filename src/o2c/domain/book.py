"""Book: the facts the books are kept in, recorded once, on the first start.

Every amount in the log is in the book currency, and the read models count it
in that currency's minor units; a store read with another currency would
misstate every figure. So the currency is part of the log, not only of the
configuration: the first start records it, and every later start compares.
"""

from __future__ import annotations

import uuid
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import money
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import CurrencyMismatchError

_ID = uuid.UUID("5a1c0de5-0000-4000-8000-000000000002")


class Book(O2CAggregate):
    """The one record of what the books are kept in."""

    class Opened(Aggregate.Created):
        """The books were opened in ``currency``, whose minor unit has ``minor_units``
        decimal places (ISO 4217, as known then)."""

        class_version = 1
        currency: str
        minor_units: int

    @staticmethod
    def create_id() -> UUID:
        """There is one record per store: its id is fixed."""
        return _ID

    @classmethod
    def open(cls, currency: str) -> Book:
        """Opens the books in an ISO 4217 currency."""
        code = currency.upper()
        return cls(currency=code, minor_units=money.minor_units(code))

    @event(Opened)
    def __init__(self, currency: str, minor_units: int) -> None:
        self.currency = currency
        self.minor_units = minor_units

    def check_currency(self, configured: str) -> None:
        """Refuses to keep these books in another currency than they were opened in."""
        if configured.upper() != self.currency:
            raise CurrencyMismatchError(
                f"these books are kept in {self.currency} (recorded on their first start), "
                f"but O2C_CURRENCY is {configured.upper()}: set O2C_CURRENCY={self.currency}, "
                "or point O2C_DATABASE_URL at a new store for books in another currency")
