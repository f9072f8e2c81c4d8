"""A small set of books over two years for the ledger reports' tests, and the figures
recomputed from the postings the story made (plain Python, not the reports' SQL).

The story: capital, sales, rent and a stock receipt in 2025 and 2026; a year-end
close of 2025 (posted directly with ``posting_rules.YEAR_END_CLOSE``), a reversal of
it (``YEAR_END_REOPEN``) and a second close; a back-dated entry recorded after a
remembered moment (``Story.marker``), so ``known_at`` has something to hide.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from o2c.application import O2C, Context
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.posting_rules import YEAR_END_CLOSE, YEAR_END_REOPEN

D = Decimal
CTX = Context(actor="test")
RETAINED, RENT = "3100", "6000"
YEAR_END = (YEAR_END_CLOSE, YEAR_END_REOPEN)
ACCOUNT_TYPES = {"1000": "asset", "1100": "asset", "1200": "asset", "2000": "liability",
                 "2100": "liability", "3000": "equity", RETAINED: "equity",
                 "4000": "revenue", "5000": "expense", "5100": "expense", RENT: "expense"}


@dataclass(frozen=True)
class Line:
    """One posting the story made."""

    day: date
    account: str
    debit: Decimal
    credit: Decimal
    cause: str
    late: bool  # recorded after the story's marker


@dataclass
class Story:
    """The postings made, and a moment between the early and the late ones."""

    lines: list[Line] = field(default_factory=list)
    marker: datetime | None = None

    def select(self, *, account: str | None = None, start: date | None = None,
               end: date | None = None, known: bool = False,
               without_year_end: bool = False) -> list[Line]:
        return [ln for ln in self.lines
                if (account is None or ln.account == account)
                and (start is None or ln.day >= start) and (end is None or ln.day <= end)
                and not (known and ln.late)
                and not (without_year_end and ln.cause in YEAR_END)]

    def balance(self, account: str, **kw: object) -> Decimal:
        """Debit minus credit."""
        return sum((ln.debit - ln.credit for ln in self.select(account=account, **kw)),  # type: ignore[arg-type]
                   D("0.00"))

    def natural(self, account: str, **kw: object) -> Decimal:
        """The balance in the account's natural sign."""
        sign = 1 if ACCOUNT_TYPES[account] in ("asset", "expense") else -1
        return sign * self.balance(account, **kw)

    def profit(self, **kw: object) -> Decimal:
        """Revenue less expenses, without the year-end entries."""
        return sum((-self.balance(code, without_year_end=True, **kw)
                    for code, kind in ACCOUNT_TYPES.items() if kind in ("revenue", "expense")),
                   D("0.00"))


def _ensure_accounts(app: O2C) -> None:
    for code, name, kind in ((RETAINED, "Retained Earnings", "equity"),
                             (RENT, "Rent", "expense")):
        try:
            app.ledger_account(code)
        except LookupError:
            app.open_ledger_account(CTX, code, name, kind)


def _manual(app: O2C, story: Story, day: str, memo: str,
            *lines: tuple[str, str, str], late: bool) -> None:
    app.post_journal_entry(CTX, memo, [{"account": a, side: amount} for a, side, amount in lines],
                           day)
    _note(story, day, lines, "JournalEntry.Posted", late)


def _note(story: Story, day: str, lines: tuple[tuple[str, str, str], ...], cause: str,
          late: bool) -> None:
    for account, side, amount in lines:
        story.lines.append(Line(date.fromisoformat(day), account,
                                D(amount) if side == "debit" else D("0.00"),
                                D(amount) if side == "credit" else D("0.00"), cause, late))


def _direct(app: O2C, story: Story, day: str, memo: str, cause: str,
            *lines: tuple[str, str, str], late: bool) -> None:
    """An entry with the year-end close's cause, saved as that command would save it."""
    entry = JournalEntry.post(date=day, memo=memo,
                              lines=[{"account": a, side: amount} for a, side, amount in lines],
                              accounts={a: ACCOUNT_TYPES[a] for a, _, _ in lines}, cause=cause,
                              places=app.places)
    app.save(entry)
    _note(story, day, lines, cause, late)


def record(app: O2C) -> Story:
    """Records the story; returns what it posted."""
    story = Story()
    _ensure_accounts(app)
    _manual(app, story, "2025-03-10", "Capital paid in",
            ("1000", "debit", "1000.00"), ("3000", "credit", "1000.00"), late=False)
    _manual(app, story, "2025-06-15", "Cash sale",
            ("1000", "debit", "500.00"), ("4000", "credit", "500.00"), late=False)
    _manual(app, story, "2025-06-20", "Rent June",
            ("6000", "debit", "120.00"), ("1000", "credit", "120.00"), late=False)
    _manual(app, story, "2025-11-30", "Cash sale",
            ("1000", "debit", "80.00"), ("4000", "credit", "80.00"), late=False)
    app.register_stock_item(CTX, "LR-1", "Ledger part")
    app.receive_stock(Context(actor="test", today=date(2026, 1, 5)), "LR-1", "10", "2.50")
    _note(story, "2026-01-05", (("1200", "debit", "25.00"), ("2000", "credit", "25.00")),
          "StockItem.Received", late=False)
    time.sleep(0.01)
    story.marker = datetime.now(UTC)
    time.sleep(0.01)
    _manual(app, story, "2025-06-30", "Rent June, found late",
            ("6000", "debit", "10.00"), ("1000", "credit", "10.00"), late=True)
    close = (("4000", "debit", "580.00"), ("6000", "credit", "130.00"),
             (RETAINED, "credit", "450.00"))
    _direct(app, story, "2025-12-31", "Year-end close 2025", YEAR_END_CLOSE, *close, late=True)
    _direct(app, story, "2025-12-31", "Year-end close 2025 undone", YEAR_END_REOPEN,
            *((a, "credit" if s == "debit" else "debit", x) for a, s, x in close), late=True)
    _direct(app, story, "2025-12-31", "Year-end close 2025", YEAR_END_CLOSE, *close, late=True)
    _manual(app, story, "2026-01-15", "Rent January",
            ("6000", "debit", "45.50"), ("2000", "credit", "45.50"), late=True)
    _manual(app, story, "2026-02-03", "Sale with tax",
            ("1000", "debit", "300.00"), ("4000", "credit", "250.00"),
            ("2100", "credit", "50.00"), late=True)
    return story
