"""A seeded simulation of a whole business, with faults between append and projection.

``Simulation(seed, url).run(steps)`` drives the application the way a busy
company and an unreliable world would: leads captured, judged and converted,
deals moved, won and lost, stock received and counted, orders placed,
confirmed, shipped in parts, invoiced, paid, credited and cancelled, manual
entries posted and reversed, periods closed; commands that must be refused
(bad input, too little stock, overpayments, a stale If-Match); the last command
delivered again under its key (the first answer, nothing recorded), a key
reused for another body; and faults:

- a write that fails before it commits (the store refuses): nothing recorded,
  and the retry under the same key records it once;
- a write that fails *after* it commits (the answer is lost on the way): the
  retry under the same key answers as the first time and records nothing;
- a projector batch whose handler raises mid-batch; a projector restarted
  from scratch (no cache); one read model rebuilt alone; projection in small
  uneven steps.

Everything is drawn from ``random.Random(seed)``: a seed replays exactly. After
every step the log is checked (``support.books``: every DESIGN.md invariant,
reserved <= on hand at every position), and after every projection fault the
read models against the log; at the end, every read model against a rebuild.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import OperationalError

from o2c.application import O2C, Context, Result
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.errors import IdempotencyKeyReusedError, O2CError, VersionMismatchError
from o2c.domain.opportunity import OPEN_STAGES
from o2c.projections import Projector
from o2c.projections.rebuild import rebuild
from support.books import Books

FIRST_DAY = date(2026, 1, 5)


class InjectedFault(RuntimeError):
    """A fault the simulation injected on purpose."""


@dataclass
class Keyed:
    """A command that succeeded, as it was sent: to be delivered again."""

    command: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    key: str
    result: Result


@dataclass
class Simulation:
    seed: int
    url: str
    rng: random.Random = field(init=False)
    app: O2C = field(init=False)
    projector: Projector = field(init=False)
    books: Books = field(init=False)
    step_no: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    skus: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)
    opportunities: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    last: Keyed | None = None
    keys: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.app = build_app(Settings(database_url=self.url, pool_size=2))
        self.projector = Projector(self.app.db, self.app.settings)
        self.books = Books(self.app)

    def close(self) -> None:
        self.app.close()

    # Running commands ------------------------------------------------------------------

    def today(self) -> date:
        return FIRST_DAY + timedelta(days=self.step_no // 8)

    def ctx(self, key: str | None = None, version: int | None = None) -> Context:
        return Context(actor=f"sim-{self.seed}", idempotency_key=key, expected_version=version,
                       today=self.today())

    def new_key(self) -> str:
        self.keys += 1
        return f"sim-{self.seed}-{self.keys}"

    def do(self, command: str, *args: Any, version: int | None = None,
           **kwargs: Any) -> Result | None:
        """Runs a command under a new key: a success records and answers at the head, a
        refusal (a named O2CError) records nothing."""
        key = self.new_key()
        head = self.app.db.head()
        try:
            result: Result = getattr(self.app, command)(self.ctx(key, version), *args, **kwargs)
        except O2CError:
            refused = True
        else:
            refused = False
        if refused:
            assert self.app.db.head() == head, f"{command} was refused but recorded"
            self.counts["refused"] += 1
            return None
        assert self.app.db.head() > head, f"{command} answered but recorded nothing"
        assert result.position == self.app.db.head(), command
        self.counts["accepted"] += 1
        self.last = Keyed(command, args, kwargs, key, result)
        return result

    def pick(self, items: list[str]) -> str | None:
        return self.rng.choice(items) if items else None

    def amount(self, low: str = "0.01", high: str = "500") -> str:
        cents = self.rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))
        return str(Decimal(cents) / 100)

    # The business ------------------------------------------------------------------------

    def lead(self) -> None:
        good = self.rng.random() > 0.1
        result = self.do("capture_lead", "Lee", f"Buyer {self.rng.randint(1, 50)}",
                         "lee@buyer.example" if good else "lee-at-buyer", "web")
        if result:
            self.leads.append(result.id)

    def judge(self) -> None:
        lead = self.pick(self.leads)
        if lead:
            if self.rng.random() < 0.7:
                self.do("qualify_lead", lead)
            else:
                self.do("disqualify_lead", lead, "no budget")

    def convert(self) -> None:
        lead = self.pick(self.leads)
        if lead:
            result = self.do("convert_lead", lead, {
                "title": "Deal", "amount": self.amount("100", "50000"),
                "expected_close_date": (self.today() + timedelta(days=30)).isoformat()})
            if result:
                self.customers.append(result.extra["customer_id"])
                self.opportunities.append(result.extra["opportunity_id"])

    def stage(self) -> None:
        opp = self.pick(self.opportunities)
        if opp:
            self.do("change_stage", opp, self.rng.choice([*OPEN_STAGES, "won", "nowhere"]))

    def close_deal(self) -> None:
        opp = self.pick(self.opportunities)
        if not opp:
            return
        if self.rng.random() < 0.3:
            self.do("lose_opportunity", opp, "price")
            return
        result = self.do("win_opportunity", opp, self.lines())
        if result:
            self.orders.append(result.extra["order_id"])

    def customer(self) -> None:
        result = self.do("register_customer", f"Cust {self.rng.randint(1, 99)}",
                         "ap@cust.example", credit_limit=self.rng.choice([None, "5000.00"]))
        if result:
            self.customers.append(result.id)

    def sku(self) -> None:
        sku = f"SKU-{self.rng.randint(1, 6)}"
        if self.do("register_stock_item", sku, sku) and sku not in self.skus:
            self.skus.append(sku)

    def receive(self) -> None:
        sku = self.pick(self.skus) or "SKU-NONE"
        self.do("receive_stock", sku, str(self.rng.randint(1, 40)), self.amount("0.50", "80"))

    def count(self) -> None:
        sku = self.pick(self.skus)
        if sku:
            on_hand = self.app.stock_item(sku).on_hand
            counted = max(0, int(on_hand) + self.rng.randint(-5, 3))
            self.do("adjust_stock", sku, str(counted), "cycle count")

    def lines(self) -> list[dict[str, str]]:
        chosen = self.rng.sample(self.skus, min(len(self.skus), self.rng.randint(1, 2)))
        lines = [{"sku": sku, "quantity": str(self.rng.randint(1, 9)),
                  "unit_price": self.amount("1", "120")} for sku in chosen]
        if not lines or self.rng.random() < 0.05:
            lines.append({"sku": "SKU-NONE", "quantity": "1", "unit_price": "1.00"})
        return lines

    def place(self) -> None:
        customer = self.pick(self.customers)
        if customer:
            result = self.do("place_sales_order", customer, self.lines())
            if result:
                self.orders.append(result.id)

    def fulfil(self) -> None:
        """Moves an order one step along: confirm, ship (part or all), invoice, pay."""
        order_id = self.pick(self.orders)
        if not order_id:
            return
        order = self.app.sales_order(order_id)
        if not order.confirmed or self.rng.random() < 0.05:
            self.do("confirm_order", order_id)
            return
        left = {line["sku"]: line["quantity"] - order.shipped[line["sku"]]
                for line in order.lines}
        unbilled = any(order.shipped[s] != order.invoiced[s] for s in order.shipped)
        if any(left.values()) and (not unbilled or self.rng.random() < 0.6):
            ship = [{"sku": sku, "quantity": str(q if self.rng.random() < 0.6
                                                 else max(Decimal(1), q // 2))}
                    for sku, q in left.items() if q]
            self.do("ship_order", order_id, ship)
        elif unbilled:
            self.do("invoice_order", order_id)
        else:
            open_balance = order.open_balance
            how = self.rng.random()
            amount = (open_balance if how < 0.6 else open_balance / 2 if how < 0.8
                      else open_balance + Decimal("0.01"))
            self.do("pay_order", order_id, str(amount.quantize(Decimal("0.01"))), "ach")

    def credit_or_cancel(self) -> None:
        order_id = self.pick(self.orders)
        if not order_id:
            return
        order = self.app.sales_order(order_id)
        if order.invoices and self.rng.random() < 0.5:
            invoice = self.rng.choice(order.invoices)
            self.do("credit_invoice", order_id, invoice["invoice_number"], "wrong price")
        else:
            self.do("cancel_order", order_id, "changed plans")

    def entry(self) -> None:
        amount = self.amount("1", "900")
        credit = amount if self.rng.random() > 0.1 else str(Decimal(amount) + Decimal("0.01"))
        result = self.do("post_journal_entry", "manual", [
            {"account": self.rng.choice(["1000", "5000", "3000", "1100"]), "debit": amount},
            {"account": self.rng.choice(["2000", "3000"]), "credit": credit}],
            date=(self.today() - timedelta(days=self.rng.choice([0, 0, 3, 40]))).isoformat())
        if result:
            self.entries.append(result.id)

    def reverse(self) -> None:
        entry = self.pick(self.entries)
        if entry:
            self.do("reverse_journal_entry", entry)

    def close_period(self) -> None:
        self.do("close_period", (self.today() - timedelta(days=20)).isoformat())

    # Deliveries and retries ----------------------------------------------------------------

    def redeliver(self) -> None:
        """The last command again under its key: the first answer, nothing recorded."""
        if self.last is None:
            return
        last, head = self.last, self.app.db.head()
        again: Result = getattr(self.app, last.command)(self.ctx(last.key), *last.args,
                                                        **last.kwargs)
        assert again.replayed, last.command
        assert again.as_dict() == last.result.as_dict(), last.command
        assert self.app.db.head() == head, "a duplicate delivery recorded something"
        self.counts["duplicates"] += 1

    def reuse_key(self) -> None:
        if self.last is None:
            return
        head = self.app.db.head()
        try:
            self.app.capture_lead(self.ctx(self.last.key), "Other", "Body", "x@y.example", "web")
        except IdempotencyKeyReusedError:
            pass
        else:
            raise AssertionError("a key reused for another command was accepted")
        assert self.app.db.head() == head
        self.counts["reused keys"] += 1

    def stale(self) -> None:
        order_id = self.pick(self.orders)
        if not order_id:
            return
        version = self.app.sales_order(order_id).version - 1
        head = self.app.db.head()
        try:
            self.app.cancel_order(self.ctx(self.new_key(), version), order_id, "stale")
        except VersionMismatchError:
            pass
        else:
            raise AssertionError("a stale If-Match was accepted")
        assert self.app.db.head() == head

    # Faults -----------------------------------------------------------------------------------

    def failing_write(self) -> None:
        """The next write fails once, before or after it commits; whatever the caller got
        (an error, or an answer the runner found in the log), the client delivers it
        again under its key: it is recorded exactly once and answered alike."""
        after = self.rng.random() < 0.5
        real = self.app.save
        failed: list[bool] = []

        def save(*objs: Any, **kwargs: Any) -> Any:
            if failed:
                return real(*objs, **kwargs)
            failed.append(True)
            if not after:
                raise OperationalError("injected: the store went away before the commit")
            real(*objs, **kwargs)
            raise OperationalError("injected: the connection died after the commit")

        key = self.new_key()

        def call() -> Result:
            return self.app.register_customer(self.ctx(key), "Flaky Co", "ap@flaky.example")

        head = self.app.db.head()
        self.app.save = save  # type: ignore[method-assign]
        first: Result | None = None
        try:
            first = call()
        except OperationalError:
            self.counts["write failures surfaced"] += 1
        finally:
            del self.app.save
        assert failed, "the injected write failure did not happen"
        answer = first or call()  # the client retries what failed, under its key
        again = call()  # and delivers it once more
        assert again.replayed, "a delivery under a recorded key was not answered from the log"
        assert answer.as_dict() == again.as_dict(), "a retry answered differently"
        assert self.app.db.head() == head + 1, "a failed write recorded twice or not at all"
        self.customers.append(again.id)
        self.counts["writes failed after commit" if after else "writes failed before commit"] += 1

    def failing_batch(self) -> None:
        """One read model's handler raises mid-batch: the batch rolls back whole; the
        next catch-up applies it."""
        name = self.rng.choice(self.projector.names())
        handlers = self.projector._handlers[name]
        original = dict(handlers)
        fired: list[bool] = []

        def arm(handler: Callable[..., None]) -> Callable[..., None]:
            def failing(*args: Any) -> None:
                if not fired and self.rng.random() < 0.5:
                    fired.append(True)
                    raise InjectedFault(f"injected: {name} handler failed mid-batch")
                handler(*args)
            return failing

        for topic, handler in original.items():
            handlers[topic] = arm(handler)
        try:
            self.projector.catch_up()
        except InjectedFault:
            self.counts["projector faults raised"] += 1
        finally:
            handlers.update(original)
        if fired:
            self.counts["projector batches failed"] += 1
        self.check_read_models()

    def restart_projector(self) -> None:
        self.projector = Projector(self.app.db, self.app.settings)
        self.counts["projector restarts"] += 1
        self.check_read_models()

    def rebuild_one(self) -> None:
        name = self.rng.choice(self.projector.names())
        rebuild(self.projector, [name])
        self.counts["single rebuilds"] += 1
        self.check_read_models()

    def project_a_little(self) -> None:
        self.projector.step(limit=self.rng.randint(1, 40))
        self.counts["partial projections"] += 1

    def check_read_models(self) -> None:
        self.books.check_read_models(self.projector, rebuilt=False)

    # Driving it ----------------------------------------------------------------------------

    ACTIONS: tuple[tuple[str, int], ...] = (
        ("lead", 5), ("judge", 3), ("convert", 4), ("stage", 3), ("close_deal", 4),
        ("customer", 2), ("sku", 2), ("receive", 6), ("count", 2), ("place", 7),
        ("fulfil", 22), ("credit_or_cancel", 3), ("entry", 3), ("reverse", 1),
        ("close_period", 1), ("redeliver", 5), ("reuse_key", 1), ("stale", 1),
        ("failing_write", 3), ("failing_batch", 2), ("restart_projector", 1),
        ("rebuild_one", 1), ("project_a_little", 4))

    def run(self, steps: int) -> None:
        names = [name for name, _ in self.ACTIONS]
        weights = [weight for _, weight in self.ACTIONS]
        for _ in range(3):  # something to sell from the start
            self.sku()
            self.receive()
        self.customer()
        for number in range(steps):
            self.step_no = number
            action = self.rng.choices(names, weights)[0]
            self.counts["step:" + action] += 1
            getattr(self, action)()
            self.books.check()
        self.books.check_read_models(self.projector)
