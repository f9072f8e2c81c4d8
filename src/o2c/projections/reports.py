"""Reports read from the read models: pipeline, inventory, trial balance, AR aging.

Current reports read small summary tables (one row per stage, SKU or
account), so their cost does not grow with the log. The trial balance
``as_of`` an effective date and ``known_at`` a recording time sums the
projected postings with both filters: back-dated entries append postings, and
nothing recorded is ever rewritten, so any past view can be recomputed.

Every report takes the database and the book currency's decimal places, and
reads the read models as they stand: bringing them up to date is the caller's
(a ``Projector``'s ``catch_up`` or ``wait_for``), never a report's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson

from o2c.domain.activity import LEAD, OPPORTUNITY
from o2c.domain.ledger_account import DEBIT_NORMAL
from o2c.domain.money import from_minor, plain
from o2c.domain.opportunity import OPEN_STAGES
from o2c.persistence import log
from o2c.persistence.sql import Database
from o2c.projections import activities
from o2c.projections.base import QTY_SCALE, text_id
from o2c.projections.orders import order_number

#: Days without activity after which an open lead or deal is stale (``O2C_STALE_DAYS``).
DEFAULT_STALE_DAYS = 14
AGING_BUCKETS = (("current", None, 0), ("1-30", 1, 30), ("31-60", 31, 60),
                 ("61-90", 61, 90), ("90+", 91, None))


def _qty(milli: int | None) -> Decimal:
    return plain(Decimal(int(milli or 0)).scaleb(-QTY_SCALE))


def _rows(db: Database, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with db.transaction(write=False) as cur:
        return cur.execute(sql, params).fetchall()


def _rate(numerator: int, denominator: int) -> Decimal:
    if not denominator:
        return Decimal("0.0000")
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"))


def pipeline(db: Database, places: int, *, today: date | None = None,
             stale_days: int = DEFAULT_STALE_DAYS) -> dict[str, Any]:
    """Open opportunities per stage (count, amount, weighted amount), win rate, lead
    conversion; and ``stale``: the open leads and deals with no activity for
    ``stale_days`` days or more before ``today`` (UTC today when None), counted per
    stage and listed."""
    t = db.table
    today = today or datetime.now(UTC).date()
    idle = activities.stale(db, today, stale_days)
    stale_stages: dict[str, int] = {}
    for item in idle:
        if item["kind"] == OPPORTUNITY:
            stale_stages[item["stage"]] = stale_stages.get(item["stage"], 0) + 1
    stages = {row[0]: row for row in _rows(
        db, f"SELECT stage, count, amount, weighted FROM {t('rm_pipeline_stages')}")}
    leads = dict(_rows(db, f"SELECT status, count FROM {t('rm_lead_counts')}"))

    def stage(name: str) -> dict[str, Any]:
        _, count, amount, weighted = stages.get(name, (name, 0, 0, 0))
        return {"stage": name, "count": int(count), "amount": from_minor(amount, places),
                "weighted_amount": (from_minor(weighted, places) / 100).quantize(
                    Decimal(1).scaleb(-places))}

    won, lost = stage("won"), stage("lost")
    open_rows = [stage(name) for name in OPEN_STAGES]
    total_leads = int(leads.get("total", 0))
    converted = int(leads.get("converted", 0))
    return {
        "stages": open_rows,
        "open": {"count": sum(r["count"] for r in open_rows),
                 "amount": sum((r["amount"] for r in open_rows), from_minor(0, places)),
                 "weighted_amount": sum((r["weighted_amount"] for r in open_rows),
                                        from_minor(0, places))},
        "won": {"count": won["count"], "amount": won["amount"]},
        "lost": {"count": lost["count"], "amount": lost["amount"]},
        "win_rate": _rate(won["count"], won["count"] + lost["count"]),
        "leads": {"total": total_leads, "converted": converted,
                  "disqualified": int(leads.get("disqualified", 0)),
                  "open": int(leads.get("new", 0)) + int(leads.get("qualified", 0))},
        "lead_conversion_rate": _rate(converted, total_leads),
        "stale": {"days": stale_days, "as_of": today, "count": len(idle),
                  "leads": sum(1 for i in idle if i["kind"] == LEAD),
                  "stages": [{"stage": name, "count": stale_stages.get(name, 0)}
                             for name in OPEN_STAGES],
                  "items": idle},
    }


def inventory(db: Database, places: int) -> dict[str, Any]:
    """Per SKU: on hand, reserved, available and value at cost."""
    items = []
    for sku, name, on_hand, reserved, value in _rows(
            db, f"SELECT sku, name, on_hand, reserved, value FROM {db.table('rm_inventory')}"
                 " ORDER BY sku"):
        items.append({"sku": sku, "name": name, "on_hand": _qty(on_hand),
                      "reserved": _qty(reserved), "available": _qty(on_hand - reserved),
                      "value": from_minor(value, places)})
    return {"items": items,
            "total_value": sum((i["value"] for i in items), from_minor(0, places))}


def trial_balance(db: Database, places: int, as_of: date | None = None,
                  known_at: datetime | None = None) -> dict[str, Any]:
    """Debits, credits and balance per account (debit positive), with totals.

    ``as_of``: only postings effective on or before that date. ``known_at``:
    only postings recorded at or before that time.
    """
    t = db.table
    accounts = _rows(db, f"SELECT code, name, type, debit, credit FROM {t('rm_accounts')} "
                          "ORDER BY code")
    if as_of is not None or known_at is not None:
        sums = _sums(db, as_of, known_at)
        accounts = [(code, name, kind, *sums.get(code, (0, 0)))
                    for code, name, kind, _, _ in accounts]
    rows = []
    for code, name, kind, debit, credit in accounts:
        rows.append({"code": code, "name": name, "type": kind,
                     "normal_balance": "debit" if kind in DEBIT_NORMAL else "credit",
                     "debit": from_minor(debit, places), "credit": from_minor(credit, places),
                     "balance": from_minor(int(debit or 0) - int(credit or 0), places)})
    debit = sum((r["debit"] for r in rows), from_minor(0, places))
    credit = sum((r["credit"] for r in rows), from_minor(0, places))
    return {"as_of": as_of.isoformat() if as_of else None,
            "known_at": _iso(known_at) if known_at else None,
            "accounts": rows,
            "totals": {"debit": debit, "credit": credit, "balance": debit - credit}}


def _sums(db: Database, as_of: date | None,
          known_at: datetime | None) -> dict[str, tuple[int, int]]:
    """Debit and credit per account, effective by ``as_of``, recorded by ``known_at``.

    Without ``known_at``: the per-date totals (one row per account and date).
    With it: the log position P of the last posting recorded by then, the
    nearest checkpoint C <= P of the per-date totals, plus the postings in
    (C, P] -- so the cost is bounded by the checkpoint spacing, not the log.
    """
    t = db.table
    day = as_of.isoformat() if as_of is not None else "9999-12-31"
    if known_at is None:
        return {code: (int(d), int(c)) for code, d, c in _rows(
            db, f"SELECT account, SUM(debit), SUM(credit) FROM {t('rm_balance_by_date')} "
                 "WHERE effective_date <= ? GROUP BY account", (day,))}
    with db.transaction(write=False) as cur:
        # Recording times never go backwards along the log, so the last posting recorded
        # by then is at the newest such time: one index seek, then the few postings of
        # that instant (a MAX(position) over every posting recorded by then read them all).
        row = cur.execute(f"SELECT recorded_at FROM {t('rm_postings')} WHERE recorded_at <= ? "
                          "ORDER BY recorded_at DESC LIMIT 1", (_iso(known_at),)).fetchone()
        row = None if row is None else cur.execute(
            f"SELECT MAX(position) FROM {t('rm_postings')} WHERE recorded_at = ?",
            (row[0],)).fetchone()
        until = int(row[0]) if row and row[0] is not None else 0
        row = cur.execute(f"SELECT position FROM {t('rm_balance_checkpoints')} "
                          "WHERE position <= ? ORDER BY position DESC LIMIT 1",
                          (until,)).fetchone()
        base = int(row[0]) if row and row[0] is not None else 0
        totals: dict[str, list[int]] = {}
        for code, d, c in cur.execute(
                f"SELECT account, SUM(debit), SUM(credit) FROM {t('rm_balance_checkpoints')} "
                "WHERE position = ? AND effective_date <= ? GROUP BY account",
                (base, day)).fetchall() + cur.execute(
                f"SELECT account, SUM(debit), SUM(credit) FROM {t('rm_postings')} "
                "WHERE position > ? AND position <= ? AND effective_date <= ? GROUP BY account",
                (base, until, day)).fetchall():
            pair = totals.setdefault(code, [0, 0])
            pair[0] += int(d or 0)
            pair[1] += int(c or 0)
    return {code: (d, c) for code, (d, c) in totals.items()}


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:  # an offset pushed it past year 1 or 9999: before or after all
        early = moment.year < 5000
        return "0001-01-01T00:00:00.000000Z" if early else "9999-12-31T23:59:59.999999Z"


def ar_aging(db: Database, places: int, as_of: date | None = None) -> dict[str, Any]:
    """Open invoices by how long past due they are on ``as_of`` (today by default), with
    each customer's name, open amount and unapplied credit, and its ``credit_limit``
    (None: no limit) and ``exposure`` today, whatever ``as_of`` (open invoices less
    unapplied credit, plus what confirmed orders have still to invoice, with tax: what
    credit control checks against the limit).

    Invoices age by their due date (issued on + the customer's payment terms): an
    invoice not yet due is ``current``, one due 10 days ago is in ``1-30``.

    An invoice counts from its issue date; what settled it (payments, credit notes, the
    customer's credit) counts from its own effective date, so back-dated documents land
    in the as-of view where their dates put them. Totals: ``total_open`` (the open
    invoices), ``unapplied_credit`` (every customer's), and ``net_receivable`` (their
    difference: the Receivable account's balance on that date).
    """
    day = as_of or datetime.now(UTC).date()
    zero = from_minor(0, places)
    invoices: list[dict[str, Any]] = []
    buckets: dict[str, dict[str, Any]] = {
        name: {"bucket": name, "count": 0, "amount": zero}
        for name, _, _ in AGING_BUCKETS}
    t = db.table
    if as_of is None:  # today: the running totals
        query = (f"SELECT i.invoice_number, i.order_id, i.customer_id, i.issued_on, "
                 f"i.due_on, i.total, i.paid + i.credited, c.name "
                 f"FROM {t('rm_invoices')} i LEFT JOIN {t('rm_customer_list')} c "
                 "ON c.id = i.customer_id WHERE i.total > i.paid + i.credited "
                 "AND i.issued_on <= ? ORDER BY i.due_on, i.invoice_number")
        params: tuple[Any, ...] = (day.isoformat(),)
        credit_query = (f"SELECT r.customer_id, r.credit, c.name FROM "
                        f"{t('rm_customer_credit')} r LEFT JOIN {t('rm_customer_list')} c "
                        "ON c.id = r.customer_id WHERE r.credit <> 0")
        credit_params: tuple[Any, ...] = ()
    else:  # as of a past date: only what was paid, credited or used by then
        query = (f"SELECT i.invoice_number, i.order_id, i.customer_id, i.issued_on, i.due_on, "
                 f"i.total, COALESCE(SUM(s.amount), 0), c.name FROM {t('rm_invoices')} i "
                 f"LEFT JOIN {t('rm_invoice_settlements')} s ON s.invoice_number = "
                 "i.invoice_number AND s.settled_on <= ? "
                 f"LEFT JOIN {t('rm_customer_list')} c ON c.id = i.customer_id "
                 "WHERE i.issued_on <= ? "
                 "GROUP BY i.invoice_number, i.order_id, i.customer_id, i.issued_on, "
                 "i.due_on, i.total, c.name HAVING i.total > COALESCE(SUM(s.amount), 0) "
                 "ORDER BY i.due_on, i.invoice_number")
        params = (day.isoformat(), day.isoformat())
        credit_query = (f"SELECT m.customer_id, SUM(m.amount), c.name FROM "
                        f"{t('rm_customer_credit_moves')} m LEFT JOIN "
                        f"{t('rm_customer_list')} c ON c.id = m.customer_id "
                        "WHERE m.moved_on <= ? GROUP BY m.customer_id, c.name "
                        "HAVING SUM(m.amount) <> 0")
        credit_params = (day.isoformat(),)
    customers: dict[str, dict[str, Any]] = {}

    def customer(customer_id: str, name: str | None) -> dict[str, Any]:
        return customers.setdefault(customer_id, {
            "customer_id": customer_id, "customer_name": name, "invoices": 0,
            "open": zero, "unapplied_credit": zero, "net": zero})

    for number, order_id, customer_id, issued_on, due_on, total, paid, name in _rows(
            db, query, params):
        overdue = (day - date.fromisoformat(due_on)).days
        bucket = next(name for name, low, high in AGING_BUCKETS
                      if (low is None or overdue >= low) and (high is None or overdue <= high))
        open_amount = from_minor(total - paid, places)
        buckets[bucket]["count"] += 1
        buckets[bucket]["amount"] += open_amount
        invoices.append({"invoice_number": number, "order_id": order_id,
                         "customer_id": customer_id, "issued_on": issued_on, "due_on": due_on,
                         "total": from_minor(total, places), "paid": from_minor(paid, places),
                         "open": open_amount, "days_overdue": max(overdue, 0),
                         "bucket": bucket, "customer_name": name,
                         "order_number": order_number(order_id)})
        row = customer(customer_id, name)
        row["invoices"] += 1
        row["open"] += open_amount
    for customer_id, credit, name in _rows(db, credit_query, credit_params):
        customer(customer_id, name)["unapplied_credit"] = from_minor(credit, places)
    credit = _credit(db, places, list(customers), None, 0)
    for row in customers.values():
        row["net"] = row["open"] - row["unapplied_credit"]
        row["credit_limit"] = credit[row["customer_id"]]["credit_limit"]
        row["exposure"] = credit[row["customer_id"]]["exposure"]
    total_open = sum((i["open"] for i in invoices), zero)
    credit_total = sum((c["unapplied_credit"] for c in customers.values()), zero)
    return {"as_of": day.isoformat(), "buckets": list(buckets.values()), "invoices": invoices,
            "total_open": total_open,
            "customers": sorted(customers.values(),
                                key=lambda c: ((c["customer_name"] or "").casefold(),
                                               c["customer_id"])),
            "unapplied_credit": credit_total,
            "net_receivable": total_open - credit_total}


def customer_credit(db: Database, places: int, customer_id: str,
                    today: date | None = None, grace_days: int = 0) -> dict[str, Any]:
    """A customer's credit position as the read models have it: ``credit_limit`` (None:
    no limit), ``open_receivables`` (open invoices less unapplied credit),
    ``unshipped_confirmed`` (what confirmed orders have still to invoice, with tax),
    ``exposure`` (both), ``available`` (limit less exposure; None without a limit), and
    ``overdue``: the open invoices more than ``grace_days`` past due on ``today`` (UTC
    today by default), which put the customer on credit hold (``on_hold``)."""
    return _credit(db, places, [str(customer_id)], today, grace_days)[str(customer_id)]


def _credit(db: Database, places: int, customer_ids: list[str], today: date | None,
            grace_days: int) -> dict[str, dict[str, Any]]:
    """``customer_credit`` of several customers at once."""
    day = today or datetime.now(UTC).date()
    zero = from_minor(0, places)
    found: dict[str, dict[str, Any]] = {c: {
        "customer_id": c, "credit_limit": None, "open_receivables": zero,
        "unshipped_confirmed": zero, "exposure": zero, "available": None, "overdue": [],
        "on_hold": False} for c in customer_ids}
    if not found:
        return found
    t = db.table
    marks = ", ".join("?" for _ in found)
    ids = tuple(found)
    for customer_id, limit in _rows(
            db, f"SELECT id, credit_limit FROM {t('rm_customer_list')} WHERE id IN ({marks})",
            ids):
        found[customer_id]["credit_limit"] = None if limit is None else from_minor(limit,
                                                                                   places)
    sums: dict[str, int] = dict.fromkeys(found, 0)
    for customer_id, number, due_on, open_minor in _rows(
            db, f"SELECT customer_id, invoice_number, due_on, total - paid - credited FROM "
                f"{t('rm_invoices')} WHERE customer_id IN ({marks}) AND "
                "total > paid + credited ORDER BY due_on, invoice_number", ids):
        sums[customer_id] += open_minor
        days = (day - date.fromisoformat(due_on)).days
        if days > grace_days:
            found[customer_id]["overdue"].append({
                "invoice_number": number, "due_on": due_on, "days_overdue": days,
                "open": from_minor(open_minor, places)})
    for customer_id, credit in _rows(
            db, f"SELECT customer_id, credit FROM {t('rm_customer_credit')} WHERE "
                f"customer_id IN ({marks})", ids):
        sums[customer_id] -= credit
    uninvoiced: dict[str, int] = dict.fromkeys(found, 0)
    for customer_id, amount in _rows(
            db, f"SELECT customer_id, SUM(uninvoiced) FROM {t('rm_credit_orders')} WHERE "
                f"customer_id IN ({marks}) GROUP BY customer_id", ids):
        uninvoiced[customer_id] = int(amount or 0)
    for customer_id, row in found.items():
        row["open_receivables"] = from_minor(sums[customer_id], places)
        row["unshipped_confirmed"] = from_minor(uninvoiced[customer_id], places)
        row["exposure"] = row["open_receivables"] + row["unshipped_confirmed"]
        if row["credit_limit"] is not None:
            row["available"] = row["credit_limit"] - row["exposure"]
        row["on_hold"] = bool(row["overdue"])
    return found


#: The stored topic of an order's first event, which names its customer.
_PLACED_TOPIC = "o2c.domain.sales_order:SalesOrder.Placed"
#: Events read at a time past the order-status model's position.
_TAIL_PAGE = 1000


def orders_that_may_carry_exposure(db: Database, customer_id: str) -> set[str]:
    """Every order of the customer that may carry its credit exposure now, without
    writing: those the order-status read model has for it that are neither cancelled nor
    paid in full (whatever their confirmation: the model may not have seen it yet; both
    flags only ever go one way), and those placed for it after the model's position
    (``SalesOrder.Placed`` events it has not applied yet). The caller loads each from
    the log and counts only what the domain says carries exposure.

    The position is read before the rows, so the rows are at least that new and no
    event falls between them. Reads only, so a command may ask it on its hot path
    whatever projectors are running (catching the model up there wrote read-model
    rows from inside a command and contended with the server's own projector); the
    tail costs one indexed range of the log, decoding only its ``Placed`` events."""
    position = _tracked_position(db, "order_status")
    found: set[str] = set()
    if position is not None:
        found.update(str(row[0]) for row in _rows(
            db, f"SELECT id FROM {db.table('rm_orders')} WHERE customer_id = ? "
                "AND cancelled = 0 AND status <> ?", (customer_id, "paid")))
    after = position or 0
    while True:
        page = log.events_of_topic(db, _PLACED_TOPIC, after, _TAIL_PAGE)
        for _, originator, state in page:
            named = orjson.loads(state)["customer_id"]
            if text_id(named["_data_"] if isinstance(named, dict) else named) == customer_id:
                found.add(text_id(originator))
        if len(page) < _TAIL_PAGE:
            return found
        after = int(page[-1][0])


def _tracked_position(db: Database, name: str) -> int | None:
    """A read model's tracking position, or None when it has never been projected here
    (no tracking table or row yet)."""
    table = db.table("o2c_tracking")
    with db.transaction(write=False) as cur:
        if db.postgres:
            there = cur.execute("SELECT to_regclass(?)", (table,)).fetchone()
        else:
            there = cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                "AND name = ?", (table,)).fetchone()
        if there is None or there[0] is None:
            return None
        row = cur.execute(f"SELECT position FROM {table} WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])


_ORDER_COLUMNS = ("id", "customer_id", "opportunity_id", "status", "net", "cost", "invoiced",
                  "paid", "placed_at", "updated_at")


def _order(places: int, row: tuple[Any, ...]) -> dict[str, Any]:
    order = dict(zip(_ORDER_COLUMNS, row, strict=True))
    for column in ("net", "cost", "invoiced", "paid"):
        order[column] = from_minor(order[column], places)
    order["open"] = order["invoiced"] - order["paid"]
    return order


def order_status(db: Database, places: int, order_id: str) -> dict[str, Any] | None:
    """One order's status and amounts, as projected."""
    rows = _rows(db, f"SELECT {', '.join(_ORDER_COLUMNS)} FROM {db.table('rm_orders')} "
                      "WHERE id = ?", (str(order_id),))
    return _order(places, rows[0]) if rows else None


def customer_summary(db: Database, places: int, customer_id: str) -> dict[str, Any]:
    """A customer's orders: how many, and what was ordered, invoiced, paid and is open."""
    orders = [_order(places, row) for row in _rows(
        db, f"SELECT {', '.join(_ORDER_COLUMNS)} FROM {db.table('rm_orders')} "
             "WHERE customer_id = ? ORDER BY placed_at", (str(customer_id),))]
    live = [o for o in orders if o["status"] != "cancelled"]
    zero = from_minor(0, places)
    return {"orders": len(orders),
            "ordered": sum((o["net"] for o in live), zero),
            "invoiced": sum((o["invoiced"] for o in orders), zero),
            "paid": sum((o["paid"] for o in orders), zero),
            "open": sum((o["open"] for o in orders), zero),
            "order_statuses": [{"id": o["id"], "status": o["status"]} for o in orders]}


def journal_entries(db: Database, places: int, source_id: str) -> list[dict[str, Any]]:
    """The journal entries caused by one aggregate (a sales order, say), in log order,
    each with its lines of account, debit and credit, as projected."""
    rows = _rows(db, "SELECT position, entry_id, effective_date, cause, memo, account, debit, "
                     f"credit FROM {db.table('rm_postings')} WHERE source_id = ? "
                     "ORDER BY position, line_no", (str(source_id),))
    entries: dict[str, dict[str, Any]] = {}
    for position, entry_id, day, cause, memo, account, debit, credit in rows:
        entry = entries.setdefault(entry_id, {
            "journal_entry_id": entry_id, "position": int(position), "date": day,
            "caused_by": cause, "memo": memo, "lines": []})
        entry["lines"].append({"account": account, "debit": from_minor(debit, places),
                               "credit": from_minor(credit, places)})
    return list(entries.values())


def jsonable(value: Any) -> Any:
    """A report (or an audit history) as JSON values: decimals and dates as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
