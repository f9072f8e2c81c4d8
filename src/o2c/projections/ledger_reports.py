"""The reports accountants read, from the trial-balance read model: an account's ledger
(register), profit and loss, the balance sheet, and the trial balance for a range
(opening, movement, closing), each optionally per calendar month.

Every figure is summed from the projected postings (``rm_postings``: one row per
journal-entry line, with its effective date and recording time) or from their
per-account, per-date totals (``rm_balance_by_date``), in integer minor units, and
turned into Decimals of the book currency's places only at the end, so a zero is
``0.00`` and nothing is rounded.

Two time axes, as for the trial balance (``reports.trial_balance``): a date range
``start``..``end`` (both inclusive) on the effective date, and ``known_at``, a
recording time: only postings recorded by then count. Without ``known_at`` the
per-date totals answer (one row per account and day: the cost does not grow with
the postings of a day); with it, the checkpoint of the per-date totals nearest
before the last posting recorded by then, plus the postings after that checkpoint
(bounded by the checkpoint spacing). Without dates a report covers all of time up
to today (UTC).

Signs: a ``balance`` is debit minus credit, as in the trial balance (an asset's
balance is positive, a liability's negative). The P&L and the balance sheet show
each section in its natural sign instead: revenue, liabilities and equity as
credit minus debit, expenses and assets as debit minus credit.

Profit and loss leaves out the postings of the year-end close and of its reversal
(``posting_rules.YEAR_END_CLOSE``, ``YEAR_END_REOPEN``): they move the year's
revenue and expense balances into retained earnings, and counting them would
show every closed year with no profit. The balance sheet counts every posting,
and shows the revenue and expense balances not yet closed into retained earnings
as ``unclosed_profit`` under equity, so that assets = liabilities + equity +
unclosed profit always.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from o2c.domain.errors import InvalidInputError, NotFoundError
from o2c.domain.ledger_account import DEBIT_NORMAL
from o2c.domain.money import from_minor
from o2c.domain.posting_rules import YEAR_END_CLOSE, YEAR_END_REOPEN
from o2c.persistence.sql import Cursor, Database

#: The causes profit and loss leaves out (the year-end close and its reversal).
YEAR_END_CAUSES = (YEAR_END_CLOSE, YEAR_END_REOPEN)
#: Ledger lines per page when the caller does not say, and at most.
DEFAULT_LIMIT, MAX_LIMIT = 500, 5000
#: The most calendar months a monthly report spans (ten years).
MAX_MONTHS = 120
_BEGINNING = "0001-01-01"
_SECTIONS = (("asset", "assets"), ("liability", "liabilities"), ("equity", "equity"),
             ("revenue", "revenue"), ("expense", "expenses"))

Sums = dict[tuple[str, str], list[int]]


def today() -> date:
    """The default end of every range: today, UTC."""
    return datetime.now(UTC).date()


def _iso(moment: datetime) -> str:
    """A recording time as the projector stores it (UTC, microseconds, ``Z``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:  # pushed past year 1 or 9999 by its offset: before or after all
        return ("0001-01-01T00:00:00.000000Z" if moment.year < 5000
                else "9999-12-31T23:59:59.999999Z")


def check_range(start: date | None, end: date | None) -> tuple[str, str]:
    """The range as ISO text (``start`` None: the beginning; ``end`` None: today);
    ``start`` after ``end`` is refused."""
    last = end or today()
    if start is not None and start > last:
        raise InvalidInputError(f"from {start.isoformat()} is after to {last.isoformat()}")
    return (start.isoformat() if start else _BEGINNING), last.isoformat()


def _accounts(cur: Cursor, t: Any) -> list[tuple[str, str, str]]:
    return [(str(c), str(n), str(k)) for c, n, k in cur.execute(
        f"SELECT code, name, type FROM {t('rm_accounts')} ORDER BY code").fetchall()]


def _until(cur: Cursor, t: Any, known_at: datetime | None) -> int | None:
    """The log position of the last posting recorded by ``known_at`` (None: no limit)."""
    if known_at is None:
        return None
    # Recording times never go backwards along the log: one index seek, then the few
    # postings of that instant.
    row = cur.execute(f"SELECT recorded_at FROM {t('rm_postings')} WHERE recorded_at <= ? "
                      "ORDER BY recorded_at DESC LIMIT 1", (_iso(known_at),)).fetchone()
    if row is None:
        return 0
    row = cur.execute(f"SELECT MAX(position) FROM {t('rm_postings')} WHERE recorded_at = ?",
                      (row[0],)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _month(monthly: bool) -> str:
    return "substr(effective_date, 1, 7)" if monthly else "''"


def _add(sums: Sums, rows: Iterable[tuple[Any, ...]], sign: int = 1) -> None:
    for code, month, d, c in rows:
        pair = sums.setdefault((str(code), str(month)), [0, 0])
        pair[0] += sign * int(d or 0)
        pair[1] += sign * int(c or 0)


def _sums(cur: Cursor, t: Any, lo: str, hi: str, until: int | None, *,
          monthly: bool = False, account: str | None = None,
          without_year_end: bool = False) -> Sums:
    """Debits and credits per (account, month or ''), effective in [lo, hi], recorded
    up to log position ``until`` (None: everything)."""
    month = _month(monthly)
    group = f"account, {month}" if monthly else "account"
    only = " AND account = ?" if account is not None else ""
    extra: tuple[Any, ...] = (account,) if account is not None else ()
    sums: Sums = {}
    bound_params: tuple[Any, ...]
    if until is None:
        _add(sums, cur.execute(
            f"SELECT account, {month}, SUM(debit), SUM(credit) FROM {t('rm_balance_by_date')} "
            f"WHERE effective_date >= ? AND effective_date <= ?{only} GROUP BY {group}",
            (lo, hi, *extra)).fetchall())
        bound, bound_params = "", ()
    else:
        row = cur.execute(f"SELECT position FROM {t('rm_balance_checkpoints')} "
                          "WHERE position <= ? ORDER BY position DESC LIMIT 1",
                          (until,)).fetchone()
        base = int(row[0]) if row and row[0] is not None else 0
        _add(sums, cur.execute(
            f"SELECT account, {month}, SUM(debit), SUM(credit) "
            f"FROM {t('rm_balance_checkpoints')} WHERE position = ? AND effective_date >= ? "
            f"AND effective_date <= ?{only} GROUP BY {group}",
            (base, lo, hi, *extra)).fetchall())
        _add(sums, cur.execute(
            f"SELECT account, {month}, SUM(debit), SUM(credit) FROM {t('rm_postings')} "
            "WHERE position > ? AND position <= ? AND effective_date >= ? "
            f"AND effective_date <= ?{only} GROUP BY {group}",
            (base, until, lo, hi, *extra)).fetchall())
        bound, bound_params = " AND position <= ?", (until,)
    if without_year_end:
        _add(sums, cur.execute(
            f"SELECT account, {month}, SUM(debit), SUM(credit) FROM {t('rm_postings')} "
            "WHERE cause IN (?, ?) AND effective_date >= ? AND effective_date <= ?"
            f"{bound}{only} GROUP BY {group}",
            (*YEAR_END_CAUSES, lo, hi, *bound_params, *extra)).fetchall(), sign=-1)
    return sums


def _when(known_at: datetime | None) -> str | None:
    return _iso(known_at) if known_at is not None else None


# The account ledger --------------------------------------------------------------------

def _cursor_text(day: str, position: int, line_no: int) -> str:
    return base64.urlsafe_b64encode(f"ledger|{day}|{position}|{line_no}".encode()).decode()


def _cursor_key(cursor: str) -> tuple[str, int, int]:
    try:
        kind, day, position, line_no = base64.urlsafe_b64decode(
            cursor.encode("ascii")).decode("ascii").split("|")
        date.fromisoformat(day)
        if kind != "ledger":
            raise ValueError(kind)
        return day, int(position), int(line_no)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInputError("cursor: not a cursor of an account ledger") from None


def ledger(db: Database, places: int, code: str, *, start: date | None = None,
           end: date | None = None, known_at: datetime | None = None,
           limit: int | None = DEFAULT_LIMIT, cursor: str | None = None) -> dict[str, Any]:
    """One account's postings in [start, end] in (effective date, log position, line)
    order, with the opening balance (everything before ``start``), each line's running
    balance, the range's totals and the closing balance.

    Paged: at most ``limit`` lines (None: all), and ``next_cursor`` to continue
    strictly after the last line; a page's running balance starts from everything
    before its first line, so pages join up. An unknown account is ``NotFoundError``.
    """
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}")
    lo, hi = check_range(start, end)
    after = _cursor_key(cursor) if cursor else None
    t = db.table
    with db.transaction(write=False) as cur:
        found = cur.execute(f"SELECT code, name, type FROM {t('rm_accounts')} WHERE code = ?",
                            (code,)).fetchone()
        if found is None:
            raise NotFoundError(f"no account {code!r}")
        until = _until(cur, t, known_at)
        before = _before(cur, t, lo, until, account=code)
        opening = sum(d - c for d, c in before.values())
        movement = _sums(cur, t, lo, hi, until, account=code)
        debit = sum(d for d, _ in movement.values())
        credit = sum(c for _, c in movement.values())
        bound = "" if until is None else " AND position <= ?"
        bound_params: tuple[Any, ...] = () if until is None else (until,)
        running = opening
        if after is not None:
            day, position, line_no = after
            if not lo <= day <= hi:
                raise InvalidInputError("cursor: not within this ledger's dates")
            # Everything of the range before the cursor's day, then that day's lines up
            # to the cursor (one account's postings of one day, through the index).
            earlier = ({} if day == lo else _sums(
                cur, t, lo, (date.fromisoformat(day) - timedelta(days=1)).isoformat(),
                until, account=code))
            same_day = cur.execute(
                f"SELECT SUM(debit), SUM(credit) FROM {t('rm_postings')} WHERE account = ? "
                f"AND effective_date = ? AND (position, line_no) <= (?, ?){bound}",
                (code, day, position, line_no, *bound_params)).fetchone()
            running += sum(d - c for d, c in earlier.values())
            running += int((same_day or (0, 0))[0] or 0) - int((same_day or (0, 0))[1] or 0)
            where = "(effective_date, position, line_no) > (?, ?, ?)"
            params: tuple[Any, ...] = (code, day, position, line_no, hi)
        else:
            where = "effective_date >= ?"
            params = (code, lo, hi)
        page = " LIMIT ?" if limit is not None else ""
        rows = cur.execute(
            "SELECT effective_date, position, line_no, entry_id, memo, cause, source_id, "
            f"debit, credit FROM {t('rm_postings')} WHERE account = ? AND {where} AND "
            f"effective_date <= ?{bound} ORDER BY effective_date, position, line_no{page}",
            (*params, *bound_params, *((limit + 1,) if limit is not None else ()))).fetchall()
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    lines = []
    page_opening = running
    for day, position, line_no, entry_id, memo, cause, source_id, d, c in rows:
        running += int(d) - int(c)
        lines.append({"date": str(day), "position": int(position), "line_no": int(line_no),
                      "entry_id": str(entry_id), "memo": memo, "cause": cause,
                      "source_id": source_id, "year_end": cause in YEAR_END_CAUSES,
                      "trail": f"/audit/trail/{entry_id}",
                      "debit": from_minor(int(d), places), "credit": from_minor(int(c), places),
                      "balance": from_minor(running, places)})
    last = rows[-1] if rows else None
    money = from_minor
    return {"account": {"code": found[0], "name": found[1], "type": found[2],
                        "normal_balance": "debit" if found[2] in DEBIT_NORMAL else "credit"},
            "from": None if start is None else lo, "to": hi, "known_at": _when(known_at),
            "opening_balance": money(opening, places),
            "page_opening_balance": money(page_opening, places),
            "lines": lines,
            "totals": {"debit": money(debit, places), "credit": money(credit, places)},
            "closing_balance": money(opening + debit - credit, places),
            "next_cursor": _cursor_text(str(last[0]), int(last[1]), int(last[2]))
            if more and last is not None else None}


def _before(cur: Cursor, t: Any, day: str, until: int | None, *, account: str | None = None,
            monthly: bool = False) -> Sums:
    """Sums of everything effective before ``day``."""
    if day <= _BEGINNING:
        return {}
    previous = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    return _sums(cur, t, _BEGINNING, previous, until, account=account, monthly=monthly)


# Months --------------------------------------------------------------------------------

def months(lo: str, hi: str) -> list[tuple[str, str, str]]:
    """The calendar months meeting [lo, hi]: (``YYYY-MM``, first day, last day), each
    clipped to the range; more than ``MAX_MONTHS`` is refused."""
    first, last = date.fromisoformat(lo), date.fromisoformat(hi)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    if count > MAX_MONTHS:
        raise InvalidInputError(f"monthly columns span at most {MAX_MONTHS} months "
                                f"({count} asked): narrow --from/--to")
    found = []
    year, month = first.year, first.month
    for _ in range(count):
        begin = date(year, month, 1)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        end = date(year, month, 1) - timedelta(days=1) if year <= 9999 else date.max
        found.append((begin.isoformat()[:7], max(begin, first).isoformat(),
                      min(end, last).isoformat()))
    return found


def _monthly_start(cur: Cursor, t: Any, start: date | None, hi: str) -> str:
    """A monthly report's first day: ``start``, or the first posting's date."""
    if start is not None:
        return start.isoformat()
    row = cur.execute(f"SELECT MIN(effective_date) FROM {t('rm_balance_by_date')}").fetchone()
    first = str(row[0]) if row and row[0] else hi
    return min(first, hi)


# Profit and loss -----------------------------------------------------------------------

def profit_and_loss(db: Database, places: int, *, start: date | None = None,
                    end: date | None = None, known_at: datetime | None = None,
                    monthly: bool = False) -> dict[str, Any]:
    """Revenue and expense accounts' movements in [start, end] (revenue as credit minus
    debit, expenses as debit minus credit), their totals and the net profit (revenue
    less expenses); without the year-end close's postings. ``monthly``: the same per
    calendar month too (``by_month`` beside each figure, in ``months`` order)."""
    lo, hi = check_range(start, end)
    t = db.table
    with db.transaction(write=False) as cur:
        accounts = _accounts(cur, t)
        until = _until(cur, t, known_at)
        if monthly:
            lo = _monthly_start(cur, t, start, hi)
        columns = months(lo, hi) if monthly else []
        sums = _sums(cur, t, lo, hi, until, monthly=monthly, without_year_end=True)
    keys = [m for m, _, _ in columns]

    def section(kind: str) -> dict[str, Any]:
        sign = 1 if kind in DEBIT_NORMAL else -1
        rows, total, per_month = [], 0, [0] * len(keys)
        for code, name, account_type in accounts:
            if account_type != kind:
                continue
            amounts = [sign * (sums.get((code, m), [0, 0])[0] - sums.get((code, m), [0, 0])[1])
                       for m in (keys or [""])]
            amount = sum(amounts)
            total += amount
            row: dict[str, Any] = {"code": code, "name": name,
                                   "amount": from_minor(amount, places)}
            if monthly:
                per_month = [a + b for a, b in zip(per_month, amounts, strict=True)]
                row["by_month"] = [from_minor(a, places) for a in amounts]
            rows.append(row)
        result: dict[str, Any] = {"accounts": rows, "total": from_minor(total, places)}
        if monthly:
            result["by_month"] = [from_minor(a, places) for a in per_month]
        return result

    revenue, expenses = section("revenue"), section("expense")
    report: dict[str, Any] = {
        "from": None if start is None and not monthly else lo, "to": hi,
        "known_at": _when(known_at), "revenue": revenue, "expenses": expenses,
        "net_profit": revenue["total"] - expenses["total"],
        "excluded_causes": list(YEAR_END_CAUSES)}
    if monthly:
        report["months"] = [{"month": m, "from": f, "to": e} for m, f, e in columns]
        report["net_profit_by_month"] = [
            r - x for r, x in zip(revenue["by_month"], expenses["by_month"], strict=True)]
    return report


# The balance sheet ---------------------------------------------------------------------

def balance_sheet(db: Database, places: int, *, as_of: date | None = None,
                  known_at: datetime | None = None) -> dict[str, Any]:
    """Every asset, liability and equity account's balance as of ``as_of`` (today by
    default; every posting, year-end ones included), and the revenue and expense
    balances not yet closed into retained earnings as ``unclosed_profit``; says whether
    assets equal liabilities + equity + unclosed profit (they must)."""
    _, hi = check_range(None, as_of)
    t = db.table
    with db.transaction(write=False) as cur:
        accounts = _accounts(cur, t)
        until = _until(cur, t, known_at)
        sums = _sums(cur, t, _BEGINNING, hi, until)
    totals: dict[str, int] = {kind: 0 for kind, _ in _SECTIONS}
    sections: dict[str, list[dict[str, Any]]] = {kind: [] for kind, _ in _SECTIONS}
    for code, name, kind in accounts:
        d, c = sums.get((code, ""), [0, 0])
        amount = d - c if kind in DEBIT_NORMAL else c - d
        totals[kind] = totals.get(kind, 0) + amount
        sections.setdefault(kind, []).append(
            {"code": code, "name": name, "amount": from_minor(amount, places)})
    unclosed = totals["revenue"] - totals["expense"]
    equity = totals["equity"] + unclosed
    difference = totals["asset"] - (totals["liability"] + equity)

    def part(kind: str) -> dict[str, Any]:
        return {"accounts": sections[kind], "total": from_minor(totals[kind], places)}

    return {"as_of": hi, "known_at": _when(known_at),
            "assets": part("asset"), "liabilities": part("liability"),
            "equity": {**part("equity"), "unclosed_profit": from_minor(unclosed, places),
                       "total_with_unclosed_profit": from_minor(equity, places)},
            "liabilities_and_equity": from_minor(totals["liability"] + equity, places),
            "difference": from_minor(difference, places), "balanced": difference == 0}


# The trial balance for a range ---------------------------------------------------------

def trial_balance_range(db: Database, places: int, *, start: date | None = None,
                        end: date | None = None, known_at: datetime | None = None,
                        monthly: bool = False) -> dict[str, Any]:
    """Per account: the opening balance (everything before ``start``), the debits and
    credits effective in [start, end], and the closing balance (opening + debits -
    credits; balances debit positive; ``balance`` repeats the closing one, as the
    single-date layout names it); totals, which balance to zero. ``monthly``: the
    debits and credits per calendar month too."""
    lo, hi = check_range(start, end)
    t = db.table
    with db.transaction(write=False) as cur:
        accounts = _accounts(cur, t)
        until = _until(cur, t, known_at)
        if monthly:
            lo = _monthly_start(cur, t, start, hi)
        columns = months(lo, hi) if monthly else []
        opening = _before(cur, t, lo, until)
        movement = _sums(cur, t, lo, hi, until, monthly=monthly)
    keys = [m for m, _, _ in columns] or [""]
    rows, total = [], {"opening": 0, "debit": 0, "credit": 0, "closing": 0, "balance": 0}
    for code, name, kind in accounts:
        o_d, o_c = opening.get((code, ""), [0, 0])
        per = [movement.get((code, m), [0, 0]) for m in keys]
        debit, credit = sum(p[0] for p in per), sum(p[1] for p in per)
        figures = {"opening": o_d - o_c, "debit": debit, "credit": credit,
                   "closing": o_d - o_c + debit - credit,
                   "balance": o_d - o_c + debit - credit}  # as the single-date layout
        for key, value in figures.items():
            total[key] += value
        row: dict[str, Any] = {"code": code, "name": name, "type": kind,
                               "normal_balance": "debit" if kind in DEBIT_NORMAL else "credit",
                               **{k: from_minor(v, places) for k, v in figures.items()}}
        if monthly:
            row["by_month"] = [{"month": m, "debit": from_minor(p[0], places),
                                "credit": from_minor(p[1], places)}
                               for m, p in zip(keys, per, strict=True)]
        rows.append(row)
    report: dict[str, Any] = {
        "from": None if start is None and not monthly else lo, "to": hi, "as_of": hi,
        "known_at": _when(known_at), "accounts": rows,
        "totals": {k: from_minor(v, places) for k, v in total.items()}}
    if monthly:
        report["months"] = [{"month": m, "from": f, "to": e} for m, f, e in columns]
    return report
