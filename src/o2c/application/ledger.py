"""Use cases of the ledger: accounts, manual journal entries, reversals, closing and
reopening periods, and the year-end close."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal

from o2c.application.base import UseCaseBase
from o2c.application.runner import Attempt, Context, Outcome, Result, command
from o2c.domain.accounting_period import AccountingPeriods, a_year, year_end
from o2c.domain.errors import AlreadyExistsError, InvalidInputError, VersionMismatchError
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.ledger_account import LedgerAccount

#: The port the year-end close reads balances through: ``balances_through(day)`` is
#: ``{code: (debit, credit)}`` of every account, summing the postings effective on or
#: before ``day`` of the whole log as it stood when called (a read model caught up to
#: the log's head: bootstrap wires it). The application never reads read models itself.
BalancesThrough = Callable[[date], Mapping[str, tuple[Decimal, Decimal]]]

#: The account types a year-end close brings to zero.
PROFIT_AND_LOSS = ("revenue", "expense")


class Ledger(UseCaseBase):
    """The general ledger's commands (finance)."""

    #: Balances as of a date, for the year-end close (set by ``bootstrap.build_app``).
    balances_through: BalancesThrough | None = None

    @command("open_ledger_account")
    def open_ledger_account(self, run: Attempt, code: object, name: object,
                            type: object) -> Outcome:
        """Adds an account to the chart of accounts."""
        account = LedgerAccount.open(code, name, type)
        if self.exists(account.id):
            raise AlreadyExistsError(f"account {account.code} already exists")
        return Result(account.code, account.version), [account]

    @command("post_journal_entry")
    def post_journal_entry(self, run: Attempt, memo: object,
                           lines: Sequence[Mapping[str, object]],
                           date: object = None) -> Outcome:
        """Posts a manual, balanced journal entry, possibly back-dated."""
        entry = JournalEntry.post(
            date=run.business_date() if date is None else date, memo=memo, lines=lines,
            accounts=self.books.account_types(line.get("account") for line in lines),
            places=self.places)
        self._not_after_today(run, entry.date, "a manual entry")
        self.books.check_open(entry.date)
        self.books.check_manual(entry)
        return Result(str(entry.id), entry.version), [entry]

    @command("reverse_journal_entry", id="entry_id")
    def reverse_journal_entry(self, run: Attempt, entry_id: object, memo: object = None,
                              date: object = None) -> Outcome:
        """Undoes an entry by posting its mirror image in an open period."""
        original = self.journal_entry(entry_id)
        run.check_version(original)
        reversal = original.reversal(
            date=run.business_date() if date is None else date,
            memo=memo or f"Reversal of {original.memo}", places=self.places)
        self._not_after_today(run, reversal.date, "a reversal")
        self.books.check_open(reversal.date)
        return (Result(str(reversal.id), reversal.version,
                       extra={"reverses": str(original.id)}), [original, reversal])

    @staticmethod
    def _not_after_today(run: Attempt, day: date, what: str) -> None:
        """Refuses an entry made by hand dated after the business date: it would count
        in today's reports for something that has not happened yet."""
        today = run.business_date()
        if day > today:
            raise InvalidInputError(
                f"{what} cannot be dated {day}, after the business date {today}: post it "
                "on or after the day it happens")

    @command("close_period")
    def close_period(self, run: Attempt, through: object, note: object = "") -> Outcome:
        """Closes the books through a date (not after the business date): later
        postings dated in it are refused."""
        periods = self.books.periods() or AccountingPeriods()
        periods.close(through, note, today=run.business_date())
        return (Result(str(periods.id), periods.version,
                       extra={"closed_through": str(periods.closed_through)}), [periods])

    @command("reopen_period")
    def reopen_period(self, run: Attempt, through: object, reason: object) -> Outcome:
        """Reopens the periods after a date (earlier than the current close), with a
        reason: postings dated in them are accepted again. A closed year whose last
        day is reopened is opened again: its closing entry is reversed."""
        periods = self.books.periods() or AccountingPeriods()
        run.check_version(periods)
        years = periods.years_reopened_by(through)
        closing = {year: self.journal_entry(periods.closed_years[year]) for year in years
                   if periods.closed_years[year] is not None}
        changed = periods.reopen(through, reason, closing, places=self.places)
        reversals = [e for e in changed if e.reverses is not None]
        return (Result(str(periods.id), periods.version,
                       extra={"closed_through": str(periods.closed_through),
                              "reopened_years": years,
                              "reversal_ids": [str(e.id) for e in reversals]}),
                [periods, *changed])

    @command("close_year")
    def close_year(self, run: Attempt, year: object) -> Outcome:
        """Closes a financial year whose periods are all closed: one system entry dated
        its last day moves every revenue and expense balance to Retained Earnings."""
        periods = self.books.periods() or AccountingPeriods()
        run.check_version(periods)
        checked = periods.check_year_closable(year)
        if self.balances_through is None:
            raise RuntimeError("no balances port: build the application with "
                               "o2c.bootstrap.build_app")
        balances = self.balances_through(year_end(checked))
        types = self.books.account_types(balances)
        profit_and_loss = {code: pair for code, pair in balances.items()
                           if types.get(code) in PROFIT_AND_LOSS}
        entry = periods.close_year(checked, profit_and_loss, places=self.places)
        return (Result(str(periods.id), periods.version,
                       extra={"year": checked, "closed_through": str(periods.closed_through),
                              "entry_id": str(entry.id) if entry else None}),
                [periods, *([entry] if entry else [])])

    def year_end(self, ctx: Context, year: object, note: object = "") -> Result:
        """The year-end close as users ask for it: closes the books through the year's
        last day first if they are not (its own command and write, so every posting
        of the year is in the log before its balances are read), then the year."""
        checked = a_year(year)
        periods = self.books.periods()
        closed = periods.closed_through if periods else None
        if closed is None or closed < year_end(checked):
            if (periods is not None and ctx.expected_version is not None
                    and ctx.expected_version != periods.version):
                raise VersionMismatchError(f"expected version {ctx.expected_version}, "
                                           f"it is at version {periods.version}")
            key = f"{ctx.idempotency_key}:close" if ctx.idempotency_key else None
            self.close_period(dataclasses.replace(ctx, idempotency_key=key,
                                                  expected_version=None),
                              year_end(checked), note or f"year-end {checked}")
            ctx = dataclasses.replace(ctx, expected_version=None)
        return self.close_year(ctx, checked)

    def journal_entry(self, entry_id: object) -> JournalEntry:
        """A journal entry by id."""
        return self.get(JournalEntry, str(entry_id), "journal entry")
