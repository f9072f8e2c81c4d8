"""Use cases of the ledger: accounts, manual journal entries, reversals, period close."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from o2c.application.base import UseCaseBase
from o2c.application.runner import Attempt, Outcome, Result, command
from o2c.domain.accounting_period import AccountingPeriods
from o2c.domain.errors import AlreadyExistsError
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.ledger_account import LedgerAccount


class Ledger(UseCaseBase):
    """The general ledger's commands (finance)."""

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
        self.books.check_open(reversal.date)
        return (Result(str(reversal.id), reversal.version,
                       extra={"reverses": str(original.id)}), [original, reversal])

    @command("close_period")
    def close_period(self, run: Attempt, through: object, note: object = "") -> Outcome:
        """Closes the books through a date: later postings dated in it are refused."""
        periods = self.books.periods() or AccountingPeriods()
        periods.close(through, note)
        return (Result(str(periods.id), periods.version,
                       extra={"closed_through": str(periods.closed_through)}), [periods])

    def journal_entry(self, entry_id: object) -> JournalEntry:
        """A journal entry by id."""
        return self.get(JournalEntry, str(entry_id), "journal entry")
