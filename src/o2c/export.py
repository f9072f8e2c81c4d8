"""Exports of the books: the general ledger as a beancount journal.

One beancount transaction per journal entry, dated with its effective date,
carrying the o2c entry id as a link (``^je-<id>``) and the business event that
caused it as metadata, so ``bean-check`` can verify the books independently
and any line can be traced back to the log.

Enough to reproduce o2c's reports in beancount (docs/accounting.md gives the
queries): the book currency as ``operating_currency``; every account opened
with its type's root (``Assets``, ``Liabilities``, ``Equity``, ``Income``,
``Expenses``) and its o2c ``code`` and ``type`` as metadata; each entry's
``cause``, ``position`` (in the log), ``source`` and ``recorded`` (recording time,
for known-at views) as metadata; and the entries of the year-end close and of
its reversal tagged ``#year-end`` (``year_end: TRUE``), which a profit and loss
leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from o2c.domain.money import from_minor, minor_units
from o2c.domain.posting_rules import YEAR_END_CLOSE, YEAR_END_REOPEN
from o2c.persistence.sql import Database

#: The tag of the year-end close's entries (and of their reversal).
YEAR_END_TAG = "year-end"

_ROOTS = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity",
          "revenue": "Income", "expense": "Expenses"}


def account_name(code: str, name: str, kind: str) -> str:
    """A beancount account name, e.g. ``Assets:1100-Accounts-Receivable``."""
    words = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
    return f"{_ROOTS[kind]}:{re.sub(r'[^A-Za-z0-9-]', '', code)}-{words}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def beancount(db: Database, currency: str) -> Iterator[str]:
    """The journal in ``currency`` (the book currency), line by line, from the projected
    postings as they stand (bring the trial balance up to date first)."""
    places = minor_units(currency)
    t = db.table
    with db.transaction(write=False) as cur:
        chart = cur.execute(f"SELECT code, name, type FROM {t('rm_accounts')} "
                            "ORDER BY code").fetchall()
        accounts = {code: account_name(code, name, kind) for code, name, kind in chart}
        first = cur.execute(f"SELECT MIN(effective_date) FROM {t('rm_postings')}").fetchone()
    opened = (first[0] if first and first[0] else "1970-01-01")
    yield 'option "title" "o2c general ledger"'
    yield f'option "operating_currency" "{currency}"'
    yield ""
    for code, _, kind in chart:
        yield f"{opened} open {accounts[code]} {currency}"
        yield f"  code: {_quote(code)}"
        yield f"  type: {_quote(kind)}"
    yield ""
    entry: str | None = None
    after = (0, 0)
    while True:
        with db.transaction(write=False) as cur:
            rows = cur.execute(
                f"SELECT position, line_no, entry_id, account, effective_date, debit, credit, "
                f"cause, source_id, memo, recorded_at FROM {t('rm_postings')} "
                "WHERE position > ? OR (position = ? AND line_no > ?) "
                "ORDER BY position, line_no LIMIT 5000", (after[0], after[0], after[1])
            ).fetchall()
        if not rows:
            break
        for (position, line_no, entry_id, account, day, debit, credit, cause, source, memo,
             recorded) in rows:
            if entry_id != entry:
                if entry is not None:
                    yield ""
                entry = entry_id
                year_end = cause in (YEAR_END_CLOSE, YEAR_END_REOPEN)
                tag = f" #{YEAR_END_TAG}" if year_end else ""
                yield f"{day} * {_quote(memo or cause)} ^je-{entry_id}{tag}"
                yield f"  cause: {_quote(cause)}"
                yield f"  position: {_quote(str(position))}"
                yield f"  recorded: {_quote(str(recorded))}"
                if source:
                    yield f"  source: {_quote(source)}"
                if year_end:
                    yield "  year_end: TRUE"
            amount = from_minor(int(debit) - int(credit), places)
            yield f"  {accounts[account]}  {amount:.{places}f} {currency}"
            after = (int(position), int(line_no))
    yield ""
