"""A hypothesis state machine drives random order-to-cash commands, valid and invalid,
through the application and checks the books' invariants after every step.

Invariants (DESIGN.md): every entry balances exactly; the trial balance sums to
zero; on_hand >= 0, reserved <= on_hand, nothing shipped beyond reserved;
Inventory equals the sum of stock values; Receivable equals the open invoices;
invoiced <= shipped <= ordered per line; paid <= invoiced; every posting names
its cause. A refused command raises a named error and records nothing. At the
end every read model rebuilt from zero equals the live one.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from o2c.application import Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.errors import O2CError
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem
from o2c.projections import Projector, reports

PG_URL = os.environ.get("O2C_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
EXAMPLES = int(os.environ.get("O2C_HYPOTHESIS_EXAMPLES", "15"))
STEPS = int(os.environ.get("O2C_HYPOTHESIS_STEPS", "40"))
SKUS = ["A-1", "B-2", "C-3"]
CTX = Context(actor="machine")



def mostly(valid: st.SearchStrategy[str], invalid: list[str]) -> st.SearchStrategy[str]:
    """Valid values nine times in ten, so long valid sequences happen too."""
    return st.integers(min_value=0, max_value=9).flatmap(
        lambda roll: valid if roll else st.sampled_from(invalid))


quantities = mostly(st.integers(min_value=1, max_value=30).map(str),
                    ["0", "-1", "1.2345", "NaN", "Infinity", "2.5"])
costs = mostly(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"),
                           places=2).map(str), ["0.00", "-5.00", "1.001", "1e400", "sNaN"])
amounts = mostly(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"),
                             places=2).map(str), ["0", "0.001", "-1"])
skus = mostly(st.sampled_from(SKUS), ["NOPE", "bad sku!"])


class OrderToCash(RuleBasedStateMachine):
    """Random commands against one fresh store."""

    database = "sqlite"
    orders = Bundle("orders")
    customers = Bundle("customers")

    def __init__(self) -> None:
        super().__init__()
        self._folder = Path(tempfile.mkdtemp(prefix="o2c-machine-"))
        self._schema = None
        if self.database == "sqlite":
            url = f"sqlite:///{self._folder / 'o2c.sqlite3'}"
        else:
            self._schema = "m_" + uuid.uuid4().hex[:16]
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{self._schema}"')
            url = f"{PG_URL}?schema={self._schema}"
        self.app = build_app(Settings(database_url=url, pool_size=2))
        self.projector = Projector(self.app)
        self.order_ids: set[str] = set()
        self.entries: list[JournalEntry] = []
        self.seen = 0

    def teardown(self) -> None:
        try:
            self.projector.catch_up()
            live = {name: self.projector.digest(name) for name in self.projector.names()}
            self.projector.rebuild()
            assert {name: self.projector.digest(name) for name in self.projector.names()} == live
        finally:
            self.app.close()
            if self._schema:
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{self._schema}" CASCADE')

    def attempt(self, command: str, *args: object, **kwargs: object) -> object:
        """Runs a command; a refusal must be a named error that recorded nothing."""
        head = self.app.db.head()
        try:
            result = getattr(self.app, command)(CTX, *args, **kwargs)
        except O2CError:
            assert self.app.db.head() == head, f"{command} was refused but recorded events"
            return None
        assert self.app.db.head() > head
        return result

    # Rules ---------------------------------------------------------------------------

    @initialize(target=customers)
    def stock_up(self) -> str:
        for number, sku in enumerate(SKUS, start=1):
            self.attempt("register_stock_item", sku, f"Item {sku}")
            self.attempt("receive_stock", sku, "40", f"{number}.25")
        result = self.attempt("register_customer", "Apex", "ap@apex.example")
        assert result is not None
        return result.id  # type: ignore[attr-defined,no-any-return]

    @rule(sku=st.sampled_from(SKUS))
    def register(self, sku: str) -> None:
        self.attempt("register_stock_item", sku, f"Item {sku}")

    @rule(sku=skus, quantity=quantities, cost=costs)
    def receive(self, sku: str, quantity: str, cost: str) -> None:
        self.attempt("receive_stock", sku, quantity, cost)

    @rule(sku=st.sampled_from(SKUS), counted=st.integers(min_value=0, max_value=60))
    def count(self, sku: str, counted: int) -> None:
        self.attempt("adjust_stock", sku, str(counted), "cycle count")

    @rule(target=customers, name=st.sampled_from(["Apex", "Helios", "Nimbus"]))
    def customer(self, name: str) -> str:
        result = self.attempt("register_customer", name, f"ap@{name.lower()}.example")
        assert result is not None
        return result.id  # type: ignore[attr-defined,no-any-return]

    @rule(target=orders, customer=customers,
          lines=st.lists(st.tuples(skus, quantities, costs), min_size=1, max_size=2))
    def place(self, customer: str, lines: list[tuple[str, str, str]]) -> str:
        result = self.attempt("place_sales_order", customer, [
            {"sku": sku, "quantity": qty, "unit_price": price} for sku, qty, price in lines])
        if result is None:
            return "00000000-0000-4000-8000-000000000000"
        self.order_ids.add(result.id)  # type: ignore[attr-defined]
        return result.id  # type: ignore[attr-defined,no-any-return]

    @rule(order=orders, partial=st.booleans())
    def progress(self, order: str, partial: bool) -> None:
        """Moves an order one step along the happy path (the other rules stray from it)."""
        if order not in self.order_ids:
            return
        so = self.app.sales_order(order)
        if so.cancelled:
            return
        if not so.confirmed:
            self.attempt("confirm_order", order)
        elif not so.fully_shipped:
            lines = []
            for line in so.lines:
                left = line["quantity"] - so.shipped[line["sku"]]
                quantity = (left / 2).to_integral_value() if partial else left
                if quantity > 0:
                    lines.append({"sku": line["sku"], "quantity": str(quantity)})
            self.attempt("ship_order", order, lines or [{"sku": so.lines[0]["sku"],
                                                         "quantity": "1"}])
        elif any(so.invoiced[sku] != qty for sku, qty in so.shipped.items()):
            self.attempt("invoice_order", order)
        elif so.open_balance:
            amount = so.open_balance / 2 if partial else so.open_balance
            self.attempt("pay_order", order, str(amount.quantize(Decimal("0.01"))), "ach")

    @rule(order=orders)
    def confirm(self, order: str) -> None:
        self.attempt("confirm_order", order)

    @rule(order=orders, share=st.sampled_from([Decimal("0.5"), Decimal(1), Decimal(2)]))
    def ship(self, order: str, share: Decimal) -> None:
        try:
            so = self.app.sales_order(order)
        except O2CError:
            self.attempt("ship_order", order, [{"sku": "A-1", "quantity": "1"}])
            return
        lines = [{"sku": line["sku"],
                  "quantity": str(max(Decimal(1), ((line["quantity"] - so.shipped[line["sku"]])
                                                   * share).to_integral_value()))}
                 for line in so.lines]
        self.attempt("ship_order", order, lines)

    @rule(order=orders)
    def invoice(self, order: str) -> None:
        self.attempt("invoice_order", order)

    @rule(order=orders, amount=amounts, whole=st.booleans())
    def pay(self, order: str, amount: str, whole: bool) -> None:
        if whole and order in self.order_ids:
            amount = str(self.app.sales_order(order).open_balance)
        self.attempt("pay_order", order, amount, "ref")

    @rule(order=orders)
    def cancel(self, order: str) -> None:
        self.attempt("cancel_order", order, "changed plans")

    @rule(order=orders)
    def credit(self, order: str) -> None:
        number = "INV-NONE"
        if order in self.order_ids:
            invoices = self.app.sales_order(order).invoices
            number = invoices[-1]["invoice_number"] if invoices else number
        self.attempt("credit_invoice", order, number, "billing error")

    @rule(debit=st.sampled_from(["1000", "5000", "9999"]), credit=st.sampled_from(["3000"]),
          amount=amounts, skew=st.sampled_from(["0", "0", "0.01"]))
    def manual_entry(self, debit: str, credit: str, amount: str, skew: str) -> None:
        try:
            credited = str(Decimal(amount) + Decimal(skew))
        except ArithmeticError:
            credited = amount
        self.attempt("post_journal_entry", "manual", [
            {"account": debit, "debit": amount}, {"account": credit, "credit": credited}])

    # Invariants -----------------------------------------------------------------------

    def _new_entries(self) -> None:
        notifications = self.app.recorder.select_notifications(start=self.seen + 1, limit=10_000)
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            if isinstance(event, JournalEntry.Posted):
                entry = self.app.repository.get(event.originator_id, version=1)
                self.entries.append(entry)
            self.seen = notification.id

    def _stock(self) -> list[StockItem]:
        items = []
        for sku in SKUS:
            try:
                items.append(self.app.stock_item(sku))
            except O2CError:
                continue
        return items

    @invariant()
    def books_balance(self) -> None:
        self._new_entries()
        balances: dict[str, Decimal] = {}
        for entry in self.entries:
            debits = sum((line["debit"] for line in entry.lines), Decimal(0))
            credits = sum((line["credit"] for line in entry.lines), Decimal(0))
            assert debits == credits > 0
            assert entry.cause
            assert entry.cause == "JournalEntry.Posted" or entry.source_id is not None
            for line in entry.lines:
                balances[line["account"]] = (balances.get(line["account"], Decimal(0))
                                             + line["debit"] - line["credit"])
        assert sum(balances.values(), Decimal(0)) == 0
        stock_value = sum((item.value for item in self._stock()), Decimal(0))
        assert balances.get("1200", Decimal(0)) == stock_value
        orders = [self.app.sales_order(o) for o in self.order_ids]
        assert balances.get("1100", Decimal(0)) == sum((o.open_balance for o in orders),
                                                       Decimal(0))

    @invariant()
    def stock_is_consistent(self) -> None:
        promised: dict[str, Decimal] = {}
        for order_id in self.order_ids:
            order: SalesOrder = self.app.sales_order(order_id)
            for line in order.lines:
                shipped, invoiced = order.shipped[line["sku"]], order.invoiced[line["sku"]]
                assert Decimal(0) <= invoiced <= shipped <= line["quantity"]
                if order.confirmed and not order.cancelled:
                    promised[(line["sku"], order_id)] = line["quantity"] - shipped
            assert order.paid <= order.invoiced_total
            assert order.open_balance >= 0
        for item in self._stock():
            assert item.on_hand >= 0
            assert Decimal(0) <= item.reserved <= item.on_hand
            assert item.reserved == sum(item.reservations.values(), Decimal(0))
            assert item.value >= 0
            for order_id, quantity in item.reservations.items():
                assert promised.get((item.sku, order_id)) == quantity

    @invariant()
    def read_models_agree(self) -> None:
        self.projector.catch_up()
        inventory = {row["sku"]: row for row in reports.inventory(self.app)["items"]}
        for item in self._stock():
            row = inventory[item.sku]
            assert (row["on_hand"], row["reserved"], row["value"]) == (
                item.on_hand, item.reserved, item.value)
        trial = reports.trial_balance(self.app)
        assert trial["totals"]["balance"] == 0


OrderToCash.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestOrderToCashSQLite = OrderToCash.TestCase


class OrderToCashPostgres(OrderToCash):
    """The same machine on PostgreSQL."""

    database = "postgres"


OrderToCashPostgres.TestCase.settings = settings(
    max_examples=max(3, EXAMPLES // 3), stateful_step_count=STEPS, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.mark.postgres
class TestOrderToCashPostgres(OrderToCashPostgres.TestCase):  # type: ignore[name-defined]
    """Runs only when the PostgreSQL fixtures do (skipped or failed like the others)."""

    @pytest.fixture(autouse=True)
    def _needs_postgres(self, pg_schema_url: str) -> None:
        del pg_schema_url
