"""AccountingPeriods: which periods of the books are closed, and which years.

The books are closed through a date. Closing moves that date forward, never past
the business date (a period is closed once it has passed). Reopening, a recorded
act with a reason, moves it back. A posting effective on or before it is refused;
a correction is posted in an open period, as a reversal.

A year-end close (the books closed through 31 December) moves every revenue and
expense balance of the year into Retained Earnings by one journal entry the system
makes (cause ``posting_rules.YEAR_END_CLOSE``, source this aggregate), the only kind
of entry allowed in a closed period. Reopening any day of a closed year reverses
that entry (cause ``posting_rules.YEAR_END_REOPEN``) and opens the year again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import ledger_account as chart
from o2c.domain import posting_rules, values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import InvalidInputError, InvalidStateError, PeriodClosedError
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.money import ZERO

_ID = uuid.UUID("5a1c0de5-0000-4000-8000-000000000001")


def year_end(year: int) -> date:
    """The last day of a (calendar) financial year."""
    return date(year, 12, 31)


def a_year(value: object) -> int:
    """A year: a whole number from 1 to 9999 (an int, or its decimal text)."""
    if isinstance(value, bool):
        raise InvalidInputError("year must be a whole number, e.g. 2026")
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 4:
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= 9999:
        raise InvalidInputError(f"year must be a whole number from 1 to 9999, not {value!r}")
    return value


class AccountingPeriods(O2CAggregate):
    """The one record of how far the books are closed, and which years are closed."""

    class Opened(Aggregate.Created):
        """The books were opened (nothing closed yet)."""

        class_version = 1

    class Closed(Aggregate.Event):
        """Every period through ``through`` was closed; ``note`` says why or by whom."""

        class_version = 1
        through: date
        note: str

    class Reopened(Aggregate.Event):
        """The periods after ``through`` were reopened: the books had been closed through
        ``previously_closed_through`` and are now closed through ``through`` only;
        ``reason`` says why (it is required)."""

        class_version = 1
        through: date
        previously_closed_through: date
        reason: str

    class YearClosed(Aggregate.Event):
        """The financial year ``year`` was closed: its revenue and expense balances were
        moved into Retained Earnings by the journal entry ``entry_id`` (None when every
        one of them was already zero)."""

        class_version = 1
        year: int
        entry_id: UUID | None

    class YearReopened(Aggregate.Event):
        """The closed year ``year`` was opened again (a period inside it was reopened):
        its closing entry was reversed by ``entry_id`` (None when it had none)."""

        class_version = 1
        year: int
        entry_id: UUID | None

    @staticmethod
    def create_id() -> UUID:
        """There is one record per book: its id is fixed."""
        return _ID

    @event(Opened)
    def __init__(self) -> None:
        self.closed_through: date | None = None
        #: Each closed year and its closing entry (None: nothing had to move).
        self.closed_years: dict[int, UUID | None] = {}

    def close(self, through: object, note: object = "", *, today: date | None = None) -> None:
        """Closes every period up to and including ``through`` (not after ``today``,
        the business date: a period is closed once it has passed)."""
        day = values.a_date(through, "through")
        why = values.text(note, "note", optional=True)
        if today is not None and day > today:
            raise InvalidInputError(
                f"through {day} is after the business date {today}: a period can be "
                "closed only once it has passed")
        if self.closed_through is not None and day <= self.closed_through:
            raise InvalidStateError(f"the books are already closed through {self.closed_through}")
        self._closed(through=day, note=why)

    @event(Closed)
    def _closed(self, through: date, note: str) -> None:
        self.closed_through = through

    def years_reopened_by(self, through: object) -> list[int]:
        """The closed years a reopening through ``through`` would open again."""
        day = values.a_date(through, "through")
        return sorted(year for year in self.closed_years if year_end(year) > day)

    def reopen(self, through: object, reason: object,
               closing_entries: Mapping[int, JournalEntry] | None = None, *,
               places: int = 2) -> list[JournalEntry]:
        """Reopens every period after ``through``: afterwards the books are closed
        through ``through`` only. Each closed year whose last day is reopened is opened
        again, its closing entry reversed by a system entry dated that day;
        ``closing_entries`` are those entries by year (``years_reopened_by``). Returns
        every entry changed or made (the originals marked reversed, the reversals)."""
        day = values.a_date(through, "through")
        why = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        if self.closed_through is None:
            raise InvalidStateError("the books have never been closed: nothing to reopen")
        if day >= self.closed_through:
            raise InvalidStateError(
                f"the books are closed through {self.closed_through}: reopen through an "
                "earlier date (the books stay closed through the date given)")
        entries = dict(closing_entries or {})
        changed: list[JournalEntry] = []
        self._reopened(through=day, previously_closed_through=self.closed_through, reason=why)
        for year in self.years_reopened_by(day):
            closing = self.closed_years[year]
            reversal = None
            if closing is not None:
                entry = entries.get(year)
                if entry is None or entry.id != closing:
                    raise InvalidStateError(f"the closing entry of {year} ({closing}) is "
                                            "needed to reopen it")
                reversal = entry.undo(
                    date=year_end(year), memo=f"Year-end close of {year} reversed: {why}",
                    cause=posting_rules.YEAR_END_REOPEN, source_id=self.id,
                    source_version=self.version + 1, places=places)
                changed += [entry, reversal]
            self._year_reopened(year=year, entry_id=reversal.id if reversal else None)
        return changed

    @event(Reopened)
    def _reopened(self, through: date, previously_closed_through: date, reason: str) -> None:
        self.closed_through = through

    @event(YearReopened)
    def _year_reopened(self, year: int, entry_id: UUID | None) -> None:
        self.closed_years.pop(year, None)

    def check_year_closable(self, year: object) -> int:
        """The year, if it can be closed now: the books closed through its last day, the
        year not closed yet, and no later year closed (closing moves forward)."""
        checked = a_year(year)
        last = year_end(checked)
        if checked in self.closed_years:
            raise InvalidStateError(f"the year {checked} is already closed")
        later = [y for y in self.closed_years if y > checked]
        if later:
            raise InvalidStateError(
                f"the year {max(later)} is closed: a year before it cannot be closed after "
                f"it (reopen through a date before {last} first)")
        if self.closed_through is None or self.closed_through < last:
            raise InvalidStateError(f"close the books through {last} before closing the "
                                    f"year {checked}")
        return checked

    def close_year(self, year: object, balances: Mapping[str, tuple[Decimal, Decimal]], *,
                   retained: str = chart.RETAINED_EARNINGS,
                   places: int = 2) -> JournalEntry | None:
        """Closes the year: ``balances`` are the debit and credit totals, as of the
        year's last day, of every revenue and expense account (final: the books are
        closed through that day). Returns the closing entry, dated that day, that
        brings each of them to zero against ``retained`` (None when all are zero)."""
        checked = self.check_year_closable(year)
        last = year_end(checked)
        lines: list[dict[str, object]] = []
        net = ZERO
        for code in sorted(balances):
            debit, credit = balances[code]
            balance = debit - credit
            if code == retained:
                raise InvalidStateError(f"account {code} is where the year is closed to; "
                                        "it cannot be closed itself")
            if balance:
                lines.append({"account": code,
                              "credit" if balance > 0 else "debit": abs(balance)})
                net += balance
        entry = None
        if lines:
            if net:  # a loss (net debit) is debited to retained earnings, a profit credited
                lines.append({"account": retained, "debit" if net > 0 else "credit": abs(net)})
            entry = JournalEntry.post(
                date=last, memo=f"Year-end close of {checked}: revenue and expenses to "
                                "retained earnings",
                lines=lines, accounts={str(line["account"]): "" for line in lines},
                cause=posting_rules.YEAR_END_CLOSE, source_id=self.id,
                source_version=self.version + 1, places=places)
        self._year_closed(year=checked, entry_id=entry.id if entry else None)
        return entry

    @event(YearClosed)
    def _year_closed(self, year: int, entry_id: UUID | None) -> None:
        self.closed_years[year] = entry_id

    def check_open(self, day: date) -> None:
        """Refuses a posting effective inside a closed period."""
        if self.closed_through is not None and day <= self.closed_through:
            raise PeriodClosedError(
                f"the books are closed through {self.closed_through}; post the correction "
                f"in an open period (after {self.closed_through}), e.g. as a reversal")
