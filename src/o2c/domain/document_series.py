"""DocumentSeries: a numbering series for legal documents (invoices, credit notes).

One aggregate per prefix and year (``INV`` 2026, ``CN`` 2026...), addressed by
an id derived from both, holds the last number issued. Issuing a number is an
event of the series saved in the same atomic write as the document that takes
it, so numbers are strictly sequential and gap-free: a refused or lost attempt
saves neither, and consumes no number; two writers racing for the same number
conflict on the series' version and one retries. A number once issued is never
issued again (a document is credited, never deleted).
"""

from __future__ import annotations

import uuid
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain.base import O2CAggregate
from o2c.domain.errors import InvalidInputError

_NAMESPACE = uuid.UUID("0d7c2b57-9a7e-4f7a-b7b5-3c2f0a8e5d11")
#: Digits of the running number (``INV-2026-000123``).
DIGITS = 6
#: The longest prefix.
MAX_PREFIX = 12


def check_prefix(prefix: object) -> str:
    """A series prefix: 1 to 12 capital letters or digits, starting with a letter."""
    if not isinstance(prefix, str) or not 1 <= len(prefix) <= MAX_PREFIX or not (
            prefix.isascii() and prefix.isalnum() and prefix[0].isalpha()
            and prefix == prefix.upper()):
        raise InvalidInputError(f"a series prefix is 1 to {MAX_PREFIX} capital letters or "
                                f"digits starting with a letter, not {prefix!r}")
    return prefix


def document_number(prefix: str, year: int, number: int) -> str:
    """The printed number, e.g. ``INV-2026-000123`` (more digits past 999,999)."""
    return f"{prefix}-{year:04d}-{number:0{DIGITS}d}"


class DocumentSeries(O2CAggregate):
    """A gap-free numbering series: one prefix, one year, the last number issued."""

    class Opened(Aggregate.Created):
        """A series was opened by the first document numbered from it."""

        class_version = 1
        prefix: str
        year: int

    class NumberIssued(Aggregate.Event):
        """The next number of the series was given to a document."""

        class_version = 1
        number: int
        document_number: str

    @staticmethod
    def create_id(prefix: str, year: int) -> UUID:
        """A series is addressed by its prefix and year."""
        return uuid.uuid5(_NAMESPACE, f"series:{prefix}:{year}")

    @event(Opened)
    def __init__(self, prefix: str, year: int) -> None:
        self.prefix = prefix
        self.year = year
        self.last = 0

    @classmethod
    def open(cls, prefix: str, year: int) -> DocumentSeries:
        """Opens the series of ``prefix`` for ``year``."""
        if not 1 <= year <= 9999:
            raise InvalidInputError(f"no series for year {year}")
        return cls(prefix=check_prefix(prefix), year=year)

    def issue(self) -> str:
        """Issues the next number (the last plus one) and returns it printed."""
        number = self.last + 1
        printed = document_number(self.prefix, self.year, number)
        self._issued(number=number, document_number=printed)
        return printed

    @event(NumberIssued)
    def _issued(self, number: int, document_number: str) -> None:
        self.last = number
