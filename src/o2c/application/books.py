"""The books' policy: the chart of accounts, closed periods, control accounts, and the
journal entry each business event causes (by the rules of ``domain/posting_rules.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from o2c.application.engine import Engine
from o2c.domain import ledger_account as chart
from o2c.domain.accounting_period import AccountingPeriods
from o2c.domain.errors import ControlAccountError
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.ledger_account import LedgerAccount
from o2c.domain.posting_rules import CONTROL_ACCOUNTS, Posting
from o2c.persistence.audit_rows import CommandRecord


class Books:
    """The ledger as the use cases see it: which accounts exist (cached: accounts are never
    deleted or retyped), how far the books are closed, and the entries events cause."""

    def __init__(self, engine: Engine, places: int) -> None:
        self.engine = engine
        self.places = places
        self._account_types: dict[str, str] = {}

    def ensure_chart(self) -> None:
        """Opens the default chart of accounts if it is not there yet."""
        missing: list[Aggregate] = [LedgerAccount(code=code, name=name, type=kind)
                                    for code, name, kind in chart.DEFAULT_CHART
                                    if not self.engine.exists(LedgerAccount.create_id(code))]
        if not self.engine.exists(AccountingPeriods.create_id()):
            missing.append(AccountingPeriods())
        if missing:
            with contextlib.suppress(IntegrityError):  # another process just opened it
                self.engine.save(*missing,
                                 o2c=CommandRecord(actor="system", command="open_chart"))

    def account_types(self, codes: Iterable[object]) -> dict[str, str]:
        """The type of each known account among ``codes``."""
        found: dict[str, str] = {}
        for code in codes:
            if not isinstance(code, str):
                continue
            if code not in self._account_types:
                try:
                    account: LedgerAccount = self.engine.repository.get(
                        LedgerAccount.create_id(code))
                except AggregateNotFoundError:
                    continue
                self._account_types[code] = account.type
            found[code] = self._account_types[code]
        return found

    def periods(self) -> AccountingPeriods | None:
        """How far the books are closed (None until a period is first closed)."""
        try:
            found: Aggregate = self.engine.repository.get(AccountingPeriods.create_id())
        except AggregateNotFoundError:
            return None
        assert isinstance(found, AccountingPeriods)
        return found

    def check_open(self, day: date) -> None:
        """Refuses a posting dated in a closed period."""
        periods = self.periods()
        if periods is not None:
            periods.check_open(day)

    def caused_by(self, posting: Posting, *, when: date, memo: str,
                  source: Aggregate) -> list[JournalEntry]:
        """The journal entry a business event causes (none when every amount is zero).
        The event's date must be in an open period either way: a document worth nothing
        (goods received at no cost, a count that finds what was expected) is still a
        document of that day, and a closed period takes no more documents."""
        self.check_open(when)
        lines: list[dict[str, Any]] = [dict(line) for line in posting.lines
                                       if line.get("debit") or line.get("credit")]
        if not lines:
            return []
        return [JournalEntry.post(
            date=when, memo=memo, lines=lines,
            accounts=self.account_types(line["account"] for line in lines),
            cause=posting.cause, source_id=source.id, source_version=source.version,
            places=self.places)]

    @staticmethod
    def check_manual(entry: JournalEntry) -> None:
        """Refuses a manual entry on a control account (it must equal its subledger)."""
        controlled = CONTROL_ACCOUNTS & {line["account"] for line in entry.lines}
        if controlled:
            raise ControlAccountError(
                f"account {', '.join(sorted(controlled))} is a control account: only "
                "invoices, payments, credit notes, receipts, shipments and counts post to "
                "it, so it always equals its subledger")
