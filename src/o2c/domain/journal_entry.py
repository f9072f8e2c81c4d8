"""JournalEntry: a balanced set of postings to ledger accounts, never edited.

Every posting o2c makes (shipment cost, invoice, payment, count adjustment,
stock receipt) and every manual entry is one journal entry, saved in the same
atomic write as the business event that caused it, and naming that event.
A mistake is corrected by a reversing entry, never by changing this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import money, values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import (
    InvalidInputError,
    InvalidStateError,
    UnbalancedEntryError,
    UnknownReferenceError,
)
from o2c.domain.money import ZERO

MAX_LINES = 200
#: The cause of an entry made by hand.
MANUAL = "JournalEntry.Posted"
Posting = dict[str, Any]


class JournalEntry(O2CAggregate):
    """A dated, balanced entry in the general ledger."""

    class Posted(Aggregate.Created):
        """Postings were made: ``lines`` of account, debit and credit, effective ``date``.

        ``cause`` names the business event (``SalesOrder.Invoiced``...) and
        ``source_id``/``source_version`` the exact stored event that caused it;
        a manual entry has cause ``JournalEntry.Posted`` and no source.
        """

        class_version = 1
        date: date
        memo: str
        lines: list[Posting]
        cause: str
        source_id: UUID | None
        source_version: int | None
        reverses: UUID | None

    class Reversed(Aggregate.Event):
        """This entry was undone by the reversing entry ``by`` (it stays in the books)."""

        class_version = 1
        by: UUID

    @event(Posted)
    def __init__(self, date: date, memo: str, lines: list[Posting], cause: str,
                 source_id: UUID | None, source_version: int | None,
                 reverses: UUID | None) -> None:
        self.date = date
        self.memo = memo
        self.lines = lines
        self.cause = cause
        self.source_id = source_id
        self.source_version = source_version
        self.reverses = reverses
        self.reversed_by: UUID | None = None

    @classmethod
    def post(cls, *, date: object, memo: object, lines: Iterable[Mapping[str, object]],
             accounts: Mapping[str, str], cause: str = "JournalEntry.Posted",
             source_id: UUID | None = None, source_version: int | None = None,
             reverses: UUID | None = None, places: int = 2) -> JournalEntry:
        """Posts an entry after checking it balances exactly over known accounts."""
        return cls(
            date=values.a_date(date, "date"),
            memo=values.text(memo, "memo", max_length=values.MAX_LONG_TEXT),
            lines=check_lines(lines, accounts, places),
            cause=cause, source_id=source_id, source_version=source_version,
            reverses=reverses,
        )

    def reversal(self, *, date: object, memo: object, places: int = 2) -> JournalEntry:
        """A new entry with every debit and credit swapped, dated ``date`` (not before
        this entry's date); marks this one reversed."""
        if self.reverses is not None:
            raise InvalidStateError(f"entry {self.id} is itself a reversal; post a new entry")
        if self.cause != MANUAL:
            raise InvalidStateError(
                f"entry {self.id} was posted by {self.cause}; undo it through that business "
                "action (a credit note, a count), not by hand, so the subledgers stay in step")
        return self.undo(date=date, memo=memo, cause="JournalEntry.Reversed",
                         source_id=self.id, source_version=self.version + 1, places=places)

    def undo(self, *, date: object, memo: object, cause: str, source_id: UUID,
             source_version: int, places: int = 2) -> JournalEntry:
        """The mirror image of this entry (debits and credits swapped), caused by
        ``cause`` of ``source_id``, dated ``date`` (not before this entry: nothing is
        undone before it was done); marks this one reversed. Manual entries are undone
        by ``reversal``; the system undoes its own (a year-end close) with this."""
        if self.reversed_by is not None:
            raise InvalidStateError(f"entry {self.id} was already reversed by {self.reversed_by}")
        day = values.a_date(date, "date")
        if day < self.date:
            raise InvalidInputError(
                f"a reversal cannot be dated {day}, before the entry it reverses "
                f"({self.date}): date it on or after {self.date}")
        swapped = [{"account": line["account"],
                    **({"debit": line["credit"]} if line["credit"] else {"credit": line["debit"]})}
                   for line in self.lines]
        entry = JournalEntry.post(date=day, memo=memo, lines=swapped,
                                  accounts={line["account"]: "" for line in self.lines},
                                  cause=cause, source_id=source_id,
                                  source_version=source_version, reverses=self.id,
                                  places=places)
        self._reversed(by=entry.id)
        return entry

    @event(Reversed)
    def _reversed(self, by: UUID) -> None:
        self.reversed_by = by

    @property
    def total(self) -> Decimal:
        """The sum of the debits (equal to the sum of the credits)."""
        return sum((line["debit"] for line in self.lines), ZERO)


def check_lines(lines: Iterable[Mapping[str, object]], accounts: Mapping[str, str],
                places: int) -> list[Posting]:
    """Checks postings: known accounts, one positive side each, debits equal credits,
    and their total within ``money.MAX_AMOUNT``."""
    checked: list[Posting] = []
    for number, item in enumerate(lines, start=1):
        if len(checked) >= MAX_LINES:
            raise InvalidInputError(f"an entry has at most {MAX_LINES} lines")
        line = values.mapping(item, f"line {number}")
        account = line.get("account")
        if not isinstance(account, str) or account not in accounts:
            raise UnknownReferenceError(f"line {number}: unknown account {account!r}")
        debit, credit = line.get("debit"), line.get("credit")
        if (debit is None) == (credit is None):
            raise UnbalancedEntryError(f"line {number}: give exactly one of debit or credit")
        amount = money.money(debit if debit is not None else credit, places=places,
                             what=f"line {number} {'debit' if debit is not None else 'credit'}")
        zero = ZERO.quantize(amount)
        checked.append({"account": account,
                        "debit": amount if debit is not None else zero,
                        "credit": amount if credit is not None else zero})
    if len(checked) < 2:
        raise UnbalancedEntryError("an entry needs at least two lines")
    debits = sum((line["debit"] for line in checked), ZERO)
    credits = sum((line["credit"] for line in checked), ZERO)
    if debits != credits:
        raise UnbalancedEntryError(f"debits {debits} do not equal credits {credits}")
    money.check_amount(debits, "the entry's total (the sum of its debits)")
    return checked
