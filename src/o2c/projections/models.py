"""The read models: tables projected from the log, and the handlers that fill them.

Each read model owns its tables (money in minor units of the book currency,
quantities in thousandths, both as integers so sums in SQL stay exact) and a
tracking position. Handlers never read another model's tables, so any model
can be rebuilt alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from o2c.domain.journal_entry import JournalEntry
from o2c.domain.lead import Lead
from o2c.domain.ledger_account import LedgerAccount
from o2c.domain.opportunity import STAGES, Opportunity
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem

QTY_SCALE = 3


@dataclass(frozen=True)
class Table:
    """A read-model table: its name, key columns and other columns (``name TYPE``)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.split()[0] for c in self.columns)

    def create_sql(self, qualified: str) -> str:
        return (f"CREATE TABLE IF NOT EXISTS {qualified} ({', '.join(self.columns)}, "
                f"PRIMARY KEY ({', '.join(self.key)}))")


class EventData:
    """A stored event's fields, decoded from JSON only when a handler reads them.

    Rebuilds touch every event; building full domain-event objects for each
    (eventsourcing's mapper) cost more than the read models' own work, so the
    projector reads the stored JSON and converts just the fields it uses.
    """

    __slots__ = ("_fields", "originator_id")

    def __init__(self, originator_id: str, fields: dict[str, Any]) -> None:
        self.originator_id = originator_id
        self._fields = fields

    @property
    def raw(self) -> dict[str, Any]:
        """The stored JSON fields, undecoded (for the hottest handlers)."""
        return self._fields

    def __getattr__(self, name: str) -> Any:
        try:
            return _typed(self._fields[name])
        except KeyError:
            raise AttributeError(name) from None


def _typed(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        tag = value.get("_type_")
        if tag is not None and len(value) == 2:
            return _DECODERS[tag](value["_data_"])
        return {k: _typed(v) for k, v in value.items()}
    if kind is list:
        return [_typed(v) for v in value]
    return value


def text_id(uuid: Any) -> str:
    """A UUID (or its 32 hex digits, as SQLite and the JSON store it) as canonical text."""
    if isinstance(uuid, UUID):
        return str(uuid)
    h = str(uuid)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" if len(h) == 32 else h


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "decimal_str": Decimal,
    "uuid_hex": text_id,
    "date_iso": date.fromisoformat,
    "datetime_iso": datetime.fromisoformat,
}


@dataclass
class Envelope:
    """An event with its place in the log, for the handlers."""

    position: int
    recorded_at: str
    event: Any


class Rows:
    """What handlers see: rows by key, loaded once per batch and written at its end."""

    def get(self, table: str, key: tuple[Any, ...]) -> dict[str, Any] | None:
        raise NotImplementedError

    def put(self, table: str, key: tuple[Any, ...], row: dict[str, Any]) -> None:
        raise NotImplementedError

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Appends a row that is never updated (for append-only tables)."""
        raise NotImplementedError

    def append(self, table: str, values: tuple[Any, ...]) -> None:
        """As ``add``, with the values in the table's column order."""
        raise NotImplementedError


Handler = Callable[["ReadModel", Envelope, Rows], None]


class ReadModel:
    """A projection: tables, and handlers keyed by event class."""

    name = ""
    tables: tuple[Table, ...] = ()
    indexes: tuple[str, ...] = ()

    def __init__(self, places: int) -> None:
        self.places = places
        self.handlers: dict[type, Callable[[Envelope, Rows], None]] = {}
        self.register()

    def register(self) -> None:
        raise NotImplementedError

    def on(self, cls: type, handler: Callable[[Envelope, Rows], None]) -> None:
        self.handlers[cls] = handler

    def handlers_by_topic(self) -> dict[str, Callable[[Envelope, Rows], None]]:
        """The handlers keyed by the stored topic of their event class."""
        return {f"{cls.__module__}:{cls.__qualname__}": handler
                for cls, handler in self.handlers.items()}

    def checkpoint(self, cur: Any, table: Callable[[str], str], position: int) -> None:
        """Called in the batch's transaction when the log reaches a checkpoint position."""

    def minor(self, amount: Decimal) -> int:
        """Money in minor units (exact: amounts are never more precise than that)."""
        return int(amount.scaleb(self.places))

    def minor_stored(self, amount: dict[str, str]) -> int:
        """``minor`` of an amount as stored (``{"_type_": "decimal_str", "_data_": ...}``).

        Amounts are stored quantized to the minor unit, as ``str(Decimal)`` writes
        them ("37512.50"): dropping the point gives the integer exactly, without
        building a Decimal (a rebuild does this twice for every posting line).
        """
        assert amount["_type_"] == "decimal_str", amount
        text = amount["_data_"]
        whole, point, fraction = text.partition(".")
        if point and len(fraction) == self.places and fraction.isdigit() and (
                whole.isdigit() or (whole[:1] == "-" and whole[1:].isdigit())):
            return int(whole + fraction)
        return int(Decimal(text).scaleb(self.places))

    @staticmethod
    def milli(quantity: Decimal) -> int:
        """A quantity in thousandths."""
        return int(quantity.scaleb(QTY_SCALE))


def _id(envelope: Envelope) -> str:
    return str(envelope.event.originator_id)  # already text: see EventData


class Pipeline(ReadModel):
    """Opportunities by stage (count, amount, weighted amount), win rate, lead conversion."""

    name = "pipeline"
    tables = (
        Table("rm_opportunities", ("id",), (
            "id TEXT", "customer_id TEXT", "title TEXT", "stage TEXT", "amount BIGINT",
            "probability INTEGER", "order_id TEXT", "lead_id TEXT")),
        Table("rm_pipeline_stages", ("stage",), (
            "stage TEXT", "count BIGINT", "amount BIGINT", "weighted BIGINT")),
        Table("rm_leads", ("id",), ("id TEXT", "company TEXT", "status TEXT")),
        Table("rm_lead_counts", ("status",), ("status TEXT", "count BIGINT")),
    )

    def register(self) -> None:
        self.on(Lead.Captured, self._lead_captured)
        self.on(Lead.Qualified, lambda e, r: self._lead_status(e, r, "qualified"))
        self.on(Lead.Disqualified, lambda e, r: self._lead_status(e, r, "disqualified"))
        self.on(Lead.Converted, lambda e, r: self._lead_status(e, r, "converted"))
        self.on(Opportunity.Opened, self._opened)
        self.on(Opportunity.StageChanged,
                lambda e, r: self._move(e, r, e.event.stage))
        self.on(Opportunity.Won, self._won)
        self.on(Opportunity.Lost, lambda e, r: self._move(e, r, "lost"))

    @staticmethod
    def _count(rows: Rows, status: str, delta: int) -> None:
        row = rows.get("rm_lead_counts", (status,)) or {"status": status, "count": 0}
        row["count"] += delta
        rows.put("rm_lead_counts", (status,), row)

    def _lead_captured(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_leads", (_id(e),), {"id": _id(e), "company": event.company, "status": "new"})
        self._count(rows, "total", 1)
        self._count(rows, "new", 1)

    def _lead_status(self, e: Envelope, rows: Rows, status: str) -> None:
        lead = rows.get("rm_leads", (_id(e),))
        assert lead is not None, f"lead {_id(e)} changed before it was captured"
        self._count(rows, lead["status"], -1)
        self._count(rows, status, 1)
        lead["status"] = status
        rows.put("rm_leads", (_id(e),), lead)

    @staticmethod
    def _stage(rows: Rows, stage: str, count: int, amount: int, probability: int) -> None:
        row = rows.get("rm_pipeline_stages", (stage,)) or {
            "stage": stage, "count": 0, "amount": 0, "weighted": 0}
        row["count"] += count
        row["amount"] += amount * count
        row["weighted"] += amount * probability * count
        rows.put("rm_pipeline_stages", (stage,), row)

    def _opened(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        amount = self.minor(event.amount)
        rows.put("rm_opportunities", (_id(e),), {
            "id": _id(e), "customer_id": str(event.customer_id), "title": event.title,
            "stage": "prospecting", "amount": amount, "probability": STAGES["prospecting"],
            "order_id": None, "lead_id": str(event.lead_id) if event.lead_id else None})
        self._stage(rows, "prospecting", 1, amount, STAGES["prospecting"])

    def _move(self, e: Envelope, rows: Rows, stage: str) -> None:
        opp = rows.get("rm_opportunities", (_id(e),))
        assert opp is not None, f"opportunity {_id(e)} changed before it was opened"
        self._stage(rows, opp["stage"], -1, opp["amount"], opp["probability"])
        opp["stage"], opp["probability"] = stage, STAGES[stage]
        self._stage(rows, stage, 1, opp["amount"], opp["probability"])
        rows.put("rm_opportunities", (_id(e),), opp)

    def _won(self, e: Envelope, rows: Rows) -> None:
        self._move(e, rows, "won")
        opp = rows.get("rm_opportunities", (_id(e),))
        assert opp is not None
        opp["order_id"] = str(e.event.order_id)
        rows.put("rm_opportunities", (_id(e),), opp)


class Inventory(ReadModel):
    """Per SKU: on hand, reserved, available and cost value."""

    name = "inventory"
    tables = (Table("rm_inventory", ("item_id",), (
        "item_id TEXT", "sku TEXT", "name TEXT", "on_hand BIGINT", "reserved BIGINT",
        "value BIGINT")),)

    def register(self) -> None:
        self.on(StockItem.Registered, self._registered)
        self.on(StockItem.Received, lambda e, r: self._change(
            e, r, on_hand=self.milli(e.event.quantity),
            value=self.minor(e.event.value)))
        self.on(StockItem.Adjusted, lambda e, r: self._change(
            e, r, on_hand=self.milli(e.event.difference),
            value=self.minor(e.event.value)))
        self.on(StockItem.Reserved, lambda e, r: self._change(
            e, r, reserved=self.milli(e.event.quantity)))
        self.on(StockItem.Released, lambda e, r: self._change(
            e, r, reserved=-self.milli(e.event.quantity)))
        self.on(StockItem.Issued, lambda e, r: self._change(
            e, r, on_hand=-self.milli(e.event.quantity),
            reserved=-self.milli(e.event.quantity),
            value=-self.minor(e.event.cost)))

    def _registered(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_inventory", (_id(e),), {"item_id": _id(e), "sku": event.sku,
                                             "name": event.name, "on_hand": 0, "reserved": 0,
                                             "value": 0})

    @staticmethod
    def _change(e: Envelope, rows: Rows, on_hand: int = 0, reserved: int = 0,
                value: int = 0) -> None:
        row = rows.get("rm_inventory", (_id(e),))
        assert row is not None, f"stock item {_id(e)} changed before it was registered"
        row["on_hand"] += on_hand
        row["reserved"] += reserved
        row["value"] += value
        rows.put("rm_inventory", (_id(e),), row)


class TrialBalance(ReadModel):
    """Per account: debits, credits, balance; and every posting, for as-of reports."""

    name = "trial_balance"
    tables = (
        Table("rm_accounts", ("code",), (
            "code TEXT", "name TEXT", "type TEXT", "debit BIGINT", "credit BIGINT")),
        Table("rm_postings", ("position", "line_no"), (
            "position BIGINT", "line_no INTEGER", "entry_id TEXT", "account TEXT",
            "effective_date TEXT", "recorded_at TEXT", "debit BIGINT", "credit BIGINT",
            "cause TEXT", "source_id TEXT", "memo TEXT")),
        Table("rm_balance_by_date", ("account", "effective_date"), (
            "account TEXT", "effective_date TEXT", "debit BIGINT", "credit BIGINT")),
        Table("rm_balance_checkpoints", ("position", "account", "effective_date"), (
            "position BIGINT", "account TEXT", "effective_date TEXT", "debit BIGINT",
            "credit BIGINT")),
    )
    indexes = ("CREATE INDEX IF NOT EXISTS {s}rm_postings_recorded ON {t}rm_postings "
               "(recorded_at)",
               "CREATE INDEX IF NOT EXISTS {s}rm_postings_entry ON {t}rm_postings (entry_id)",
               "CREATE INDEX IF NOT EXISTS {s}rm_postings_source ON {t}rm_postings (source_id)")

    def register(self) -> None:
        self.on(LedgerAccount.Opened, self._opened)
        self.on(JournalEntry.Posted, self._posted)

    def checkpoint(self, cur: Any, table: Callable[[str], str], position: int) -> None:
        """Copies the per-date totals as they stand at ``position``."""
        cur.execute(f"INSERT INTO {table('rm_balance_checkpoints')} (position, account, "
                    "effective_date, debit, credit) SELECT ?, account, effective_date, debit, "
                    f"credit FROM {table('rm_balance_by_date')}", (position,))

    def _opened(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_accounts", (event.code,), {"code": event.code, "name": event.name,
                                                "type": event.type, "debit": 0, "credit": 0})

    def _posted(self, e: Envelope, rows: Rows) -> None:
        # The hottest handler of a rebuild (every posting line of the log): it reads the
        # stored fields directly instead of decoding the whole event.
        fields = e.event.raw
        stored_date, source = fields["date"], fields["source_id"]
        assert stored_date["_type_"] == "date_iso", stored_date
        day = stored_date["_data_"]  # ISO 8601 as stored: the same text isoformat() gives
        assert source is None or source["_type_"] == "uuid_hex", source
        source_id = text_id(source["_data_"]) if source else None
        entry, cause, memo, minor = _id(e), fields["cause"], fields["memo"], self.minor_stored
        for number, line in enumerate(fields["lines"], start=1):
            code = line["account"]
            account = rows.get("rm_accounts", (code,))
            assert account is not None, f"posting to unknown account {code}"
            debit, credit = minor(line["debit"]), minor(line["credit"])
            account["debit"] += debit
            account["credit"] += credit
            rows.put("rm_accounts", (code,), account)
            day_key = (code, day)
            total = rows.get("rm_balance_by_date", day_key) or {
                "account": code, "effective_date": day, "debit": 0, "credit": 0}
            total["debit"] += debit
            total["credit"] += credit
            rows.put("rm_balance_by_date", day_key, total)
            rows.append("rm_postings", (e.position, number, entry, code, day, e.recorded_at,
                                        debit, credit, cause, source_id, memo))


class Receivables(ReadModel):
    """Every invoice with what was paid on it, for AR aging."""

    name = "ar_aging"
    tables = (
        Table("rm_ar_orders", ("order_id",), ("order_id TEXT", "customer_id TEXT")),
        Table("rm_invoices", ("invoice_number",), (
            "invoice_number TEXT", "order_id TEXT", "customer_id TEXT", "issued_on TEXT",
            "due_on TEXT", "total BIGINT", "paid BIGINT", "credited BIGINT")),
        Table("rm_invoice_settlements", ("position", "invoice_number"), (
            "position BIGINT", "invoice_number TEXT", "settled_on TEXT", "amount BIGINT")),
    )
    indexes = ("CREATE INDEX IF NOT EXISTS {s}rm_settlements_invoice ON "
               "{t}rm_invoice_settlements (invoice_number, settled_on)",)

    def register(self) -> None:
        self.on(SalesOrder.Placed, self._placed)
        self.on(SalesOrder.Invoiced, self._invoiced)
        self.on(SalesOrder.PaymentReceived, self._paid)
        self.on(SalesOrder.InvoiceCredited, self._credited)

    def _credited(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        invoice = rows.get("rm_invoices", (event.invoice_number,))
        assert invoice is not None
        invoice["credited"] = self.minor(event.total)
        rows.put("rm_invoices", (event.invoice_number,), invoice)
        rows.add("rm_invoice_settlements", {
            "position": e.position, "invoice_number": event.invoice_number,
            "settled_on": event.credited_on.isoformat(), "amount": invoice["credited"]})

    def _placed(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_ar_orders", (_id(e),), {"order_id": _id(e),
                                             "customer_id": str(event.customer_id)})

    def _invoiced(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        order = rows.get("rm_ar_orders", (_id(e),))
        assert order is not None
        rows.put("rm_invoices", (event.invoice_number,), {
            "invoice_number": event.invoice_number, "order_id": _id(e),
            "customer_id": order["customer_id"], "issued_on": event.issued_on.isoformat(),
            "due_on": event.due_on.isoformat(), "total": self.minor(event.total), "paid": 0,
            "credited": 0})

    def _paid(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        for allocation in event.allocations:
            invoice = rows.get("rm_invoices", (allocation["invoice_number"],))
            assert invoice is not None
            invoice["paid"] += self.minor(allocation["amount"])
            rows.put("rm_invoices", (allocation["invoice_number"],), invoice)
            rows.add("rm_invoice_settlements", {
                "position": e.position, "invoice_number": allocation["invoice_number"],
                "settled_on": event.received_on.isoformat(),
                "amount": self.minor(allocation["amount"])})


class OrderStatus(ReadModel):
    """Per order: status and what was ordered, shipped, invoiced and paid."""

    name = "order_status"
    tables = (Table("rm_orders", ("id",), (
        "id TEXT", "customer_id TEXT", "opportunity_id TEXT", "status TEXT",
        "ordered_qty BIGINT", "shipped_qty BIGINT", "invoiced_qty BIGINT", "net BIGINT",
        "cost BIGINT", "invoiced BIGINT", "paid BIGINT", "confirmed INTEGER",
        "cancelled INTEGER", "placed_at TEXT", "updated_at TEXT")),)
    indexes = ("CREATE INDEX IF NOT EXISTS {s}rm_orders_customer ON {t}rm_orders "
               "(customer_id)",)

    def register(self) -> None:
        self.on(SalesOrder.Placed, self._placed)
        self.on(SalesOrder.Confirmed, lambda e, r: self._update(e, r, confirmed=1))
        self.on(SalesOrder.Shipped, lambda e, r: self._update(
            e, r, shipped_qty=self._lines_quantity(e), cost=self.minor(e.event.cost)))
        self.on(SalesOrder.Invoiced, lambda e, r: self._update(
            e, r, invoiced_qty=self._lines_quantity(e), invoiced=self.minor(e.event.total)))
        self.on(SalesOrder.PaymentReceived, lambda e, r: self._update(
            e, r, paid=self.minor(e.event.amount)))
        self.on(SalesOrder.InvoiceCredited, lambda e, r: self._update(
            e, r, invoiced_qty=-self._lines_quantity(e), invoiced=-self.minor(e.event.total)))
        self.on(SalesOrder.Cancelled, lambda e, r: self._update(e, r, cancelled=1))

    @staticmethod
    def _lines_quantity(e: Envelope) -> int:
        """The thousandths of all the event's lines, read from the stored lines (decoding
        every line's fields just to add their quantities was most of these handlers)."""
        total = 0
        for line in e.event.raw["lines"]:
            quantity = line["quantity"]
            assert quantity["_type_"] == "decimal_str", quantity
            total += int(Decimal(quantity["_data_"]).scaleb(QTY_SCALE))
        return total

    def _placed(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        net = sum(self.minor((line["quantity"] * line["unit_price"]).quantize(
            Decimal(1).scaleb(-self.places))) for line in event.lines)
        rows.put("rm_orders", (_id(e),), {
            "id": _id(e), "customer_id": str(event.customer_id),
            "opportunity_id": str(event.opportunity_id) if event.opportunity_id else None,
            "status": "placed", "ordered_qty": sum(self.milli(x["quantity"])
                                                   for x in event.lines),
            "shipped_qty": 0, "invoiced_qty": 0, "net": net, "cost": 0, "invoiced": 0,
            "paid": 0, "confirmed": 0, "cancelled": 0, "placed_at": e.recorded_at,
            "updated_at": e.recorded_at})

    @staticmethod
    def _update(e: Envelope, rows: Rows, *, confirmed: int = 0, cancelled: int = 0,
                **deltas: int) -> None:
        row = rows.get("rm_orders", (_id(e),))
        assert row is not None, f"order {_id(e)} changed before it was placed"
        for column, delta in deltas.items():
            row[column] += delta
        row["confirmed"] = row["confirmed"] or confirmed
        row["cancelled"] = row["cancelled"] or cancelled
        row["status"] = order_status(row)
        row["updated_at"] = e.recorded_at
        rows.put("rm_orders", (_id(e),), row)


def order_status(row: dict[str, Any]) -> str:
    """The same status the SalesOrder aggregate reports, from the row's counts."""
    if row["cancelled"]:
        return "cancelled"
    if not row["confirmed"]:
        return "placed"
    if not row["shipped_qty"]:
        return "confirmed"
    if row["shipped_qty"] != row["ordered_qty"]:
        return "partially_shipped"
    if row["invoiced_qty"] != row["shipped_qty"]:
        return "shipped"
    return "paid" if row["invoiced"] == row["paid"] else "invoiced"


READ_MODELS: tuple[type[ReadModel], ...] = (Pipeline, Inventory, TrialBalance, Receivables,
                                            OrderStatus)
