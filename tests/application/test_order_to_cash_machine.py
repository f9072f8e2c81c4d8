"""The order-to-cash state machine: random command sequences, valid and invalid, on
SQLite and PostgreSQL.

A hypothesis state machine drives the application service and keeps a small
model of what each command should do (stock on hand and reserved, each
order's lines, shipments, invoices and payments, the CRM pipeline, manual
entries, closed periods). Each command must succeed exactly when the model
says the rules allow it; a refused one must raise a named ``O2CError`` and
record nothing (log head unchanged). Commands on unknown orders, customers,
SKUs and invoice numbers, retries with the same idempotency key, reused keys
and stale versions are among the steps.

After every step the invariants below hold (the first seven are DESIGN.md's,
one ``@invariant`` each):

- ``entries_balance_exactly``: every journal entry balances exactly (Decimal);
- ``trial_balance_sums_to_zero``: all postings sum to zero at every position
  the log reached;
- ``stock_rules_hold``: on_hand >= 0, reserved <= on_hand, and every
  reservation is exactly what a confirmed order has still to ship (nothing
  shipped beyond what was reserved);
- ``inventory_account_equals_stock_value``: Inventory (1200) equals the sum of
  stock values;
- ``receivable_equals_open_invoices``: Receivable (1100) equals the open
  invoice amounts;
- ``order_rules_hold``: invoiced <= shipped <= ordered per line; paid <=
  invoiced (overpayments are refused), open balances never negative;
- ``postings_name_their_cause``: every entry names the business event that
  caused it, and that event's aggregate exists at that version;
- ``other_control_accounts_agree``: COGS is the cost shipped plus manual COGS
  entries, Revenue and Tax the invoices not credited, Cash the payments plus
  manual cash entries;
- ``model_agrees_with_the_aggregates``: the model's stock, orders, leads and
  deals are the aggregates';
- ``read_models_agree``: the trial balance balances and equals the postings,
  inventory equals the stock items, AR aging the open invoices, order status
  and pipeline the aggregates;

and at the end every read model rebuilt from zero has the digest of the live
one.

Bounded for CI (well under 90 s for both stores); raise for a long run with
``O2C_HYPOTHESIS_EXAMPLES`` and ``O2C_HYPOTHESIS_STEPS``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from o2c.application import Context, Result
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.errors import (
    IdempotencyKeyReusedError,
    O2CError,
    VersionMismatchError,
)
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.money import quantize
from o2c.domain.opportunity import OPEN_STAGES
from o2c.projections import Projector, reports
from o2c.projections.rebuild import rebuild
from strategies import invalid_amounts, invalid_prices, invalid_quantities, mostly
from support import fresh_database_url, require_postgres

EXAMPLES = int(os.environ.get("O2C_HYPOTHESIS_EXAMPLES", "25"))
STEPS = int(os.environ.get("O2C_HYPOTHESIS_STEPS", "50"))
D = Decimal
ZERO = D(0)
TODAY = date(2026, 3, 2)
TAX_RATE = D("0.0825")
SKUS = ["A-1", "B-2", "C-3"]  # C-3 is unknown until a rule registers it
NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"
#: Manual entries stay off the accounts only the business events post to, so that
#: Receivable, Inventory, Revenue and Tax can each be checked exactly; the model keeps
#: what they debit to Cash and COGS.
MANUAL_DEBITS = ["1000", "3000", "5000", "9999"]  # 9999 is not in the chart
MANUAL_TRACKED = ("1000", "5000")
MANUAL_CREDITS = ["2000", "3000"]
CAUSES = {"JournalEntry.Posted", "JournalEntry.Reversed", "StockItem.Received",
          "StockItem.Adjusted", "SalesOrder.Shipped", "SalesOrder.Invoiced",
          "SalesOrder.PaymentReceived", "SalesOrder.InvoiceCredited"}

# (text sent, value the model expects or None when it must be refused)
Parsed = tuple[object, Decimal | None]
quantities: st.SearchStrategy[Parsed] = mostly(
    st.one_of(st.integers(min_value=1, max_value=12).map(D),
              st.decimals(min_value=D("0.001"), max_value=D(5), places=3))
    .map(lambda d: (str(d), d)),
    invalid_quantities.map(lambda v: (v, None)))
prices: st.SearchStrategy[Parsed] = mostly(
    st.decimals(min_value=ZERO, max_value=D("99.99"), places=2).map(lambda d: (str(d), d)),
    invalid_prices.map(lambda v: (v, None)))
#: Which order, lead, deal or entry a rule acts on (taken modulo how many there are).
indexes = st.integers(min_value=0, max_value=10_000)
#: Amounts of money: payments of any size and manual entries.
amounts: st.SearchStrategy[Parsed] = mostly(
    st.decimals(min_value=D("0.01"), max_value=D(5000), places=2).map(lambda d: (str(d), d)),
    invalid_amounts.map(lambda v: (v, None)))
skus = mostly(st.sampled_from(SKUS), st.sampled_from(["NOPE", "bad sku!"]))
#: Order lines: usually distinct known SKUs with valid figures, one time in six anything.
order_lines = mostly(
    st.lists(st.tuples(st.sampled_from(SKUS[:2]), quantities.filter(lambda q: q[1] is not None),
                       prices.filter(lambda p: p[1] is not None)),
             min_size=1, max_size=2, unique_by=lambda line: line[0]),
    st.lists(st.tuples(skus, quantities, prices), min_size=1, max_size=3), one_in=6)


@dataclass
class Stock:
    """A SKU as the model sees it: on hand, reserved, and FIFO layers of (quantity, value)."""

    on_hand: Decimal = ZERO
    reserved: Decimal = ZERO
    layers: list[tuple[Decimal, Decimal]] = field(default_factory=list)
    last_cost: Decimal = ZERO

    @property
    def value(self) -> Decimal:
        return sum((value for _, value in self.layers), ZERO)

    def receive(self, quantity: Decimal, unit_cost: Decimal) -> Decimal:
        """A new layer valued once, at the cent; returns its value."""
        value = quantize(quantity * unit_cost)
        self.layers.append((quantity, value))
        self.on_hand += quantity
        self.last_cost = unit_cost
        return value

    def take(self, quantity: Decimal) -> Decimal:
        """Takes from the oldest layers, part of a layer pro rata; returns the cost taken."""
        kept, cost, left = [], ZERO, quantity
        for layer_quantity, value in self.layers:
            if left and layer_quantity <= left:
                cost, left = cost + value, left - layer_quantity
            elif left:
                part = quantize(value * left / layer_quantity)
                kept.append((layer_quantity - left, value - part))
                cost, left = cost + part, ZERO
            else:
                kept.append((layer_quantity, value))
        assert left == 0
        self.layers = kept
        self.on_hand -= quantity
        return cost

    def count(self, counted: Decimal) -> Decimal:
        """Sets on hand to a count; returns the signed value of the difference."""
        difference = counted - self.on_hand
        if difference < 0:
            return -self.take(-difference)
        value = quantize(difference * self.last_cost)
        self.layers.append((difference, value))
        self.on_hand = counted
        return value


@dataclass
class Invoice:
    number: str
    lines: dict[str, Decimal]
    net: Decimal
    tax: Decimal
    paid: Decimal = ZERO
    credited: bool = False

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


@dataclass
class Order:
    id: str
    lines: dict[str, tuple[Decimal, Decimal]]  # sku -> (quantity, unit price)
    confirmed: bool = False
    cancelled: bool = False
    cost: Decimal = ZERO
    shipped: dict[str, Decimal] = field(default_factory=dict)
    invoices: list[Invoice] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.shipped = dict.fromkeys(self.lines, ZERO)

    def invoiced(self, sku: str) -> Decimal:
        return sum((i.lines.get(sku, ZERO) for i in self.invoices if not i.credited), ZERO)

    @property
    def open_balance(self) -> Decimal:
        return sum((i.total - i.paid for i in self.invoices if not i.credited), ZERO)


@dataclass
class Model:
    """What the books should say, kept beside the application."""

    stock: dict[str, Stock] = field(default_factory=dict)
    customers: list[str] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    leads: dict[str, str] = field(default_factory=dict)  # id -> status
    opportunities: dict[str, str] = field(default_factory=dict)  # id -> stage
    manual: dict[str, bool] = field(default_factory=dict)  # manual entry id -> reversed
    #: What manual entries (not reversed) debit to Cash and COGS.
    manual_debits: dict[str, Decimal] = field(
        default_factory=lambda: dict.fromkeys(MANUAL_TRACKED, ZERO))
    closed_through: date | None = None


class OrderToCash(RuleBasedStateMachine):
    """Random commands against one fresh store, checked against a model."""

    database = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self._store = ExitStack()  # the example's own store, removed at teardown
        url = self._store.enter_context(fresh_database_url(self.database, "m_"))
        self.app = build_app(Settings(database_url=url, pool_size=2, tax_rate=TAX_RATE))
        self.projector = Projector(self.app.db, self.app.settings)
        self.model = Model()
        self.entries: list[JournalEntry.Posted] = []
        self.seen = 0
        self.checked = 0  # entries whose source was already looked up
        self.last: tuple[str, tuple[Any, ...], dict[str, Any], str, Result] | None = None

    def teardown(self) -> None:
        try:
            self.projector.catch_up()
            live = {name: self.projector.digest(name) for name in self.projector.names()}
            rebuild(self.projector)
            rebuilt = {name: self.projector.digest(name) for name in self.projector.names()}
            assert rebuilt == live, "a read model rebuilt from zero differs from the live one"
        finally:
            self.app.close()
            self._store.close()

    # Running commands ---------------------------------------------------------------------

    def attempt(self, allowed: bool, command: str, *args: Any,
                error: type[O2CError] = O2CError, **kwargs: Any) -> Result | None:
        """Runs a command the model says the rules allow (or refuse), and checks it did so."""
        key = uuid.uuid4().hex
        ctx = Context(actor="machine", idempotency_key=key, today=TODAY)
        head = self.app.db.head()
        refused: O2CError | None = None
        try:
            result: Result = getattr(self.app, command)(ctx, *args, **kwargs)
        except O2CError as caught:
            refused = caught
        if refused is not None:
            assert self.app.db.head() == head, f"{command} was refused but recorded events"
            assert not allowed, f"{command}{args} was refused: {refused!r}"
            assert isinstance(refused, error), f"{command}: {refused!r} is not a {error}"
            return None
        assert allowed, f"{command}{args} should have been refused"
        assert self.app.db.head() > head
        assert result.position == self.app.db.head()
        self.last = (command, args, kwargs, key, result)
        return result

    def pick(self, items: list[Any], index: int) -> Any:
        return items[index % len(items)]

    # Stock ---------------------------------------------------------------------------------

    @initialize()
    def open_for_business(self) -> None:
        for sku, cost in (("A-1", "1.25"), ("B-2", "3.33")):
            self.attempt(True, "register_stock_item", sku, f"Item {sku}")
            self.model.stock[sku] = Stock()
            self.receive(sku, ("20", D(20)), (cost, D(cost)))
        customer = self.attempt(True, "register_customer", "Apex", "ap@apex.example")
        assert customer is not None
        self.model.customers.append(customer.id)
        order = self.attempt(True, "place_sales_order", customer.id, [
            {"sku": "A-1", "quantity": "3", "unit_price": "9.99"},
            {"sku": "B-2", "quantity": "1.5", "unit_price": "20.00"}])
        assert order is not None
        self._placed(order.id, {"A-1": (D(3), D("9.99")), "B-2": (D("1.5"), D("20.00"))})
        # A second order already on its way: shipped in part, invoiced, paid in part; and a
        # lead converted into a deal, so every rule has something to act on from step one.
        second = self.attempt(True, "place_sales_order", customer.id, [
            {"sku": "A-1", "quantity": "4", "unit_price": "12.50"}])
        assert second is not None
        self._placed(second.id, {"A-1": (D(4), D("12.50"))})
        assert self.attempt_confirm(self.model.orders[1])
        self._ship(self.model.orders[1], {"A-1": D("2.5")})
        self.invoice(1)
        self.pay(1, "half")
        self._capture(good=True)
        self._convert(0, ("1000.00", D("1000.00")))
        assert self.model.orders[1].invoices[0].paid > 0
        assert self.model.opportunities

    @rule(sku=st.sampled_from(["C-3", "C-3", "A-1", "B-2"]))
    def register(self, sku: str) -> None:
        if self.attempt(sku not in self.model.stock, "register_stock_item", sku, "Item"):
            self.model.stock[sku] = Stock()

    @rule(sku=skus, quantity=quantities, cost=prices)
    def receive(self, sku: str, quantity: Parsed, cost: Parsed) -> None:
        allowed = sku in self.model.stock and None not in (quantity[1], cost[1])
        result = self.attempt(allowed, "receive_stock", sku, quantity[0], cost[0])
        if result:
            assert quantity[1] is not None
            assert cost[1] is not None
            value = self.model.stock[sku].receive(quantity[1], cost[1])
            assert D(result.extra["value"]) == value

    @rule(sku=skus, counted=st.integers(min_value=0, max_value=60))
    def count(self, sku: str, counted: int) -> None:
        stock = self.model.stock.get(sku)
        allowed = stock is not None and stock.reserved <= counted != stock.on_hand
        result = self.attempt(allowed, "adjust_stock", sku, str(counted), "cycle count")
        if result:
            assert stock is not None
            assert D(result.extra["value"]) == stock.count(D(counted))

    # CRM -----------------------------------------------------------------------------------

    @rule(action=st.sampled_from(["capture", "capture", "bad capture", "qualify", "disqualify",
                                  "convert", "convert", "move", "lose"]),
          index=indexes, amount=prices,
          stage=st.sampled_from([*OPEN_STAGES, "won"]))
    def crm(self, action: str, index: int, amount: Parsed, stage: str) -> None:
        """A CRM command: leads captured and judged, converted, deals moved or lost."""
        if action.endswith("capture"):
            self._capture(good=action == "capture")
        elif action in ("qualify", "disqualify") and self.model.leads:
            self._judge_lead(index, action)
        elif action == "convert" and self.model.leads:
            self._convert(index, amount)
        elif action == "move" and self.model.opportunities:
            self._move(index, stage)
        elif action == "lose" and self.model.opportunities:
            self._lose(index)

    @rule(name=st.sampled_from(["Apex", "Helios", "Nimbus"]), good=mostly(
        st.just(True), st.just(False)))
    def customer(self, name: str, good: bool) -> None:
        """A customer registered directly (not from a lead); the same name may recur."""
        email = f"ap@{name.lower()}.example" if good else "not-an-email"
        result = self.attempt(good, "register_customer", name, email)
        if result:
            self.model.customers.append(result.id)

    def _capture(self, good: bool) -> None:
        email = "lead@buyer.example" if good else "lead-at-buyer"
        result = self.attempt(good, "capture_lead", "Lee", "Buyer Co", email, "web")
        if result:
            self.model.leads[result.id] = "new"

    def _judge_lead(self, index: int, action: str) -> None:
        lead = self.pick(sorted(self.model.leads), index)
        status = self.model.leads[lead]
        if action == "qualify":
            if self.attempt(status == "new", "qualify_lead", lead):
                self.model.leads[lead] = "qualified"
        elif self.attempt(status in ("new", "qualified"), "disqualify_lead", lead, "no fit"):
            self.model.leads[lead] = "disqualified"

    def _convert(self, index: int, amount: Parsed) -> None:
        lead = self.pick(sorted(self.model.leads), index)
        allowed = self.model.leads[lead] in ("new", "qualified") and amount[1] is not None
        result = self.attempt(allowed, "convert_lead", lead, {
            "title": "Deal", "amount": amount[0], "expected_close_date": "2026-06-30"})
        if result:
            self.model.leads[lead] = "converted"
            self.model.customers.append(result.extra["customer_id"])
            self.model.opportunities[result.extra["opportunity_id"]] = "prospecting"

    def _move(self, index: int, stage: str) -> None:
        opp = self.pick(sorted(self.model.opportunities), index)
        current = self.model.opportunities[opp]
        allowed = current in OPEN_STAGES and stage in OPEN_STAGES and stage != current
        if self.attempt(allowed, "change_stage", opp, stage):
            self.model.opportunities[opp] = stage

    def _lose(self, index: int) -> None:
        opp = self.pick(sorted(self.model.opportunities), index)
        if self.attempt(self.model.opportunities[opp] in OPEN_STAGES, "lose_opportunity", opp,
                        "budget"):
            self.model.opportunities[opp] = "lost"

    # Orders --------------------------------------------------------------------------------

    def _lines(self, lines: list[tuple[str, Parsed, Parsed]]) -> tuple[
            list[dict[str, object]], dict[str, tuple[Decimal, Decimal]] | None]:
        sent = [{"sku": sku, "quantity": q[0], "unit_price": p[0]} for sku, q, p in lines]
        valid = (len({sku for sku, _, _ in lines}) == len(lines)
                 and all(sku in self.model.stock and q[1] is not None and p[1] is not None
                         for sku, q, p in lines))
        expected = {sku: (q[1], p[1]) for sku, q, p in lines} if valid else None
        return sent, expected  # type: ignore[return-value]

    def _placed(self, order_id: str, expected: dict[str, tuple[Decimal, Decimal]]) -> None:
        self.model.orders.append(Order(order_id, expected))

    @rule(customer=indexes, unknown=st.integers(min_value=1, max_value=12),
          lines=order_lines)
    def place(self, customer: int, unknown: int, lines: list[tuple[str, Parsed, Parsed]]) -> None:
        who = NO_SUCH_ID if unknown == 1 else self.pick(self.model.customers, customer)
        sent, expected = self._lines(lines)
        result = self.attempt(expected is not None and who != NO_SUCH_ID, "place_sales_order",
                              who, sent)
        if result:
            assert expected is not None
            self._placed(result.id, expected)

    @precondition(lambda self: self.model.opportunities)
    @rule(index=indexes, lines=order_lines)
    def win(self, index: int, lines: list[tuple[str, Parsed, Parsed]]) -> None:
        opp = self.pick(sorted(self.model.opportunities), index)
        sent, expected = self._lines(lines)
        allowed = self.model.opportunities[opp] in OPEN_STAGES and expected is not None
        result = self.attempt(allowed, "win_opportunity", opp, sent)
        if result:
            assert expected is not None
            self.model.opportunities[opp] = "won"
            self._placed(result.extra["order_id"], expected)

    @precondition(lambda self: self.model.orders)
    @rule(index=indexes)
    def confirm(self, index: int) -> None:
        self.attempt_confirm(self.pick(self.model.orders, index))

    def attempt_confirm(self, order: Order) -> bool:
        stock = self.model.stock
        allowed = not order.confirmed and not order.cancelled and all(
            qty <= stock[sku].on_hand - stock[sku].reserved
            for sku, (qty, _) in order.lines.items())
        if self.attempt(allowed, "confirm_order", order.id):
            order.confirmed = True
            for sku, (qty, _) in order.lines.items():
                stock[sku].reserved += qty
            return True
        return False

    @precondition(lambda self: self.model.orders)
    @rule(index=indexes, data=st.data())
    def ship(self, index: int, data: st.DataObject) -> None:
        order = self.pick(self.model.orders, index)
        chosen = data.draw(st.lists(st.sampled_from(sorted(order.lines)), min_size=1,
                                    max_size=len(order.lines), unique=True))
        shares = data.draw(st.lists(st.sampled_from([D("0.5"), D(1), D(1), D("1.5")]),
                                    min_size=len(chosen), max_size=len(chosen)))
        quantities = {}
        for sku, share in zip(chosen, shares, strict=True):
            left = order.lines[sku][0] - order.shipped[sku]
            quantities[sku] = max(D("0.001"), (left * share).quantize(D("0.001"),
                                                                      rounding=ROUND_DOWN))
        self._ship(order, quantities)

    def _ship(self, order: Order, quantities: dict[str, Decimal]) -> None:
        allowed = order.confirmed and not order.cancelled and all(
            qty <= order.lines[sku][0] - order.shipped[sku] for sku, qty in quantities.items())
        lines = [{"sku": sku, "quantity": str(qty)} for sku, qty in quantities.items()]
        result = self.attempt(allowed, "ship_order", order.id, lines)
        if result:
            cost = ZERO
            for sku, qty in quantities.items():
                order.shipped[sku] += qty
                cost += self.model.stock[sku].take(qty)
                self.model.stock[sku].reserved -= qty
            order.cost += cost
            assert D(result.extra["cost"]) == cost

    @precondition(lambda self: self.model.orders)
    @rule(index=indexes, steps=st.integers(min_value=1, max_value=6),
          partial=st.booleans(), credit_first=st.booleans())
    def progress(self, index: int, steps: int, partial: bool, credit_first: bool) -> None:
        """Moves an order up to ``steps`` steps along the happy path (other rules stray)."""
        order = self.pick(self.model.orders, index)
        for _ in range(steps):
            left = {sku: qty - order.shipped[sku] for sku, (qty, _) in order.lines.items()
                    if qty != order.shipped[sku]}
            if order.cancelled or (not left and order.invoices and not order.open_balance
                                   and all(order.shipped[sku] == order.invoiced(sku)
                                           for sku in order.lines)):
                self.pay(index, "cent")  # refused: cancelled, or nothing left to pay
                break
            if not order.confirmed:
                if not self.attempt_confirm(order):
                    break
            elif left:
                self._ship(order, {sku: max(D("0.001"), (qty / 2).quantize(D("0.001")))
                                   if partial else qty for sku, qty in left.items()})
            elif any(order.shipped[sku] != order.invoiced(sku) for sku in order.lines):
                self.invoice(index)
            elif credit_first and order.invoices[-1].paid == ZERO:
                # A credit note before any payment: the goods wait for a new invoice, and
                # the next payment must pass over the credited invoice.
                self._credit(order, order.invoices[-1])
                credit_first = False
            else:
                self.pay(index, "half" if partial else "all")

    @precondition(lambda self: self.model.orders)
    @rule(index=indexes)
    def invoice(self, index: int) -> None:
        order = self.pick(self.model.orders, index)
        lines = {sku: order.shipped[sku] - order.invoiced(sku) for sku in order.lines
                 if order.shipped[sku] != order.invoiced(sku)}
        result = self.attempt(bool(lines) and not order.cancelled, "invoice_order", order.id)
        if result:
            net = sum((quantize(qty * order.lines[sku][1]) for sku, qty in lines.items()), ZERO)
            invoice = Invoice(result.extra["invoice_number"], lines, net,
                              quantize(net * TAX_RATE))
            assert (D(result.extra["net"]), D(result.extra["tax"]), D(result.extra["total"])) == (
                invoice.net, invoice.tax, invoice.total)
            order.invoices.append(invoice)

    @precondition(lambda self: self.model.orders)
    @rule(index=indexes,
          how=st.sampled_from(["all", "half", "cent", "over", "zero", "NaN", "precise",
                               "any"]), any_amount=amounts)
    def pay(self, index: int, how: str, any_amount: Parsed | None = None) -> None:
        """Pays an order: all of it, half, a cent, too much, or any amount (usually more
        than is open: refused, as overpayments are)."""
        order = self.pick(self.model.orders, index)
        open_balance = order.open_balance
        amount = {"all": open_balance, "half": quantize(open_balance / 2),
                  "cent": D("0.01"), "over": open_balance + D("0.01"),
                  "any": any_amount[1] if any_amount else None}.get(how)
        sent = {"zero": "0", "NaN": "NaN", "precise": "0.005",
                "any": any_amount[0] if any_amount else "0"}.get(how, str(amount))
        allowed = (amount is not None and ZERO < amount <= open_balance
                   and not order.cancelled)
        if self.attempt(allowed, "pay_order", order.id, sent, "ach"):
            assert amount is not None
            left = amount
            for invoice in order.invoices:  # oldest first, credited ones skipped
                if not invoice.credited:
                    share = min(left, invoice.total - invoice.paid)
                    invoice.paid += share
                    left -= share

    @precondition(lambda self: any(o.invoices for o in self.model.orders))
    @rule(index=indexes, which=indexes, unpaid=st.booleans())
    def credit(self, index: int, which: int, unpaid: bool) -> None:
        """Credits an invoice: usually an open, unpaid one; otherwise any (often refused)."""
        candidates = [(o, i) for o in self.model.orders for i in o.invoices
                      if not unpaid or (i.paid == ZERO and not i.credited)]
        if not candidates:
            candidates = [(o, i) for o in self.model.orders for i in o.invoices]
        self._credit(*self.pick(candidates, index + which))

    def _credit(self, order: Order, invoice: Invoice) -> None:
        allowed = not invoice.credited and invoice.paid == ZERO
        if self.attempt(allowed, "credit_invoice", order.id, invoice.number, "wrong price"):
            invoice.credited = True

    @precondition(lambda self: self.model.orders)
    @rule(index=indexes)
    def cancel(self, index: int) -> None:
        order = self.pick(self.model.orders, index)
        allowed = not order.cancelled and not any(order.shipped.values())
        if self.attempt(allowed, "cancel_order", order.id, "changed plans"):
            order.cancelled = True
            if order.confirmed:
                for sku, (qty, _) in order.lines.items():
                    self.model.stock[sku].reserved -= qty

    @rule(command=st.sampled_from(["confirm", "ship", "invoice", "pay", "cancel", "credit",
                                   "credit unknown invoice"]), index=indexes)
    def unknown(self, command: str, index: int) -> None:
        """An order command on an order that does not exist, or a credit note for an
        invoice number the order never issued: refused, nothing recorded."""
        order = NO_SUCH_ID
        args: tuple[object, ...] = {
            "confirm": ("confirm_order",), "ship": ("ship_order", [{"sku": "A-1",
                                                                 "quantity": "1"}]),
            "invoice": ("invoice_order",), "pay": ("pay_order", "1.00", "ref"),
            "cancel": ("cancel_order", "changed plans"),
            "credit": ("credit_invoice", "INV-NONE", "billing error"),
            "credit unknown invoice": ("credit_invoice", "INV-NONE", "billing error"),
        }[command]
        if command == "credit unknown invoice" and self.model.orders:
            order = self.pick(self.model.orders, index).id
        self.attempt(False, str(args[0]), order, *args[1:])

    # Ledger ----------------------------------------------------------------------------------

    @rule(debit=st.sampled_from(MANUAL_DEBITS), credit=st.sampled_from(MANUAL_CREDITS),
          amount=amounts, skew=st.sampled_from([ZERO, ZERO, ZERO, D("0.01")]),
          days_back=st.sampled_from([0, 0, 20, 45]))
    def manual_entry(self, debit: str, credit: str, amount: Parsed, skew: Decimal,
                     days_back: int) -> None:
        """A manual entry: unbalanced by a cent, on an unknown account, with an invalid
        amount or in a closed period, it is refused."""
        day = TODAY - timedelta(days=days_back)
        closed = self.model.closed_through
        value = amount[1]
        allowed = (value is not None and debit != "9999" and skew == ZERO
                   and (closed is None or day > closed))
        credited = str(value + skew) if value is not None and skew else amount[0]
        result = self.attempt(allowed, "post_journal_entry", "manual", [
            {"account": debit, "debit": amount[0]},
            {"account": credit, "credit": credited}], date=day.isoformat())
        if result:
            assert value is not None
            self.model.manual[result.id] = False
            if debit in MANUAL_TRACKED:
                self.model.manual_debits[debit] += value

    @precondition(lambda self: self.model.manual)
    @rule(index=indexes)
    def reverse(self, index: int) -> None:
        entry = self.pick(sorted(self.model.manual), index)
        if self.attempt(not self.model.manual[entry], "reverse_journal_entry", entry):
            self.model.manual[entry] = True
            original = self.app.journal_entry(entry)
            for line in original.lines:
                if line["account"] in MANUAL_TRACKED:
                    self.model.manual_debits[line["account"]] -= line["debit"]

    @rule(days_back=st.sampled_from([60, 30, 10]))
    def close(self, days_back: int) -> None:
        through = TODAY - timedelta(days=days_back)
        closed = self.model.closed_through
        if self.attempt(closed is None or through > closed, "close_period", through.isoformat()):
            self.model.closed_through = through

    # Retries and versions ----------------------------------------------------------------------

    @precondition(lambda self: self.last is not None)
    @rule(kind=st.sampled_from(["retry", "reuse key", "stale version"]),
          index=indexes, ahead=st.sampled_from([-1, 1, 50]))
    def retries(self, kind: str, index: int, ahead: int) -> None:
        """A retry of the last command, a key reused for other input, or a stale If-Match."""
        if kind == "retry":
            self._retry_last()
        elif kind == "reuse key":
            self._reuse_key()
        elif self.model.orders:
            self._stale_version(index, ahead)

    def _retry_last(self) -> None:
        """The last successful command, retried with its key: the same answer, nothing new."""
        assert self.last is not None
        command, args, kwargs, key, first = self.last
        head = self.app.db.head()
        again: Result = getattr(self.app, command)(
            Context(actor="machine", idempotency_key=key, today=TODAY), *args, **kwargs)
        assert again.replayed
        assert (again.id, again.version, again.position, again.as_dict()) == (
            first.id, first.version, first.position, first.as_dict())
        assert self.app.db.head() == head

    def _reuse_key(self) -> None:
        assert self.last is not None
        head = self.app.db.head()
        with pytest.raises(IdempotencyKeyReusedError):
            self.app.post_journal_entry(
                Context(actor="machine", idempotency_key=self.last[3], today=TODAY), "m",
                [{"account": "1000", "debit": "1.00"}, {"account": "3000", "credit": "1.00"}])
        assert self.app.db.head() == head

    def _stale_version(self, index: int, ahead: int) -> None:
        order = self.pick(self.model.orders, index)
        version = self.app.sales_order(order.id).version + ahead
        head = self.app.db.head()
        with pytest.raises(VersionMismatchError):
            self.app.cancel_order(Context(actor="machine", expected_version=version,
                                          today=TODAY), order.id, "stale")
        assert self.app.db.head() == head

    # Invariants -------------------------------------------------------------------------------

    def _read_entries(self) -> None:
        for notification in self.app.recorder.select_notifications(start=self.seen + 1,
                                                                    limit=100_000):
            event = self.app.mapper.to_domain_event(notification)
            if isinstance(event, JournalEntry.Posted):
                self.entries.append(event)
            self.seen = notification.id

    def _balances(self) -> dict[str, Decimal]:
        balances: dict[str, Decimal] = {}
        for entry in self.entries:
            for line in entry.lines:
                balances[line["account"]] = (balances.get(line["account"], ZERO)
                                             + line["debit"] - line["credit"])
        return balances

    @invariant()
    def model_agrees_with_the_aggregates(self) -> None:
        m = self.model
        for sku, stock in m.stock.items():
            item = self.app.stock_item(sku)
            assert (item.on_hand, item.reserved, item.value) == (
                stock.on_hand, stock.reserved, stock.value), sku
            assert [(x["quantity"], x["value"]) for x in item.layers] == stock.layers
        for order in m.orders:
            so = self.app.sales_order(order.id)
            assert (so.confirmed, so.cancelled) == (order.confirmed, order.cancelled)
            assert so.shipped == order.shipped
            assert so.invoiced == {sku: order.invoiced(sku) for sku in order.lines}
            assert [(i["invoice_number"], i["total"], i["paid"], i["credited"])
                    for i in so.invoices] == [(i.number, i.total, i.paid, i.credited)
                                              for i in order.invoices]
            assert so.open_balance == order.open_balance
            assert so.cost == order.cost
        for lead, status in m.leads.items():
            assert self.app.lead(lead).status == status
        for opp, stage in m.opportunities.items():
            assert self.app.opportunity(opp).stage == stage

    @invariant()
    def stock_rules_hold(self) -> None:
        """DESIGN: on_hand >= 0, reserved <= on_hand, nothing shipped beyond reserved."""
        promised: dict[tuple[str, str], Decimal] = {}
        for order in self.model.orders:
            so = self.app.sales_order(order.id)
            if so.confirmed and not so.cancelled:
                for line in so.lines:
                    left = line["quantity"] - so.shipped[line["sku"]]
                    if left:
                        promised[(line["sku"], str(so.id))] = left
        for sku in self.model.stock:
            item = self.app.stock_item(sku)
            assert item.on_hand >= 0
            assert ZERO <= item.reserved <= item.on_hand
            assert item.reserved == sum(item.reservations.values(), ZERO)
            assert item.value >= 0
            assert item.on_hand == sum((layer["quantity"] for layer in item.layers), ZERO)
            # Each reservation is exactly what its order still has to ship: nothing was
            # shipped beyond what was reserved, and nothing reserved for a dead order.
            assert item.reservations == {o: q for (s, o), q in promised.items() if s == sku}

    @invariant()
    def order_rules_hold(self) -> None:
        """DESIGN: invoiced <= shipped <= ordered per line; paid <= invoiced."""
        for order in self.model.orders:
            so = self.app.sales_order(order.id)
            for line in so.lines:
                sku = line["sku"]
                assert ZERO <= so.invoiced[sku] <= so.shipped[sku] <= line["quantity"]
            assert ZERO <= so.paid <= so.invoiced_total  # overpayments are refused
            assert so.open_balance >= 0
            for invoice in so.invoices:
                assert invoice["total"] == invoice["net"] + invoice["tax"]
                assert ZERO <= invoice["paid"] <= invoice["total"]

    @invariant()
    def entries_balance_exactly(self) -> None:
        """DESIGN: every journal entry balances exactly (Decimal, no tolerance)."""
        self._read_entries()
        for entry in self.entries:
            debits = sum((line["debit"] for line in entry.lines), ZERO)
            credits = sum((line["credit"] for line in entry.lines), ZERO)
            assert debits == credits > 0, "an entry does not balance exactly"
            for line in entry.lines:
                assert (line["debit"] > 0) != (line["credit"] > 0)

    @invariant()
    def trial_balance_sums_to_zero(self) -> None:
        """DESIGN: the trial balance sums to zero at every position of the log (each step
        is checked at the position it reached)."""
        self._read_entries()
        assert sum(self._balances().values(), ZERO) == 0, "the trial balance is not zero"

    @invariant()
    def postings_name_their_cause(self) -> None:
        """DESIGN: every ledger posting names the business event that caused it: a known
        cause, and (but for manual entries) the aggregate and version it came from."""
        self._read_entries()
        ids = {entry.originator_id for entry in self.entries[:self.checked]}
        for entry in self.entries[self.checked:]:
            assert entry.cause in CAUSES, entry.cause
            assert (entry.source_id is None) == (entry.cause == "JournalEntry.Posted")
            if entry.cause.startswith(("SalesOrder.", "StockItem.")):
                source = self.app.repository.get(entry.source_id)
                assert type(source).__name__ == entry.cause.split(".")[0]
                assert entry.source_version is not None
                assert entry.source_version <= source.version
            if entry.cause == "JournalEntry.Reversed":
                assert entry.source_id in ids  # reverses an entry posted before it
            ids.add(entry.originator_id)
        self.checked = len(self.entries)

    @invariant()
    def inventory_account_equals_stock_value(self) -> None:
        """DESIGN: the Inventory account (1200) balance equals the sum of stock values."""
        self._read_entries()
        stock_value = sum((self.app.stock_item(s).value for s in self.model.stock), ZERO)
        assert self._balances().get("1200", ZERO) == stock_value

    @invariant()
    def receivable_equals_open_invoices(self) -> None:
        """DESIGN: the Receivable account (1100) balance equals the open invoice amounts."""
        self._read_entries()
        orders = [self.app.sales_order(o.id) for o in self.model.orders]
        assert self._balances().get("1100", ZERO) == sum((so.open_balance for so in orders),
                                                         ZERO)
        assert self._balances().get("1100", ZERO) == sum(
            (o.open_balance for o in self.model.orders), ZERO)

    @invariant()
    def other_control_accounts_agree(self) -> None:
        """COGS is the cost shipped plus manual COGS entries, Revenue and Tax the invoices
        not credited, Cash the payments plus manual cash entries."""
        self._read_entries()
        balances = self._balances()
        orders = [self.app.sales_order(o.id) for o in self.model.orders]
        live = [i for so in orders for i in so.invoices if not i["credited"]]
        manual = self.model.manual_debits
        assert balances.get("5000", ZERO) == sum((so.cost for so in orders),
                                                 ZERO) + manual["5000"]
        assert -balances.get("4000", ZERO) == sum((i["net"] for i in live), ZERO)
        assert -balances.get("2100", ZERO) == sum((i["tax"] for i in live), ZERO)
        assert balances.get("1000", ZERO) == sum((so.paid for so in orders),
                                                 ZERO) + manual["1000"]

    @invariant()
    def read_models_agree(self) -> None:
        self._read_entries()
        self.projector.catch_up()
        balances = self._balances()
        trial = reports.trial_balance(self.app.db, self.app.places)
        assert trial["totals"]["debit"] == trial["totals"]["credit"]
        assert trial["totals"]["balance"] == 0
        for row in trial["accounts"]:
            posted = [line for e in self.entries for line in e.lines
                      if line["account"] == row["code"]]
            assert row["debit"] == sum((x["debit"] for x in posted), ZERO), row["code"]
            assert row["credit"] == sum((x["credit"] for x in posted), ZERO), row["code"]
            assert row["balance"] == balances.get(row["code"], ZERO)
        inventory = {row["sku"]: row for row in
                     reports.inventory(self.app.db, self.app.places)["items"]}
        assert set(inventory) == set(self.model.stock)
        for sku in self.model.stock:
            item = self.app.stock_item(sku)
            assert (inventory[sku]["on_hand"], inventory[sku]["reserved"],
                    inventory[sku]["value"]) == (item.on_hand, item.reserved, item.value)
        aging = reports.ar_aging(self.app.db, self.app.places, as_of=TODAY)
        assert aging["total_open"] == sum((o.open_balance for o in self.model.orders), ZERO)
        for order in self.model.orders:
            row = reports.order_status(self.app.db, self.app.places, order.id)
            so = self.app.sales_order(order.id)
            assert row is not None
            assert (row["status"], row["invoiced"], row["paid"], row["cost"]) == (
                so.status, so.invoiced_total, so.paid, so.cost)
        pipeline = reports.pipeline(self.app.db, self.app.places)
        stages = {row["stage"]: row["count"] for row in pipeline["stages"]}
        for stage in OPEN_STAGES:
            assert stages[stage] == sum(1 for s in self.model.opportunities.values()
                                        if s == stage)
        assert pipeline["won"]["count"] == sum(
            1 for s in self.model.opportunities.values() if s == "won")
        assert pipeline["leads"]["total"] == len(self.model.leads)


def _settings(examples: int) -> Callable[[Any], Any]:
    return settings(max_examples=examples, stateful_step_count=STEPS, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


TestOrderToCashSQLite = OrderToCash.TestCase
TestOrderToCashSQLite.settings = _settings(EXAMPLES)


class OrderToCashPostgres(OrderToCash):
    """The same machine on PostgreSQL (fewer examples: each needs its own schema)."""

    database = "postgres"


@pytest.mark.postgres
class TestOrderToCashPostgres(OrderToCashPostgres.TestCase):  # type: ignore[name-defined]
    """Runs when PostgreSQL does: skipped with the reason, or failed under CI."""

    settings = _settings(max(3, EXAMPLES * 2 // 5))

    @pytest.fixture(autouse=True)
    def _needs_postgres(self) -> None:
        require_postgres()
