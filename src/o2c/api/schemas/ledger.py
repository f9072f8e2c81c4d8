"""Bodies and answers of ``routes.ledger``: accounts, journal entries, periods, years."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from o2c.api.schemas.common import (
    Amount,
    Command,
    CommandPublic,
    Day,
    Dec,
    LongText,
    Name,
    Out,
    Whole,
)
from o2c.domain import journal_entry, values
from o2c.domain.ledger_account import MAX_CODE

#: Longest account type a body may carry (the domain then checks it is one of the five).
MAX_TYPE = 20


class OpenLedgerAccount(Command):
    """A new account of the chart."""

    code: Annotated[str, Field(min_length=1, max_length=MAX_CODE, examples=["6100"])]
    name: Name
    type: Annotated[str, Field(max_length=MAX_TYPE, examples=["expense"])]


class EntryLine(Command):
    """One posting: an account and either a debit or a credit."""

    account: Annotated[str, Field(min_length=1, max_length=MAX_CODE)]
    debit: Amount | None = None
    credit: Amount | None = None


class PostJournalEntry(Command):
    """A manual, balanced journal entry; ``date`` may lie in the past."""

    memo: LongText
    lines: Annotated[list[EntryLine], Field(min_length=2, max_length=journal_entry.MAX_LINES)]
    date: Day | None = None


class ReverseJournalEntry(Command):
    """Undo an entry in an open period."""

    memo: LongText | None = None
    date: Day | None = None


class ClosePeriod(Command):
    """Close the books through a date."""

    through: Day
    note: Annotated[str, Field(max_length=values.MAX_LONG_TEXT)] = ""


class ReopenPeriod(Command):
    """Reopen the periods after a date (earlier than the current close), saying why."""

    through: Day
    reason: Annotated[str, Field(min_length=1, max_length=values.MAX_LONG_TEXT)]


class CloseYear(Command):
    """Close a financial year (calendar year): revenue and expenses to retained earnings."""

    year: Annotated[Whole, Field(ge=1, le=9999, examples=[2026])]
    note: Annotated[str, Field(max_length=values.MAX_LONG_TEXT)] = ""


class ReversalPublic(CommandPublic):
    """A reversing entry and the entry it reverses."""

    reverses: str


class PeriodPublic(CommandPublic):
    """How far the books are closed."""

    closed_through: dt.date


class ReopenPublic(PeriodPublic):
    """How far the books are closed after a reopening, the closed years it opened again
    and the system entries that reversed their closing entries."""

    reopened_years: list[int]
    reversal_ids: list[str]


class YearEndPublic(PeriodPublic):
    """A closed year and its closing entry (null when nothing had to move)."""

    year: int
    entry_id: str | None


class ClosedYearPublic(Out):
    """A closed year and the entry that closed it (null when nothing had to move)."""

    year: int
    entry_id: str | None


class PeriodsPublic(Out):
    """How far the books are closed (null: never), and the closed years."""

    id: str
    version: int
    closed_through: dt.date | None
    closed_years: list[ClosedYearPublic]


class LedgerAccountPublic(Out):
    """An account, with its balance from the trial-balance read model."""

    code: str
    id: str
    version: int
    name: str
    type: str
    debit: Dec
    credit: Dec
    balance: Dec


class JournalEntryItemPublic(Out):
    """A journal entry in a list (``GET /journal-entries``): ``date`` is its effective
    date, ``total`` the sum of its debits, ``accounts`` the codes it posts to."""

    id: str
    date: dt.date
    memo: str
    cause: str
    manual: bool
    source_id: str | None
    total: Dec
    line_count: int
    accounts: list[str]
    reverses: str | None
    reversed_by: str | None
    status: str
    recorded_at: str
    position: int


class JournalEntryListPublic(Out):
    """A page of journal entries."""

    items: list[JournalEntryItemPublic]
    next_cursor: str | None = Field(description="The next page's `cursor`; null on the last.")
    position: int = Field(description="The log position the read models had reached.")
