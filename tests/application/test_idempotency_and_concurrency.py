"""Retries, versions, concurrent writers and bounded reads, on both stores.

- A retried command (same Idempotency-Key, same input) answers as the first
  time and records nothing, in this process, after a restart, and when the
  retries race each other; the same key with other input is refused.
- ``expected_version`` (If-Match) guards every update.
- Writers racing on one SKU lose no reservation, issue or posting.
- Loading a SKU with a long history, or posting to a busy account, reads a
  bounded number of stored events.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from o2c.application import O2C, Context, Result
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.errors import (
    ConcurrencyError,
    IdempotencyKeyReusedError,
    InsufficientStockError,
    NotFoundError,
    VersionMismatchError,
)
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.ledger_account import LedgerAccount
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem

D = Decimal
ZERO = D(0)
TODAY = date(2026, 3, 2)
CTX = Context(actor="test", today=TODAY)


def keyed(key: str, **kwargs: Any) -> Context:
    return Context(actor="clerk", idempotency_key=key, today=TODAY, **kwargs)


def answer(result: Result) -> tuple[Any, ...]:
    return (result.id, result.version, result.position, result.as_dict())


def stocked(app: O2C) -> str:
    app.register_stock_item(CTX, "S-1", "Sensor")
    app.receive_stock(CTX, "S-1", "100", "4.00")
    return app.register_customer(CTX, "Buyer", "buyer@example.com").id


def postings(app: O2C) -> list[JournalEntry.Posted]:
    found = []
    for notification in app.recorder.select_notifications(start=1, limit=1_000_000):
        event = app.mapper.to_domain_event(notification)
        if isinstance(event, JournalEntry.Posted):
            found.append(event)
    return found


def balance(app: O2C, account: str) -> Decimal:
    return sum((line["debit"] - line["credit"] for entry in postings(app)
                for line in entry.lines if line["account"] == account), D(0))


# Idempotency -------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_input_answers_the_same_and_records_nothing(
        app: O2C) -> None:
    customer = stocked(app)
    steps: list[tuple[str, Callable[[Context], Result]]] = []
    order: dict[str, str] = {}

    def place(ctx: Context) -> Result:
        result = app.place_sales_order(ctx, customer, [
            {"sku": "S-1", "quantity": "3", "unit_price": "9.99"}])
        order["id"] = result.id
        return result

    steps = [
        ("receive", lambda ctx: app.receive_stock(ctx, "S-1", "5", "4.10")),
        ("place", place),  # creates an aggregate with a new random id
        ("confirm", lambda ctx: app.confirm_order(ctx, order["id"])),
        ("ship", lambda ctx: app.ship_order(ctx, order["id"], [{"sku": "S-1", "quantity": "3"}])),
        ("invoice", lambda ctx: app.invoice_order(ctx, order["id"])),
        ("pay", lambda ctx: app.pay_order(ctx, order["id"], "10.00", "wire")),
        ("lead", lambda ctx: app.capture_lead(ctx, "Ann", "Ann Co", "ann@ann.example", "web")),
        ("entry", lambda ctx: app.post_journal_entry(ctx, "accrual", [
            {"account": "5000", "debit": "1.00"}, {"account": "2000", "credit": "1.00"}])),
    ]
    for name, step in steps:
        first = step(keyed(f"key-{name}"))
        assert not first.replayed
        head = app.db.head()
        assert first.position == head
        again = step(keyed(f"key-{name}"))
        assert again.replayed, name
        assert answer(again) == answer(first), name
        assert app.db.head() == head, f"{name}: the retry recorded events"
    so = app.sales_order(order["id"])
    assert (so.shipped["S-1"], so.paid, len(so.invoices)) == (D(3), D("10.00"), 1)
    assert app.stock_item("S-1").on_hand == 102  # 100 + 5 received once - 3 shipped once


def test_the_same_key_with_other_input_or_another_command_is_refused(app: O2C) -> None:
    customer = stocked(app)
    app.receive_stock(keyed("k-1"), "S-1", "2", "4.00")
    head = app.db.head()
    for retry in (lambda: app.receive_stock(keyed("k-1"), "S-1", "3", "4.00"),
                  lambda: app.receive_stock(keyed("k-1"), "S-1", "2", "4.01"),
                  lambda: app.adjust_stock(keyed("k-1"), "S-1", "2", "count"),
                  lambda: app.place_sales_order(keyed("k-1"), customer, [
                      {"sku": "S-1", "quantity": "2", "unit_price": "4.00"}])):
        with pytest.raises(IdempotencyKeyReusedError):
            retry()
    assert app.db.head() == head
    assert app.stock_item("S-1").on_hand == 102


def test_a_key_survives_a_restart(settings: Settings) -> None:
    first_app = build_app(settings)
    try:
        stocked(first_app)
        first = first_app.receive_stock(keyed("receipt-7"), "S-1", "2", "4.00")
        head = first_app.db.head()
    finally:
        first_app.close()
    restarted = build_app(settings)
    try:
        again = restarted.receive_stock(keyed("receipt-7"), "S-1", "2", "4.00")
        assert again.replayed
        assert answer(again) == answer(first)
        assert restarted.db.head() == head
        with pytest.raises(IdempotencyKeyReusedError):
            restarted.receive_stock(keyed("receipt-7"), "S-1", "9", "4.00")
        assert restarted.stock_item("S-1").on_hand == 102
    finally:
        restarted.close()


@pytest.mark.parametrize("shared", [False, True], ids=["own-instances", "one-instance"])
def test_retries_racing_each_other_record_the_command_once(settings: Settings,
                                                           shared: bool) -> None:
    setup = build_app(settings)
    apps = [setup] * 6 if shared else [setup, *(build_app(settings) for _ in range(5))]
    results: list[Result] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(len(apps))

    def retry(app: O2C) -> None:
        gate.wait()
        try:
            results.append(app.capture_lead(keyed("lead-form-1"), "Ann", "Ann Co",
                                            "ann@ann.example", "web"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=retry, args=(a,)) for a in apps]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(results) == len(apps)
        assert all(answer(r) == answer(results[0]) for r in results)  # one lead, one answer
        assert sum(not r.replayed for r in results) == 1
        leads = [e for e in all_events(setup) if e.__class__.__qualname__ == "Lead.Captured"]
        assert len(leads) == 1
        assert str(leads[0].originator_id) == results[0].id
    finally:
        for app in set(apps):
            app.close()


def all_events(app: O2C) -> list[Any]:
    return [app.mapper.to_domain_event(n)
            for n in app.recorder.select_notifications(start=1, limit=1_000_000)]


# Expected versions ---------------------------------------------------------------------------


def test_an_expected_version_that_is_not_current_is_refused(app: O2C) -> None:
    customer = stocked(app)
    item = app.stock_item("S-1")
    order = app.place_sales_order(CTX, customer, [
        {"sku": "S-1", "quantity": "1", "unit_price": "5.00"}])
    lead = app.capture_lead(CTX, "Ann", "Ann Co", "ann@ann.example", "web")
    head = app.db.head()
    stale: list[Callable[[Context], object]] = [
        lambda ctx: app.receive_stock(ctx, "S-1", "1", "4.00"),
        lambda ctx: app.adjust_stock(ctx, "S-1", "99", "count"),
        lambda ctx: app.confirm_order(ctx, order.id),
        lambda ctx: app.cancel_order(ctx, order.id, "no"),
        lambda ctx: app.qualify_lead(ctx, lead.id),
    ]
    assert (order.version, lead.version, item.version) == (1, 1, 2)
    for command in stale:
        for wrong in (0, 3, 99):  # none of them is at any of these
            with pytest.raises(VersionMismatchError):
                command(Context(actor="t", expected_version=wrong, today=TODAY))
    assert app.db.head() == head
    done = app.receive_stock(Context(expected_version=item.version, today=TODAY), "S-1", "1",
                             "4.00")
    assert done.version == item.version + 1
    assert app.confirm_order(Context(expected_version=order.version, today=TODAY),
                             order.id).version == order.version + 1
    with pytest.raises(VersionMismatchError):  # the version just moved on
        app.cancel_order(Context(expected_version=order.version, today=TODAY), order.id, "x")


def test_two_clerks_with_the_same_version_one_wins(app: O2C) -> None:
    customer = stocked(app)
    order = app.place_sales_order(CTX, customer, [
        {"sku": "S-1", "quantity": "1", "unit_price": "5.00"}])
    seen = Context(actor="clerk-a", expected_version=order.version, today=TODAY)
    app.confirm_order(seen, order.id)
    with pytest.raises(VersionMismatchError):
        app.cancel_order(Context(actor="clerk-b", expected_version=order.version,
                                 today=TODAY), order.id, "changed mind")
    assert app.sales_order(order.id).status == "confirmed"


# Concurrent writers ---------------------------------------------------------------------------


class Ledger:
    """What each worker says it did, to compare with what was stored."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.received = D(0)
        self.shipped: Counter[str] = Counter()
        self.errors: list[BaseException] = []

    def note(self, outcome: str, *, received: Decimal = ZERO, order: str = "",
             shipped: Decimal = ZERO) -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            self.received += received
            if order:
                self.shipped[order] += shipped  # type: ignore[assignment]


def work(app: O2C, orders: list[str], ledger: Ledger, gate: threading.Barrier) -> None:
    """Confirms each order, ships it in two parts, and receives a little stock between."""
    gate.wait()
    try:
        _work(app, orders, ledger)
    except BaseException as error:
        ledger.errors.append(error)


def _work(app: O2C, orders: list[str], ledger: Ledger) -> None:
    for number, order in enumerate(orders):
        try:
            app.confirm_order(CTX, order)
        except (InsufficientStockError, ConcurrencyError) as error:
            ledger.note(type(error).__name__)
            continue
        ledger.note("confirmed")
        for part in ("2", "3"):
            try:
                app.ship_order(CTX, order, [{"sku": "HOT", "quantity": part}])
            except ConcurrencyError:
                ledger.note("ship conflict")
                continue
            ledger.note("shipped", order=order, shipped=D(part))
        if number % 2:
            try:
                app.receive_stock(CTX, "HOT", "3", "2.50")
            except ConcurrencyError:
                ledger.note("receive conflict")
                continue
            ledger.note("received", received=D(3))


@pytest.mark.parametrize("shared", [False, True], ids=["own-instances", "one-instance"])
def test_concurrent_writers_on_one_sku_lose_no_reservation_or_issue(settings: Settings,
                                                                     shared: bool) -> None:
    setup = build_app(settings)
    setup.register_stock_item(CTX, "HOT", "Hot SKU")
    setup.receive_stock(CTX, "HOT", "40", "1.00")
    setup.receive_stock(CTX, "HOT", "30", "2.00")
    customer = setup.register_customer(CTX, "C", "c@example.com").id
    orders = [setup.place_sales_order(CTX, customer, [
        {"sku": "HOT", "quantity": "6", "unit_price": "9.00"}]).id for _ in range(20)]
    workers = 4
    apps = [setup] * workers if shared else [build_app(settings) for _ in range(workers)]
    ledger = Ledger()
    gate = threading.Barrier(workers)
    threads = [threading.Thread(target=work, args=(apps[i], orders[i::workers], ledger, gate))
               for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for app in set(apps) - {setup}:
        app.close()
    setup.close()

    assert ledger.errors == []
    check = build_app(settings)  # a fresh process reads what was stored
    try:
        item = check.stock_item("HOT")
        stored = {o: check.sales_order(o) for o in orders}
        confirmed = [o for o, so in stored.items() if so.confirmed]
        assert ledger.outcomes["confirmed"] == len(confirmed) > 0
        assert sum(ledger.outcomes.values()) >= len(orders)
        shipped = sum(ledger.shipped.values(), D(0))
        for order, so in stored.items():
            assert so.shipped["HOT"] == ledger.shipped.get(order, D(0))
            assert so.shipped["HOT"] <= so.lines[0]["quantity"]
        assert item.on_hand == 70 + ledger.received - shipped
        assert item.reserved == sum((6 - stored[o].shipped["HOT"] for o in confirmed), D(0))
        assert item.reserved == sum(item.reservations.values(), D(0))
        assert D(0) <= item.reserved <= item.on_hand
        # 70 on hand to start: confirming 6 at a time must never promise more than there was.
        assert 6 * len(confirmed) <= 70 + ledger.received
        if not ledger.outcomes["ConcurrencyError"]:  # no one ran out of retries...
            assert ledger.outcomes["InsufficientStockError"] > 0  # ...and 120 > 70 + receipts
        # The books agree: Inventory equals the stock value, COGS the cost of what shipped.
        assert balance(check, "1200") == item.value
        assert balance(check, "5000") == sum((so.cost for so in stored.values()), D(0))
        assert item.value == D("100.00") + D("7.50") * ledger.outcomes["received"] - balance(
            check, "5000")
    finally:
        check.close()


# Bounded reads --------------------------------------------------------------------------------


class Reads:
    """Counts stored events (and snapshots) the application reads, per aggregate id."""

    def __init__(self, app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
        self.by_id: Counter[UUID] = Counter()
        recorders = {id(r): r for r in (app.recorder, app.snapshots.recorder
                                        if app.snapshots else None) if r is not None}
        for recorder in recorders.values():
            original = recorder.select_events

            def counting(originator_id: Any, *args: Any, _original: Any = original,
                         **kwargs: Any) -> Any:
                rows = _original(originator_id, *args, **kwargs)
                self.by_id[UUID(str(originator_id))] += len(rows)
                return rows

            monkeypatch.setattr(recorder, "select_events", counting)

    @property
    def total(self) -> int:
        return sum(self.by_id.values())


def test_a_sku_with_a_long_history_loads_from_a_snapshot(settings: Settings,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    writer = build_app(settings)
    try:
        writer.register_stock_item(CTX, "HOT-1", "Popular part")
        for number in range(300):
            writer.receive_stock(CTX, "HOT-1", "1", f"{1 + number % 7}.00")
        expected = writer.stock_item("HOT-1").state_digest()
    finally:
        writer.close()
    fresh = build_app(settings)  # a new process: nothing cached
    try:
        reads = Reads(fresh, monkeypatch)
        item = fresh.stock_item("HOT-1")
        assert item.version == 301
        assert item.state_digest() == expected
        interval = O2C.snapshotting_intervals[StockItem]
        assert reads.by_id[item.id] <= interval  # a snapshot and what followed, not 301
        assert reads.by_id[item.id] <= 2  # the snapshot at 300 and event 301
        reads.by_id.clear()
        fresh.receive_stock(CTX, "HOT-1", "1", "1.00")  # cached now: only what is new
        assert reads.by_id[item.id] <= 1
    finally:
        fresh.close()


def test_invoicing_after_300_postings_to_receivable_reads_no_account_history(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = build_app(settings)
    try:
        customer = stocked(writer)
        busy, next_order = (writer.place_sales_order(CTX, customer, [
            {"sku": "S-1", "quantity": "1", "unit_price": "400.00"}]).id for _ in range(2))
        for order in (busy, next_order):
            writer.confirm_order(CTX, order)
            writer.ship_order(CTX, order, [{"sku": "S-1", "quantity": "1"}])
        writer.invoice_order(CTX, busy)
        for _ in range(299):  # 1 invoice + 299 payments: 300 postings to 1100
            writer.pay_order(CTX, busy, "1.00", "instalment")
        assert sum(1 for e in postings(writer) for line in e.lines
                   if line["account"] == "1100") == 300
    finally:
        writer.close()
    fresh = build_app(settings)
    try:
        reads = Reads(fresh, monkeypatch)
        fresh.invoice_order(CTX, next_order)
        receivable = LedgerAccount.create_id("1100")
        assert reads.by_id[receivable] <= 1  # its Opened event, once per process at most
        assert not {e.originator_id for e in postings(fresh)} & set(reads.by_id)  # no entries
        order_reads = reads.by_id[UUID(next_order)]
        assert order_reads <= O2C.snapshotting_intervals[SalesOrder]
        assert reads.total <= order_reads + 3 + 2  # + 3 accounts + the periods record
        reads.by_id.clear()
        fresh.pay_order(CTX, next_order, "1.00", "deposit")  # warm: no account reads at all
        assert reads.by_id[receivable] == 0
        assert reads.total <= 2
    finally:
        fresh.close()


def test_a_journal_entry_read_by_id_is_a_lookup_not_a_scan(app: O2C,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(50):
        app.post_journal_entry(CTX, "cash sale", [{"account": "1000", "debit": "1.00"},
                                                  {"account": "4000", "credit": "1.00"}])
    last = postings(app)[-1].originator_id
    reads = Reads(app, monkeypatch)
    assert app.journal_entry(last).total == D("1.00")
    assert reads.total <= 1
    with pytest.raises(NotFoundError):
        app.journal_entry("00000000-0000-4000-8000-000000000000")


def test_a_retry_refused_because_its_first_delivery_just_committed_gets_the_first_answer(
        app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry looked its key up before the first delivery committed, then found the
    order confirmed: it answers with the first delivery's answer, not 409."""
    customer = stocked(app)
    order = app.place_sales_order(CTX, customer, [{"sku": "S-1", "quantity": "2",
                                                   "unit_price": "9.00"}]).id
    real_replay, first, lookups = app.runner._replay, [], []

    def lookup_then_lose_the_race(key: str, fingerprint: str) -> Result | None:
        lookups.append(key)
        if len(lookups) == 1:  # the retry's first lookup: nothing yet ...
            first.append(app.confirm_order(keyed("K-race"), order))  # ... then A commits
            return None
        return real_replay(key, fingerprint)

    monkeypatch.setattr(app.runner, "_replay", lookup_then_lose_the_race)
    retried = app.confirm_order(keyed("K-race"), order)
    assert answer(retried)[:3] == answer(first[0])[:3]
    assert retried.replayed
    assert app.db.head() == first[0].position  # the retry recorded nothing
    monkeypatch.setattr(app.runner, "_replay", real_replay)
    with pytest.raises(Exception, match="confirmed"):  # without the key: refused
        app.confirm_order(CTX, order)
