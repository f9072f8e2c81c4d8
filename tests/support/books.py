"""The books checked from the log itself: every invariant of DESIGN.md, read back
event by event, whatever wrote the log (servers killed mid-command, a simulation,
racing clients).

``Books(app)`` replays the log (``advance``) through the application's own
mapper, keeping stock items replayed event by event, so "reserved <= on hand" is
checked at *every* log position, not only at the end. ``check`` then checks the
state the log ends in, and ``check_read_models`` the projected read models
against the log and against a rebuild from zero. Each failure names the log
position or the aggregate it found wrong.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from o2c.application import O2C
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem
from o2c.persistence.audit_rows import META_TABLE
from o2c.projections import Projector, reports
from o2c.projections.rebuild import rebuild

ZERO = Decimal(0)
INVENTORY, RECEIVABLE = "1200", "1100"
#: Business events that post, and the field holding the amount they post (an entry
#: must name each one whose amount is not zero).
POSTING_EVENTS = {"SalesOrder.Shipped": "cost", "SalesOrder.Invoiced": "total",
                  "SalesOrder.PaymentReceived": "amount",
                  "SalesOrder.InvoiceCredited": "total",
                  "Customer.CreditReceived": "amount", "Customer.CreditRefunded": "amount",
                  "StockItem.Received": "value", "StockItem.Adjusted": "value",
                  "SalesOrder.Returned": "total"}


@dataclass
class Books:
    """What the log says, replayed; ``advance`` reads what was appended since."""

    app: O2C
    seen: int = 0
    events: int = 0
    stock: dict[UUID, StockItem] = field(default_factory=dict)
    orders: set[UUID] = field(default_factory=set)
    customers: set[UUID] = field(default_factory=set)
    balances: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    #: (aggregate id, version) -> event class name, for every event in the log.
    versions: dict[tuple[UUID, int], str] = field(default_factory=dict)
    #: (source id, source version) of every entry that names its cause.
    cited: set[tuple[UUID, int]] = field(default_factory=set)
    #: Causing events with a non-zero amount: (id, version, position).
    posting: list[tuple[UUID, int, int]] = field(default_factory=list)
    entries: int = 0
    payments: int = 0
    #: Credit notes of returns: the customer credit a return leaves (CreditReceived
    #: referenced by its number) is posted by the credit note's entry, not one of its own.
    return_notes: set[str] = field(default_factory=set)

    def advance(self) -> int:
        """Reads and checks every event appended since the last call; returns the head."""
        while True:
            page = self.app.recorder.select_notifications(start=self.seen + 1, limit=5000)
            if not page:
                return self.seen
            for notification in page:
                self._event(notification.id, self.app.mapper.to_domain_event(notification))
                self.seen = notification.id

    def _event(self, position: int, event: Any) -> None:
        name = type(event).__qualname__
        key = (event.originator_id, event.originator_version)
        assert key not in self.versions, f"position {position}: {key} recorded twice"
        self.versions[key] = name
        self.events += 1
        if name.startswith("StockItem."):
            item = event.mutate(self.stock.get(event.originator_id))
            self.stock[event.originator_id] = item
            # DESIGN: on_hand >= 0 and reserved <= on_hand, at every position of the log.
            assert item.on_hand >= 0, f"position {position}: {item.sku} on hand {item.on_hand}"
            assert ZERO <= item.reserved <= item.on_hand, (
                f"position {position}: {item.sku} oversold: reserved {item.reserved} > "
                f"on hand {item.on_hand}")
            assert item.reserved == sum(item.reservations.values(), ZERO), position
        if name.startswith("SalesOrder."):
            self.orders.add(event.originator_id)
        if name.startswith("Customer."):
            self.customers.add(event.originator_id)
        if name == "SalesOrder.PaymentReceived":
            self.payments += 1
        if name == "SalesOrder.Returned":
            self.return_notes.add(event.credit_note_number)
        if name in POSTING_EVENTS and getattr(event, POSTING_EVENTS[name]) != 0 and not (
                name == "Customer.CreditReceived" and event.reference in self.return_notes):
            self.posting.append((*key, position))
        if isinstance(event, JournalEntry.Posted):
            self.entries += 1
            debits = sum((line["debit"] for line in event.lines), ZERO)
            credits = sum((line["credit"] for line in event.lines), ZERO)
            # DESIGN: every journal entry balances exactly (Decimal, no tolerance).
            assert debits == credits > 0, f"position {position}: entry does not balance"
            for line in event.lines:
                assert (line["debit"] > 0) != (line["credit"] > 0), f"position {position}"
                self.balances[line["account"]] += line["debit"] - line["credit"]
            # DESIGN: the trial balance sums to zero at every position of the log.
            assert sum(self.balances.values(), ZERO) == 0, f"position {position}: TB not zero"
            if event.source_id is not None:
                assert event.source_version is not None, position
                self.cited.add((event.source_id, event.source_version))

    def check(self) -> None:
        """Every invariant of DESIGN.md on the log as it ends."""
        self.advance()
        # Every posting names the business event that caused it, and that event is in the
        # log; every business event that moved money has its entry (no half command).
        for source in self.cited:
            assert source in self.versions, f"an entry names {source}, which is not in the log"
        for oid, version, position in self.posting:
            assert (oid, version) in self.cited, (
                f"position {position}: {self.versions[(oid, version)]} has no journal entry")
        kinds = {name.split(".")[0] for name in self.versions.values()}
        assert kinds <= {"Lead", "Customer", "Opportunity", "SalesOrder", "StockItem",
                         "LedgerAccount", "JournalEntry", "AccountingPeriods",
                         "DocumentSeries", "Book", "Activity", "PriceList"}, kinds
        promised: dict[tuple[UUID, str], Decimal] = defaultdict(Decimal)
        open_invoices = ZERO
        for oid in self.orders:
            order: Any = self.app.repository.get(oid)
            assert isinstance(order, SalesOrder)
            for line in order.lines:
                sku = line["sku"]
                # DESIGN: invoiced <= shipped <= ordered per line.
                assert ZERO <= order.invoiced[sku] <= order.shipped[sku] <= line["quantity"], (
                    f"order {oid} line {sku}")
                # Returns: only invoiced goods come back (returned <= invoiced).
                assert ZERO <= order.returned[sku] <= order.invoiced[sku], (
                    f"order {oid} line {sku} returned")
                left = line["quantity"] - order.shipped[sku]
                if order.confirmed and not order.cancelled and left:
                    promised[(StockItem.create_id(sku), str(oid))] += left
            # Returns: the cost that came back (restocked or written off) never exceeds the
            # COGS posted for the order, and all of it once everything shipped came back.
            back = sum((r["restocked_cost"] + r["damaged_cost"] for r in order.returns), ZERO)
            assert ZERO <= back <= order.cost, f"order {oid} returned cost {back}"
            if any(order.shipped.values()) and order.returned == order.shipped:
                assert back == order.cost, f"order {oid}: all returned, cost {back}"
            # DESIGN: paid <= invoiced (an overpayment is the customer's credit).
            assert ZERO <= order.paid <= order.invoiced_total, f"order {oid} overpaid"
            assert order.open_balance >= 0
            open_invoices += order.open_balance
        stock_value = ZERO
        for sid, replayed in self.stock.items():
            item: Any = self.app.repository.get(sid)
            assert isinstance(item, StockItem)
            assert (item.on_hand, item.reserved, item.value) == (
                replayed.on_hand, replayed.reserved, replayed.value), item.sku
            # Nothing shipped beyond what was reserved: each reservation is exactly what a
            # live order still has to ship.
            assert item.reservations == {o: q for (s, o), q in promised.items() if s == sid}, (
                item.sku)
            stock_value += item.value
        credit = ZERO
        for cid in self.customers:
            customer: Any = self.app.repository.get(cid)
            assert customer.credit >= 0, f"customer {cid} credit {customer.credit}"
            credit += customer.credit
        # DESIGN: Inventory equals the stock value; Receivable the open invoices less the
        # customers' unapplied credit.
        assert self.balances.get(INVENTORY, ZERO) == stock_value, "Inventory != stock value"
        assert self.balances.get(RECEIVABLE, ZERO) == open_invoices - credit, (
            "Receivable != open invoices - unapplied credit")

    def check_read_models(self, projector: Projector | None = None, *,
                          rebuilt: bool = True) -> dict[str, str]:
        """The read models caught up equal the log (trial balance, inventory), and
        (``rebuilt``) a rebuild from zero gives every read model the live digest.
        Returns the live digests."""
        self.advance()
        projector = projector or Projector(self.app.db, self.app.settings)
        assert projector.catch_up() >= self.seen
        places = self.app.settings.places
        tb = reports.trial_balance(self.app.db, places)
        projected = {a["code"]: Decimal(a["balance"]) for a in tb["accounts"]}
        assert {c: b for c, b in projected.items() if b} == {
            c: b for c, b in self.balances.items() if b}, "trial balance read model"
        assert Decimal(tb["totals"]["balance"]) == 0
        inventory = {row["sku"]: (Decimal(row["on_hand"]), Decimal(row["reserved"]))
                     for row in reports.inventory(self.app.db, places)["items"]}
        assert inventory == {i.sku: (i.on_hand, i.reserved) for i in self.stock.values()}, (
            "inventory read model")
        live = {name: projector.digest(name) for name in projector.names()}
        if rebuilt:
            rebuild(projector)
            again = {name: projector.digest(name) for name in projector.names()}
            assert again == live, "a read model rebuilt from zero differs from the live one"
        return live


def recorded_keys(app: O2C) -> dict[str, int]:
    """Each idempotency key in the log, with how many events it recorded."""
    with app.db.transaction(write=False) as cur:
        rows = cur.execute(
            f"SELECT idempotency_key, COUNT(*) FROM {app.db.table(META_TABLE)} "
            "WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key").fetchall()
    return {str(key): int(count) for key, count in rows}


def beancount_balances(text: str, *as_of: date | None) -> list[dict[str, Decimal]]:
    """Each account's balance (debit positive, by its o2c code) in a beancount journal
    (``o2c.export.beancount``) as beancount itself parses it (``loader.load_string``,
    which also checks every transaction balances), once per date of ``as_of``: counting
    the transactions dated on or before it (all of them for None). Accounts with no
    posting are left out; a journal beancount reports errors on fails the caller's test."""
    from beancount import loader
    from beancount.core.data import Open, Transaction

    entries, errors, _ = loader.load_string(text)
    assert errors == [], errors
    codes = {e.account: str(e.meta["code"]) for e in entries if isinstance(e, Open)}
    found: list[dict[str, Decimal]] = []
    for day in as_of:
        balances: dict[str, Decimal] = defaultdict(Decimal)
        for entry in entries:
            if isinstance(entry, Transaction) and (day is None or entry.date <= day):
                for posting in entry.postings:
                    assert posting.units is not None
                    assert posting.units.number is not None
                    balances[codes[posting.account]] += Decimal(posting.units.number)
        found.append(dict(balances))
    return found
