"""Paged lists over the read models: customers, leads, opportunities, sales orders,
invoices, stock items and journal entries. The API's collections (``GET /customers``...)
and the web pages call these; they are a stable interface.

Every function has the same shape::

    customers(db, places, *, limit=50, cursor=None, q=None, status=None, sort="newest")
        -> Page[CustomerItem]

- ``db``, ``places``: the application's ``Database`` and the book currency's decimal
  places (``app.db``, ``app.places``).
- ``limit``: items per page, 1 to ``MAX_LIMIT`` (200); ``DEFAULT_LIMIT`` is 50.
- ``cursor``: ``None`` for the first page, then the ``next_cursor`` of the page before.
  It is opaque (do not build or read one) and belongs to one list and one sort: a
  cursor from elsewhere is refused.
- ``q``: a case-insensitive text search (substring), at most ``MAX_QUERY`` printable
  characters; what each list searches is in its docstring.
- ``status``: one status, or several separated by commas (``"placed,confirmed"``: any of
  them); each list's values are in its docstring and in ``STATUSES``.
- ``sort``: each list's orders are in its docstring and in ``SORTS``; the first is the
  default.

Anything else (a limit out of range, an unknown status or sort, a bad cursor, a query
with control characters) raises ``InvalidInputError`` (HTTP 422) and reads nothing.

Pages are keyset-paged (never OFFSET): each sort is a total order ending in a unique
key (the log position of the event that created the item, or the SKU), and the cursor
holds the last item's key, so a page is one indexed range scan however deep it lies,
and items recorded meanwhile never shift or repeat what later pages show. ``q`` is a
substring match on each item's search text, which scans the rows of the page's range
that the other filters leave.

Everything is read from the read models as they stand (one transaction per page);
bringing them up to date is the caller's (``Projector.wait_for``). Money is ``Decimal``
in the book currency, quantities ``Decimal`` (as the reports give them).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from o2c.domain.errors import InvalidInputError
from o2c.domain.lead import CONVERTED, DISQUALIFIED, NEW, QUALIFIED
from o2c.domain.money import from_minor, plain
from o2c.domain.opportunity import OPEN_STAGES, STAGES
from o2c.domain.sales_order import (
    CANCELLED,
    CONFIRMED,
    INVOICED,
    PAID,
    PARTIALLY_SHIPPED,
    PLACED,
    SHIPPED,
)
from o2c.persistence.sql import Cursor, Database
from o2c.projections.base import QTY_SCALE

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: The longest ``q``.
MAX_QUERY = 100
#: The longest cursor these functions hand out is far shorter.
MAX_CURSOR = 1000
#: Available quantity at or below which a stock item is ``low`` (above zero).
LOW_STOCK = Decimal(10)

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, and the cursor of the next page (``None`` on the
    last one)."""

    items: list[T]
    next_cursor: str | None


def search_text(*parts: str) -> str:
    """What ``q`` is matched against: the fields, case-folded, one per line (the read
    models store it with each row)."""
    return "\n".join(part.casefold() for part in parts if part)


# Items -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerItem:
    """A customer in a list."""

    id: str
    name: str
    email: str
    credit_limit: Decimal | None
    payment_terms_days: int
    lead_id: str | None
    registered_at: str
    position: int


@dataclass(frozen=True)
class LeadItem:
    """A lead in a list; ``reason`` is why it was disqualified, ``customer_id`` and
    ``opportunity_id`` what it was converted into."""

    id: str
    name: str
    company: str
    email: str
    source: str
    status: str
    reason: str
    customer_id: str | None
    opportunity_id: str | None
    captured_at: str
    updated_at: str
    position: int


@dataclass(frozen=True)
class OpportunityItem:
    """An opportunity in a list, with its customer's name and its weighted amount
    (amount x probability)."""

    id: str
    title: str
    customer_id: str
    customer_name: str | None
    stage: str
    probability: int
    amount: Decimal
    weighted_amount: Decimal
    expected_close_date: date
    lead_id: str | None
    order_id: str | None
    lost_reason: str
    opened_at: str
    updated_at: str
    position: int


@dataclass(frozen=True)
class SalesOrderItem:
    """A sales order in a list: ``net`` is the order's value before tax (as
    ``SalesOrder.total``), ``invoiced`` what its standing invoices charge with tax,
    ``open`` what of that is unpaid."""

    id: str
    number: str
    customer_id: str
    customer_name: str | None
    opportunity_id: str | None
    status: str
    ordered_quantity: Decimal
    shipped_quantity: Decimal
    invoiced_quantity: Decimal
    net: Decimal
    invoiced: Decimal
    paid: Decimal
    open: Decimal
    placed_at: str
    updated_at: str
    position: int


@dataclass(frozen=True)
class InvoiceItem:
    """An invoice in a list: ``open`` is what is neither paid nor credited;
    ``days_overdue`` counts from the due date to the list's day (0 when not overdue)."""

    invoice_number: str
    order_id: str
    order_number: str
    customer_id: str
    customer_name: str | None
    issued_on: date
    due_on: date
    net: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal
    credited: Decimal
    open: Decimal
    status: str
    days_overdue: int
    credit_note_number: str | None
    position: int


@dataclass(frozen=True)
class StockItemItem:
    """A stock item in a list: on hand, reserved, available (quantities), value at cost."""

    sku: str
    name: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    value: Decimal
    status: str


@dataclass(frozen=True)
class JournalEntryItem:
    """A journal entry in a list: ``date`` is its effective date, ``total`` the sum of its
    debits, ``manual`` whether it was posted by hand (a manual entry or the reversal of
    one; else ``cause`` names the business event), ``accounts`` the codes it posts to."""

    id: str
    date: date
    memo: str
    cause: str
    manual: bool
    source_id: str | None
    total: Decimal
    line_count: int
    accounts: list[str]
    reverses: str | None
    reversed_by: str | None
    status: str
    recorded_at: str
    position: int


# What each list filters and sorts by -----------------------------------------------


@dataclass(frozen=True)
class _Sort:
    """A total order: SQL expressions, the last one unique, all one direction."""

    keys: tuple[str, ...]
    kinds: tuple[type, ...]
    descending: bool


def _by_position(alias: str) -> dict[str, _Sort]:
    return {"newest": _Sort((f"{alias}.position",), (int,), descending=True),
            "oldest": _Sort((f"{alias}.position",), (int,), descending=False)}


_ORDER_STATUSES = (PLACED, CONFIRMED, PARTIALLY_SHIPPED, SHIPPED, INVOICED, PAID, CANCELLED)

#: Each list's status values (an alias stands for several).
STATUSES: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {},
    "leads": {s: (s,) for s in (NEW, QUALIFIED, DISQUALIFIED, CONVERTED)}
    | {"open": (NEW, QUALIFIED)},
    "opportunities": {s: (s,) for s in STAGES} | {"open": tuple(OPEN_STAGES)},
    "sales_orders": {s: (s,) for s in _ORDER_STATUSES},
    "invoices": {s: (s,) for s in ("open", "overdue", "paid", "credited")},
    "stock_items": {s: (s,) for s in ("in_stock", "low", "out")},
    "journal_entries": {s: (s,) for s in ("posted", "reversed", "reversal")},
}

#: Each list's sorts, the default first.
SORTS: dict[str, dict[str, _Sort]] = {
    "customers": _by_position("c") | {
        "name": _Sort(("c.sort_name", "c.position"), (str, int), descending=False)},
    "leads": _by_position("l") | {
        "name": _Sort(("l.sort_name", "l.position"), (str, int), descending=False)},
    "opportunities": _by_position("o") | {
        "amount": _Sort(("o.amount", "o.position"), (int, int), descending=True),
        "close": _Sort(("o.expected_close_date", "o.position"), (str, int),
                       descending=False)},
    "sales_orders": _by_position("o"),
    "invoices": _by_position("i") | {
        "due": _Sort(("i.due_on", "i.position"), (str, int), descending=False)},
    "stock_items": {
        "sku": _Sort(("s.sku",), (str,), descending=False),
        "available": _Sort(("s.on_hand - s.reserved", "s.sku"), (int, str),
                           descending=False)},
    "journal_entries": _by_position("j") | {
        "date": _Sort(("j.effective_date", "j.position"), (str, int), descending=True)},
}


# The lists -----------------------------------------------------------------------------


def customers(db: Database, places: int, *, limit: int = DEFAULT_LIMIT,
              cursor: str | None = None, q: str | None = None, status: str | None = None,
              sort: str = "newest") -> Page[CustomerItem]:
    """Customers. ``q``: name, e-mail or id. ``status``: customers have none (any value
    is refused). ``sort``: ``newest`` registered first (default), ``oldest``, ``name``
    (A to Z, case-insensitive)."""
    query = _Query(db, "customers", limit, cursor, sort)
    _statuses("customers", status)
    query.search(q, "c.search")
    rows = query.run("c.id, c.name, c.email, c.credit_limit, c.payment_terms_days, "
                     "c.lead_id, c.registered_at, c.position",
                     f"{db.table('rm_customer_list')} c")
    return query.page([CustomerItem(
        id, name, email, None if limit_ is None else from_minor(limit_, places), int(terms),
        lead, registered, int(position))
        for id, name, email, limit_, terms, lead, registered, position in rows])


def leads(db: Database, places: int, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None,
          q: str | None = None, status: str | None = None,
          sort: str = "newest") -> Page[LeadItem]:
    """Leads. ``q``: name, company, e-mail, source or id. ``status``: ``new``,
    ``qualified``, ``disqualified``, ``converted``, or ``open`` (new or qualified).
    ``sort``: ``newest`` captured first (default), ``oldest``, ``name`` (A to Z,
    case-insensitive)."""
    query = _Query(db, "leads", limit, cursor, sort)
    query.where_in("l.status", _statuses("leads", status))
    query.search(q, "l.search")
    rows = query.run("l.id, l.name, l.company, l.email, l.source, l.status, l.reason, "
                     "l.customer_id, l.opportunity_id, l.captured_at, l.updated_at, "
                     "l.position", f"{db.table('rm_lead_list')} l")
    return query.page([LeadItem(
        id, name, company, email, source, status_, reason, customer, opportunity, captured,
        updated, int(position))
        for (id, name, company, email, source, status_, reason, customer, opportunity, captured,
             updated, position) in rows])


def opportunities(db: Database, places: int, *, limit: int = DEFAULT_LIMIT,
                  cursor: str | None = None, q: str | None = None, status: str | None = None,
                  sort: str = "newest", customer_id: str | None = None
                  ) -> Page[OpportunityItem]:
    """Opportunities. ``q``: title, id, or the customer's name or e-mail. ``status``: a
    stage (``prospecting``, ``qualification``, ``proposal``, ``negotiation``, ``won``,
    ``lost``) or ``open`` (any open stage). ``sort``: ``newest`` opened first (default),
    ``oldest``, ``amount`` (largest first), ``close`` (expected close, soonest first).
    ``customer_id``: only that customer's."""
    query = _Query(db, "opportunities", limit, cursor, sort)
    query.where_in("o.stage", _statuses("opportunities", status))
    query.equal("o.customer_id", customer_id)
    query.search(q, "o.search", "c.search")
    rows = query.run(
        "o.id, o.title, o.customer_id, c.name, o.stage, o.probability, o.amount, "
        "o.expected_close_date, o.lead_id, o.order_id, o.lost_reason, o.opened_at, "
        "o.updated_at, o.position",
        f"{db.table('rm_opportunity_list')} o LEFT JOIN {db.table('rm_customer_list')} c "
        "ON c.id = o.customer_id")
    unit = Decimal(1).scaleb(-places)
    return query.page([OpportunityItem(
        id, title, customer, name, stage, int(probability), from_minor(amount, places),
        (from_minor(int(amount) * int(probability), places) / 100).quantize(unit),
        date.fromisoformat(close), lead, order, lost, opened, updated, int(position))
        for (id, title, customer, name, stage, probability, amount, close, lead, order, lost,
             opened, updated, position) in rows])


def sales_orders(db: Database, places: int, *, limit: int = DEFAULT_LIMIT,
                 cursor: str | None = None, q: str | None = None, status: str | None = None,
                 sort: str = "newest", customer_id: str | None = None
                 ) -> Page[SalesOrderItem]:
    """Sales orders. ``q``: the order's number (``SO-...``) or id, or the customer's name
    or e-mail. ``status``: ``placed``, ``confirmed``, ``partially_shipped``, ``shipped``,
    ``invoiced``, ``paid``, ``cancelled`` (waiting to be confirmed: ``placed``; to be
    shipped: ``confirmed,partially_shipped``; to be invoiced: ``shipped``). ``sort``:
    ``newest`` placed first (default), ``oldest``. ``customer_id``: only that customer's.

    Status and amounts come from the order-status read model: an order it has not
    reached yet is left out until it has."""
    query = _Query(db, "sales_orders", limit, cursor, sort)
    query.where_in("r.status", _statuses("sales_orders", status))
    query.equal("o.customer_id", customer_id)
    query.search(q, "o.search", "c.search")
    rows = query.run(
        "o.id, o.number, o.customer_id, c.name, o.opportunity_id, r.status, r.ordered_qty, "
        "r.shipped_qty, r.invoiced_qty, r.net, r.invoiced, r.paid, o.placed_at, "
        "r.updated_at, o.position",
        f"{db.table('rm_order_list')} o JOIN {db.table('rm_orders')} r ON r.id = o.id "
        f"LEFT JOIN {db.table('rm_customer_list')} c ON c.id = o.customer_id")
    return query.page([SalesOrderItem(
        id, number, customer, name, opportunity, status, _quantity(ordered),
        _quantity(shipped), _quantity(invoiced_qty), from_minor(net, places),
        from_minor(invoiced, places), from_minor(paid, places),
        from_minor(int(invoiced) - int(paid), places), placed, updated, int(position))
        for (id, number, customer, name, opportunity, status, ordered, shipped, invoiced_qty,
             net, invoiced, paid, placed, updated, position) in rows])


def invoices(db: Database, places: int, *, limit: int = DEFAULT_LIMIT,
             cursor: str | None = None, q: str | None = None, status: str | None = None,
             sort: str = "newest", customer_id: str | None = None,
             today: date | None = None) -> Page[InvoiceItem]:
    """Invoices. ``q``: the invoice's, credit note's or order's number, or the customer's
    name or e-mail. ``status``: ``open`` (not paid or credited, overdue ones included),
    ``overdue`` (open and past due on ``today``), ``paid``, ``credited``; an item's own
    ``status`` says ``overdue`` rather than ``open`` when it is. ``sort``: ``newest``
    issued first (default), ``oldest``, ``due`` (due date, soonest first).
    ``customer_id``: only that customer's. ``today``: the day overdue is judged on
    (today, UTC, by default)."""
    day = (today or datetime.now(UTC).date()).isoformat()
    query = _Query(db, "invoices", limit, cursor, sort)
    wanted = _statuses("invoices", status)
    if wanted:
        choices = [("i.status = 'open' AND i.due_on < ?", (day,)) if s == "overdue"
                   else ("i.status = ?", (s,)) for s in wanted]
        query.where(" OR ".join(f"({sql})" for sql, _ in choices),
                    [p for _, params in choices for p in params])
    query.equal("i.customer_id", customer_id)
    query.search(q, "i.search", "c.search")
    rows = query.run(
        "i.invoice_number, i.order_id, i.order_number, i.customer_id, c.name, i.issued_on, "
        "i.due_on, i.net, i.tax, i.total, i.paid, i.credited, i.status, "
        "i.credit_note_number, i.position",
        f"{db.table('rm_invoice_list')} i LEFT JOIN {db.table('rm_customer_list')} c "
        "ON c.id = i.customer_id")
    items = []
    for (number, order, order_number, customer, name, issued, due, net, tax, total, paid,
         credited, stored, credit_note, position) in rows:
        late = (date.fromisoformat(day) - date.fromisoformat(due)).days
        overdue = stored == "open" and late > 0
        items.append(InvoiceItem(
            number, order, order_number, customer, name, date.fromisoformat(issued),
            date.fromisoformat(due), from_minor(net, places), from_minor(tax, places),
            from_minor(total, places), from_minor(paid, places), from_minor(credited, places),
            from_minor(int(total) - int(paid) - int(credited), places),
            "overdue" if overdue else stored, late if overdue else 0, credit_note,
            int(position)))
    return query.page(items)


def stock_items(db: Database, places: int, *, limit: int = DEFAULT_LIMIT,
                cursor: str | None = None, q: str | None = None, status: str | None = None,
                sort: str = "sku", low_at: Decimal = LOW_STOCK) -> Page[StockItemItem]:
    """Stock items. ``q``: SKU or name (case-insensitive for ASCII letters; the stock list
    is read from the inventory read model, which keeps no search text). ``status``:
    ``in_stock`` (more than ``low_at`` available), ``low`` (some, at most ``low_at``),
    ``out`` (none available). ``sort``: ``sku`` (default), ``available`` (fewest
    first). ``low_at``: the low-stock threshold (``LOW_STOCK``, 10, by default)."""
    query = _Query(db, "stock_items", limit, cursor, sort)
    low = int(Decimal(low_at).scaleb(QTY_SCALE))
    conditions = {"in_stock": ("s.on_hand - s.reserved > ?", (low,)),
                  "low": ("s.on_hand - s.reserved > 0 AND s.on_hand - s.reserved <= ?",
                          (low,)),
                  "out": ("s.on_hand - s.reserved <= 0", ())}
    wanted = _statuses("stock_items", status)
    if wanted:
        query.where(" OR ".join(f"({conditions[s][0]})" for s in wanted),
                    [p for s in wanted for p in conditions[s][1]])
    query.search(q, "LOWER(s.sku)", "LOWER(s.name)")
    rows = query.run("s.sku, s.name, s.on_hand, s.reserved, s.value",
                     f"{db.table('rm_inventory')} s")
    return query.page([StockItemItem(
        sku, name, _quantity(on_hand), _quantity(reserved),
        _quantity(int(on_hand) - int(reserved)), from_minor(value, places),
        "out" if on_hand - reserved <= 0 else "low" if on_hand - reserved <= low
        else "in_stock")
        for sku, name, on_hand, reserved, value in rows])


def journal_entries(db: Database, places: int, *, limit: int = DEFAULT_LIMIT,
                    cursor: str | None = None, q: str | None = None,
                    status: str | None = None, sort: str = "newest"
                    ) -> Page[JournalEntryItem]:
    """Journal entries. ``q``: memo, cause (``SalesOrder.Invoiced``; ``JournalEntry.Posted``
    for the manual ones), an account code or the id. ``status``: ``posted`` (standing),
    ``reversed`` (undone by a reversing entry), ``reversal`` (such an entry). ``sort``:
    ``newest`` recorded first (default), ``oldest``, ``date`` (effective date, latest
    first)."""
    query = _Query(db, "journal_entries", limit, cursor, sort)
    query.where_in("j.status", _statuses("journal_entries", status))
    query.search(q, "j.search")
    rows = query.run(
        "j.id, j.effective_date, j.memo, j.cause, j.manual, j.source_id, j.total, "
        "j.line_count, j.accounts, j.reverses, j.reversed_by, j.status, j.recorded_at, "
        "j.position", f"{db.table('rm_journal_list')} j")
    return query.page([JournalEntryItem(
        id, date.fromisoformat(day), memo, cause, bool(manual), source,
        from_minor(total, places), int(count), accounts.split(), reverses, reversed_by,
        status_, recorded, int(position))
        for (id, day, memo, cause, manual, source, total, count, accounts, reverses,
             reversed_by, status_, recorded, position) in rows])


#: Every list by the name its API collection and ``STATUSES``/``SORTS`` use.
LISTS: Mapping[str, Callable[..., Page[Any]]] = {
    "customers": customers, "leads": leads, "opportunities": opportunities,
    "sales_orders": sales_orders, "invoices": invoices, "stock_items": stock_items,
    "journal_entries": journal_entries,
}


# How a page is read ----------------------------------------------------------------------


def _quantity(milli: int | None) -> Decimal:
    return plain(Decimal(int(milli or 0)).scaleb(-QTY_SCALE))


def _statuses(kind: str, status: str | None) -> tuple[str, ...]:
    """The statuses ``status`` names (empty: no filter); refuses unknown ones."""
    if status is None or not status.strip():
        return ()
    known = STATUSES[kind]
    if not known:
        raise InvalidInputError(f"{kind.replace('_', ' ')} have no status to filter by")
    wanted: list[str] = []
    for part in status.split(","):
        name = part.strip()
        if name not in known:
            raise InvalidInputError(
                f"status must be one or more of {', '.join(known)} (comma-separated), "
                f"not {name[:40]!r}")
        wanted += [s for s in known[name] if s not in wanted]
    return tuple(wanted)


class _Query:
    """One page's SELECT: filters, then the keyset condition, order and limit."""

    def __init__(self, db: Database, kind: str, limit: int, cursor: str | None,
                 sort: str) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not (
                1 <= limit <= MAX_LIMIT):
            raise InvalidInputError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        order = SORTS[kind].get(sort)
        if order is None:
            raise InvalidInputError(f"sort must be one of {', '.join(SORTS[kind])}, "
                                    f"not {str(sort)[:40]!r}")
        self.db, self.kind, self.sort, self.order, self.limit = db, kind, sort, order, limit
        self.conditions: list[str] = []
        self.params: list[Any] = []
        self.after = None if cursor is None else _decode(cursor, kind, sort, order.kinds)
        self.more = False
        self.last: tuple[Any, ...] | None = None

    def where(self, condition: str, params: Sequence[Any] = ()) -> None:
        self.conditions.append(f"({condition})")
        self.params += params

    def where_in(self, column: str, values: Sequence[str]) -> None:
        if values:
            self.where(f"{column} IN ({', '.join('?' for _ in values)})", values)

    def equal(self, column: str, value: str | None) -> None:
        if value is not None:
            self.where(f"{column} = ?", (str(value),))

    def search(self, q: str | None, *columns: str) -> None:
        """Rows whose search text (in any of ``columns``) contains ``q``, case-folded."""
        if q is None or not q.strip():
            return
        text = q.strip()
        if len(text) > MAX_QUERY:
            raise InvalidInputError(f"q is at most {MAX_QUERY} characters")
        if not text.isprintable():
            raise InvalidInputError("q must be printable text (no control characters)")
        pattern = "%" + "".join("\\" + ch if ch in "\\%_" else ch
                                for ch in text.casefold()) + "%"
        self.where(" OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in columns),
                   [pattern] * len(columns))

    def run(self, columns: str, source: str) -> list[tuple[Any, ...]]:
        """The page's rows (one more than the limit, to know whether another follows),
        each with its sort key at the end, which ``page`` strips."""
        keys, descending = self.order.keys, self.order.descending
        conditions, params = list(self.conditions), list(self.params)
        if self.after is not None:
            marks = ", ".join("?" for _ in keys)
            conditions.append(f"({', '.join(keys)}) {'<' if descending else '>'} ({marks})")
            params += self.after
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        direction = " DESC" if descending else ""
        sql = (f"SELECT {columns}, {', '.join(keys)} FROM {source}{where} ORDER BY "
               f"{', '.join(k + direction for k in keys)} LIMIT ?")
        with self.db.transaction(write=False) as cur:
            rows = _fetch(cur, sql, [*params, self.limit + 1])
        self.more = len(rows) > self.limit
        rows = rows[:self.limit]
        width = len(keys)
        self.last = tuple(rows[-1][-width:]) if rows else None
        return [row[:-width] for row in rows]

    def page(self, items: list[T]) -> Page[T]:
        cursor = None
        if self.more and self.last is not None:
            cursor = _encode(self.kind, self.sort, self.last)
        return Page(items, cursor)


def _fetch(cur: Cursor, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    return cur.execute(sql, params).fetchall()


def _encode(kind: str, sort: str, key: tuple[Any, ...]) -> str:
    text = json.dumps([kind, sort, *[int(v) if isinstance(v, int) else v for v in key]],
                      separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, kind: str, sort: str, kinds: tuple[type, ...]) -> list[Any]:
    """The key a cursor holds; ``InvalidInputError`` unless this list and sort gave it."""
    wrong = InvalidInputError("cursor is not one this list gave (pass the next_cursor of "
                              "the page before, with the same sort)")
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR:
        raise wrong
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw.decode())
    except (binascii.Error, ValueError):  # bad base64, UTF-8 or JSON
        raise wrong from None
    if (not isinstance(value, list) or len(value) != 2 + len(kinds)
            or value[:2] != [kind, sort]):
        raise wrong
    key = value[2:]
    for item, expected in zip(key, kinds, strict=True):
        if expected is int and (isinstance(item, bool) or not isinstance(item, int)
                                or abs(item) >= 2**63):
            raise wrong
        if expected is str and (not isinstance(item, str) or len(item) > 500
                                or "\x00" in item or not _encodable(item)):
            raise wrong
    return key


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate, which no database takes
        return False
    return True


__all__ = [
    "DEFAULT_LIMIT", "LISTS", "LOW_STOCK", "MAX_LIMIT", "MAX_QUERY", "SORTS", "STATUSES",
    "CustomerItem", "InvoiceItem", "JournalEntryItem", "LeadItem", "OpportunityItem", "Page",
    "SalesOrderItem", "StockItemItem", "customers", "invoices", "journal_entries", "leads",
    "opportunities", "sales_orders", "search_text", "stock_items",
]
