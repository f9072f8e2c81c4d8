"""AccountingPeriods: which periods of the books are closed.

Closing is monotonic: the books are closed through a date, and that date only
moves forward. A posting effective on or before it is refused; a correction
is posted in an open period, as a reversal.
"""

from __future__ import annotations

import uuid
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import InvalidStateError, PeriodClosedError

_ID = uuid.UUID("5a1c0de5-0000-4000-8000-000000000001")


class AccountingPeriods(O2CAggregate):
    """The one record of how far the books are closed."""

    class Opened(Aggregate.Created):
        """The books were opened (nothing closed yet)."""

        class_version = 1

    class Closed(Aggregate.Event):
        """Every period through ``through`` was closed; ``note`` says why or by whom."""

        class_version = 1
        through: date
        note: str

    @staticmethod
    def create_id() -> UUID:
        """There is one record per book: its id is fixed."""
        return _ID

    @event(Opened)
    def __init__(self) -> None:
        self.closed_through: date | None = None

    def close(self, through: object, note: object = "") -> None:
        """Closes every period up to and including ``through``."""
        day = values.a_date(through, "through")
        why = values.text(note, "note", optional=True)
        if self.closed_through is not None and day <= self.closed_through:
            raise InvalidStateError(f"the books are already closed through {self.closed_through}")
        self._closed(through=day, note=why)

    @event(Closed)
    def _closed(self, through: date, note: str) -> None:
        self.closed_through = through

    def check_open(self, day: date) -> None:
        """Refuses a posting effective inside a closed period."""
        if self.closed_through is not None and day <= self.closed_through:
            raise PeriodClosedError(
                f"the books are closed through {self.closed_through}; post the correction "
                f"in an open period (after {self.closed_through}), e.g. as a reversal")
