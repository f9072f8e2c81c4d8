"""The application service: one use case per command of the contract.

Each use case loads the aggregates it needs, lets the domain check every rule
(a refused command raises and records nothing), and saves every changed
aggregate (business aggregates and the journal entry they cause) in one
atomic write, together with the actor, the idempotency key and the answer.
A write that loses an optimistic-concurrency race is retried from a fresh
load a bounded number of times, then refused with ``ConcurrencyError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoding

from o2c.config import Settings
from o2c.domain import ledger_account as chart
from o2c.domain.accounting_period import AccountingPeriods
from o2c.domain.customer import Customer
from o2c.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    ControlAccountError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    UnknownReferenceError,
    VersionMismatchError,
)
from o2c.domain.journal_entry import JournalEntry
from o2c.domain.lead import Lead
from o2c.domain.ledger_account import LedgerAccount
from o2c.domain.opportunity import Opportunity
from o2c.domain.sales_order import SalesOrder, check_order_lines
from o2c.domain.stock_item import StockItem, check_sku
from o2c.domain.values import a_date, text
from o2c.persistence.audit_rows import COMMANDS_TABLE, CommandRecord, dumps
from o2c.persistence.locks import AggregateLocks
from o2c.persistence.sql import Database

MAX_ATTEMPTS = 10
#: How long a stock item that lost a write race counts as hot (see ``O2C._hold``).
HOT_SECONDS = 10.0
#: Accounts whose balance must equal a subledger (open invoices; stock value).
CONTROL_ACCOUNTS = frozenset({chart.RECEIVABLE, chart.INVENTORY})
A = TypeVar("A", bound=Aggregate)


class DateAsISO(Transcoding):
    """Stores ``datetime.date`` values as ISO 8601 text."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


@dataclass(frozen=True)
class Context:
    """Who runs a command and how: actor, idempotency key, expected version, business date."""

    actor: str = "system"
    idempotency_key: str | None = None
    expected_version: int | None = None
    today: date | None = None

    def business_date(self) -> date:
        """The date postings of this command take effect (UTC today unless given)."""
        return self.today or datetime.now(UTC).date()


@dataclass
class Result:
    """A command's answer: the aggregate's id and version, and the log position written."""

    id: str
    version: int
    position: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The answer as plain JSON-ready values."""
        return {"id": self.id, "version": self.version, "position": self.position,
                **self.extra}


class O2C(Application[UUID]):
    """Order to cash: the use cases over one event-sourced log."""

    name = "O2C"
    snapshotting_intervals = {StockItem: 100, SalesOrder: 100}

    def __init__(self, settings: Settings, *, env: Mapping[str, str],
                 locks: AggregateLocks | None = None) -> None:
        """Built by ``o2c.bootstrap.build_app``: ``env`` is eventsourcing's environment
        for the store, ``locks`` the hot-aggregate locks (none: no contention)."""
        self.settings = settings
        super().__init__(env=env)
        self.db = Database(self.recorder)
        self.locks = locks or AggregateLocks()
        self._hot: dict[UUID, float] = {}
        self._attempt = threading.local()
        self.places = self.settings.places
        self._account_types: dict[str, str] = {}
        self.ensure_chart()

    def construct_env(self, name: str, env: Any = None) -> Any:
        # Only the explicit environment counts: eventsourcing would otherwise
        # let any POSTGRES_* or SQLITE_* variable of the shell override the URL.
        environment = super().construct_env(name, {})
        environment.clear()
        environment.update(env or {})
        if self.snapshotting_intervals:
            environment["IS_SNAPSHOTTING_ENABLED"] = "y"
        return environment

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """As eventsourcing's ``save``, for aggregates only (all that o2c saves).

        eventsourcing's asks of every object whether it is an event or an
        aggregate with ``isinstance`` against runtime-checkable protocols, which
        inspect the class's attributes on each call in Python 3.11 (a twelfth of
        a command's time).
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            assert isinstance(obj, Aggregate), obj
            processing_event.events.extend(obj.collect_events())
            processing_event.aggregates[obj.id] = obj
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    # Running commands ---------------------------------------------------------------

    def _run(self, ctx: Context, command: str, payload: Mapping[str, Any],
             action: Callable[[], tuple[Result, Sequence[Aggregate]]]) -> Result:
        fingerprint = hashlib.sha256(dumps([command, payload]).encode()).hexdigest()
        key = ctx.idempotency_key
        if key is not None:
            prior = self._replay(key, fingerprint)
            if prior is not None:
                return prior
        for attempt in range(MAX_ATTEMPTS):
            aggregates: Sequence[Aggregate] = ()
            with contextlib.ExitStack() as held:
                self._attempt.held, self._attempt.retrying = held, attempt > 0
                try:
                    result, aggregates = action()
                    record = CommandRecord(
                        actor=ctx.actor, idempotency_key=key, command=command,
                        fingerprint=fingerprint, result=dumps(
                            {"id": result.id, "version": result.version,
                             "extra": result.extra}))
                    recordings = self.save(*aggregates, o2c=record)
                    self._cache(aggregates)
                except IntegrityError:
                    lost = True
                    now = time.monotonic()
                    for aggregate in aggregates:
                        if isinstance(aggregate, StockItem):
                            self._hot[aggregate.id] = now
                else:
                    lost = False
                finally:
                    self._attempt.held = None
            if lost:
                # Either another writer got to one of these aggregates first (retry
                # from a fresh load, holding the hot ones' locks) or the same key was
                # just used (answer as then).
                if key is not None:
                    prior = self._replay(key, fingerprint)
                    if prior is not None:
                        return prior
                time.sleep(random.uniform(0, 0.004 * 2**attempt))  # noqa: S311 - jitter
                continue
            result.position = recordings[-1].notification.id if recordings else self.db.head()
            return result
        raise ConcurrencyError(f"{command}: the data kept changing under concurrent writers; "
                               "try again")

    def close(self) -> None:
        self.locks.close()
        super().close()

    def _hold_skus(self, skus: Iterable[object]) -> None:
        ids = []
        for sku in skus:
            with contextlib.suppress(InvalidInputError):  # the read that follows refuses it
                ids.append(StockItem.create_id(check_sku(sku)))
        self._hold(ids)

    def _hold(self, ids: Iterable[UUID]) -> None:
        """Holds, until this attempt's write commits, the locks of the stock items it is
        about to read and write, if they are hot: one of them lost a write race in
        this process within ``HOT_SECONDS``, or this attempt is a retry. Uncontended
        items pay nothing; contended ones stop wasting commands on lost races."""
        held = getattr(self._attempt, "held", None)
        wanted = list(ids)
        if held is None or not wanted:
            return
        now = time.monotonic()
        if self._attempt.retrying or any(now - self._hot.get(i, -HOT_SECONDS) < HOT_SECONDS
                                         for i in wanted):
            held.enter_context(self.locks.hold(wanted))

    def _cache(self, aggregates: Sequence[Aggregate]) -> None:
        # eventsourcing does not cache what it saves when fast-forwarding; an
        # aggregate just saved is the stored state, so the next command on it
        # reads only what others wrote since (usually nothing) instead of its
        # snapshot and every event after it.
        cache = self.repository.cache
        if cache is not None:
            for aggregate in aggregates:
                cache.put(aggregate.id, aggregate)

    def _replay(self, key: str, fingerprint: str) -> Result | None:
        with self.db.transaction(write=False) as cur:
            row = cur.execute(
                f"SELECT fingerprint, result, last_position FROM {self.db.table(COMMANDS_TABLE)}"
                " WHERE idempotency_key = ?", (key,)).fetchone()
        if row is None:
            return None
        if row[0] != fingerprint:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used for a different command or body")
        stored = json.loads(row[1])
        return Result(id=stored["id"], version=stored["version"], position=int(row[2]),
                      extra=stored["extra"], replayed=True)

    def _get(self, cls: type[A], aggregate_id: UUID | str, what: str, *,
             reference: bool = False) -> A:
        error = UnknownReferenceError if reference else NotFoundError
        try:
            uid = aggregate_id if isinstance(aggregate_id, UUID) else UUID(str(aggregate_id))
        except ValueError:
            raise error(f"no {what} {aggregate_id!r}") from None
        try:
            aggregate: Aggregate = self.repository.get(uid, projector_func=_project)
        except AggregateNotFoundError:
            raise error(f"no {what} {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise error(f"no {what} {aggregate_id}")
        return aggregate

    @staticmethod
    def _check_version(ctx: Context, aggregate: Aggregate) -> None:
        if ctx.expected_version is not None and ctx.expected_version != aggregate.version:
            raise VersionMismatchError(f"expected version {ctx.expected_version}, "
                                       f"it is at version {aggregate.version}")

    def stock_item(self, sku: object, *, reference: bool = False) -> StockItem:
        """The stock item of a SKU."""
        try:
            code = check_sku(sku)
        except InvalidInputError:
            raise (UnknownReferenceError if reference else NotFoundError)(
                f"no stock item {sku!r}") from None
        return self._get(StockItem, StockItem.create_id(code), f"stock item {code}",
                         reference=reference)

    # Ledger ------------------------------------------------------------------------

    def ensure_chart(self) -> None:
        """Opens the default chart of accounts if it is not there yet."""
        missing: list[Aggregate] = [LedgerAccount(code=code, name=name, type=kind)
                                    for code, name, kind in chart.DEFAULT_CHART
                                    if LedgerAccount.create_id(code) not in self.repository]
        if AccountingPeriods.create_id() not in self.repository:
            missing.append(AccountingPeriods())
        if missing:
            with contextlib.suppress(IntegrityError):  # another process just opened it
                self.save(*missing, o2c=CommandRecord(actor="system", command="open_chart"))

    def account_types(self, codes: Iterable[str]) -> dict[str, str]:
        """The type of each known account among ``codes`` (cached: accounts never change)."""
        found: dict[str, str] = {}
        for code in codes:
            if not isinstance(code, str):
                continue
            if code not in self._account_types:
                try:
                    account: LedgerAccount = self.repository.get(LedgerAccount.create_id(code))
                except AggregateNotFoundError:
                    continue
                self._account_types[code] = account.type
            found[code] = self._account_types[code]
        return found

    def periods(self) -> AccountingPeriods | None:
        """How far the books are closed (None until a period is first closed)."""
        try:
            found: Aggregate = self.repository.get(AccountingPeriods.create_id())
        except AggregateNotFoundError:
            return None
        assert isinstance(found, AccountingPeriods)
        return found

    def _check_period_open(self, day: date) -> None:
        periods = self.periods()
        if periods is not None:
            periods.check_open(day)

    def _entry(self, lines: list[dict[str, Any]], *, when: date, memo: str, cause: str,
               source: Aggregate) -> list[JournalEntry]:
        """The journal entry a business event causes (none when every amount is zero)."""
        lines = [line for line in lines if line.get("debit") or line.get("credit")]
        if not lines:
            return []
        self._check_period_open(when)
        return [JournalEntry.post(
            date=when, memo=memo, lines=lines,
            accounts=self.account_types(line["account"] for line in lines),
            cause=cause, source_id=source.id, source_version=source.version,
            places=self.places)]

    def open_ledger_account(self, ctx: Context, code: object, name: object,
                            type: object) -> Result:
        """Adds an account to the chart of accounts."""
        def action() -> tuple[Result, list[Aggregate]]:
            account = LedgerAccount.open(code, name, type)
            if account.id in self.repository:
                raise AlreadyExistsError(f"account {account.code} already exists")
            return Result(account.code, account.version), [account]
        return self._run(ctx, "open_ledger_account",
                         {"code": code, "name": name, "type": type}, action)

    def post_journal_entry(self, ctx: Context, memo: object,
                           lines: Sequence[Mapping[str, object]],
                           date: object = None) -> Result:
        """Posts a manual, balanced journal entry, possibly back-dated."""
        def action() -> tuple[Result, list[Aggregate]]:
            codes = [line.get("account") for line in lines]
            entry = JournalEntry.post(
                date=ctx.business_date() if date is None else date, memo=memo, lines=lines,
                accounts=self.account_types(c for c in codes if isinstance(c, str)),
                places=self.places)
            self._check_period_open(entry.date)
            controlled = CONTROL_ACCOUNTS & {line["account"] for line in entry.lines}
            if controlled:
                raise ControlAccountError(
                    f"account {', '.join(sorted(controlled))} is a control account: only "
                    "invoices, payments, credit notes, receipts, shipments and counts post to "
                    "it, so it always equals its subledger")
            return Result(str(entry.id), entry.version), [entry]
        return self._run(ctx, "post_journal_entry",
                         {"memo": memo, "lines": list(lines), "date": date}, action)

    def reverse_journal_entry(self, ctx: Context, entry_id: object, memo: object = None,
                              date: object = None) -> Result:
        """Undoes an entry by posting its mirror image in an open period."""
        def action() -> tuple[Result, list[Aggregate]]:
            original = self.journal_entry(entry_id)
            self._check_version(ctx, original)
            reversal = original.reversal(
                date=ctx.business_date() if date is None else date,
                memo=memo or f"Reversal of {original.memo}", places=self.places)
            self._check_period_open(reversal.date)
            return (Result(str(reversal.id), reversal.version,
                           extra={"reverses": str(original.id)}), [original, reversal])
        return self._run(ctx, "reverse_journal_entry",
                         {"id": entry_id, "memo": memo, "date": date}, action)

    def close_period(self, ctx: Context, through: object, note: object = "") -> Result:
        """Closes the books through a date: later postings dated in it are refused."""
        def action() -> tuple[Result, list[Aggregate]]:
            periods = self.periods() or AccountingPeriods()
            periods.close(through, note)
            return (Result(str(periods.id), periods.version,
                           extra={"closed_through": str(periods.closed_through)}), [periods])
        return self._run(ctx, "close_period", {"through": through, "note": note}, action)

    # CRM ---------------------------------------------------------------------------

    def capture_lead(self, ctx: Context, name: object, company: object, email: object,
                     source: object) -> Result:
        """Captures a new lead."""
        def action() -> tuple[Result, list[Aggregate]]:
            lead = Lead.capture(name, company, email, source)
            return Result(str(lead.id), lead.version), [lead]
        return self._run(ctx, "capture_lead", {"name": name, "company": company,
                                               "email": email, "source": source}, action)

    def qualify_lead(self, ctx: Context, lead_id: object) -> Result:
        """Marks a lead as qualified."""
        def action() -> tuple[Result, list[Aggregate]]:
            lead = self._get(Lead, str(lead_id), "lead")
            self._check_version(ctx, lead)
            lead.qualify()
            return Result(str(lead.id), lead.version), [lead]
        return self._run(ctx, "qualify_lead", {"lead_id": lead_id}, action)

    def disqualify_lead(self, ctx: Context, lead_id: object, reason: object) -> Result:
        """Drops a lead, with the reason."""
        def action() -> tuple[Result, list[Aggregate]]:
            lead = self._get(Lead, str(lead_id), "lead")
            self._check_version(ctx, lead)
            lead.disqualify(reason)
            return Result(str(lead.id), lead.version), [lead]
        return self._run(ctx, "disqualify_lead", {"lead_id": lead_id, "reason": reason}, action)

    def convert_lead(self, ctx: Context, lead_id: object, opportunity: Mapping[str, object],
                     *, credit_limit: object = None, payment_terms_days: object = 30) -> Result:
        """Turns a lead into a customer (its company) and an opening opportunity."""
        def action() -> tuple[Result, list[Aggregate]]:
            lead = self._get(Lead, str(lead_id), "lead")
            self._check_version(ctx, lead)
            lead.check_convertible()
            customer = Customer.register(lead.company, lead.email, credit_limit=credit_limit,
                                         payment_terms_days=payment_terms_days,
                                         lead_id=lead.id, places=self.places)
            opp = Opportunity.open(customer.id, opportunity.get("title"),
                                   opportunity.get("amount"),
                                   opportunity.get("expected_close_date"), lead_id=lead.id,
                                   places=self.places)
            lead.convert(customer.id, opp.id)
            return (Result(str(lead.id), lead.version,
                           extra={"customer_id": str(customer.id),
                                  "opportunity_id": str(opp.id)}),
                    [lead, customer, opp])
        return self._run(ctx, "convert_lead",
                         {"lead_id": lead_id, "opportunity": dict(opportunity),
                          "credit_limit": credit_limit,
                          "payment_terms_days": payment_terms_days}, action)

    def register_customer(self, ctx: Context, name: object, email: object, *,
                          credit_limit: object = None,
                          payment_terms_days: object = 30) -> Result:
        """Registers a customer directly (not from a lead)."""
        def action() -> tuple[Result, list[Aggregate]]:
            customer = Customer.register(name, email, credit_limit=credit_limit,
                                         payment_terms_days=payment_terms_days,
                                         places=self.places)
            return Result(str(customer.id), customer.version), [customer]
        return self._run(ctx, "register_customer",
                         {"name": name, "email": email, "credit_limit": credit_limit,
                          "payment_terms_days": payment_terms_days}, action)

    def open_opportunity(self, ctx: Context, customer_id: object, title: object,
                         amount: object, expected_close_date: object) -> Result:
        """Opens a deal for an existing customer."""
        def action() -> tuple[Result, list[Aggregate]]:
            customer = self._get(Customer, str(customer_id), "customer", reference=True)
            opp = Opportunity.open(customer.id, title, amount, expected_close_date,
                                   places=self.places)
            return Result(str(opp.id), opp.version), [opp]
        return self._run(ctx, "open_opportunity",
                         {"customer_id": customer_id, "title": title, "amount": amount,
                          "expected_close_date": expected_close_date}, action)

    def change_stage(self, ctx: Context, opportunity_id: object, stage: object) -> Result:
        """Moves a deal to another open pipeline stage."""
        def action() -> tuple[Result, list[Aggregate]]:
            opp = self._get(Opportunity, str(opportunity_id), "opportunity")
            self._check_version(ctx, opp)
            opp.move_to(stage)
            return Result(str(opp.id), opp.version), [opp]
        return self._run(ctx, "change_stage", {"id": opportunity_id, "stage": stage}, action)

    def win_opportunity(self, ctx: Context, opportunity_id: object,
                        lines: Sequence[Mapping[str, object]]) -> Result:
        """Closes a deal as won and hands it to the ERP as a sales order."""
        def action() -> tuple[Result, list[Aggregate]]:
            opp = self._get(Opportunity, str(opportunity_id), "opportunity")
            self._check_version(ctx, opp)
            opp.check_winnable()
            customer = self._get(Customer, opp.customer_id, "customer")
            order = self._place(customer, lines, opportunity_id=opp.id)
            opp.win(order.id)
            return (Result(str(opp.id), opp.version, extra={"order_id": str(order.id)}),
                    [opp, order])
        return self._run(ctx, "win_opportunity", {"id": opportunity_id, "lines": list(lines)},
                         action)

    def lose_opportunity(self, ctx: Context, opportunity_id: object, reason: object) -> Result:
        """Closes a deal as lost."""
        def action() -> tuple[Result, list[Aggregate]]:
            opp = self._get(Opportunity, str(opportunity_id), "opportunity")
            self._check_version(ctx, opp)
            opp.lose(reason)
            return Result(str(opp.id), opp.version), [opp]
        return self._run(ctx, "lose_opportunity", {"id": opportunity_id, "reason": reason},
                         action)

    # Stock -------------------------------------------------------------------------

    def register_stock_item(self, ctx: Context, sku: object, name: object) -> Result:
        """Adds a SKU to the item master."""
        def action() -> tuple[Result, list[Aggregate]]:
            item = StockItem.register(sku, name)
            if item.id in self.repository:
                raise AlreadyExistsError(f"stock item {item.sku} already exists")
            return Result(item.sku, item.version), [item]
        return self._run(ctx, "register_stock_item", {"sku": sku, "name": name}, action)

    def receive_stock(self, ctx: Context, sku: object, quantity: object,
                      unit_cost: object) -> Result:
        """Receives goods at cost: Dr Inventory, Cr Accounts Payable."""
        def action() -> tuple[Result, list[Aggregate]]:
            self._hold_skus([sku])
            item = self.stock_item(sku)
            self._check_version(ctx, item)
            value = item.receive(quantity, unit_cost, places=self.places)
            entry = self._entry(
                [{"account": chart.INVENTORY, "debit": value},
                 {"account": chart.PAYABLE, "credit": value}],
                when=ctx.business_date(), memo=f"Receipt of {quantity} {item.sku}",
                cause="StockItem.Received", source=item)
            return Result(item.sku, item.version, extra={"value": str(value)}), [item, *entry]
        return self._run(ctx, "receive_stock",
                         {"sku": sku, "quantity": quantity, "unit_cost": unit_cost}, action)

    def adjust_stock(self, ctx: Context, sku: object, counted_quantity: object,
                     reason: object) -> Result:
        """Books a physical count: a loss to Inventory Adjustments, or a gain from it."""
        def action() -> tuple[Result, list[Aggregate]]:
            self._hold_skus([sku])
            item = self.stock_item(sku)
            self._check_version(ctx, item)
            value = item.adjust(counted_quantity, reason, places=self.places)
            loss = value < 0
            entry = self._entry(
                [{"account": chart.ADJUSTMENTS if loss else chart.INVENTORY, "debit": abs(value)},
                 {"account": chart.INVENTORY if loss else chart.ADJUSTMENTS,
                  "credit": abs(value)}],
                when=ctx.business_date(), memo=f"Count of {item.sku}: {reason}",
                cause="StockItem.Adjusted", source=item)
            return Result(item.sku, item.version, extra={"value": str(value)}), [item, *entry]
        return self._run(ctx, "adjust_stock", {"sku": sku, "counted_quantity": counted_quantity,
                                               "reason": reason}, action)

    # Orders ------------------------------------------------------------------------

    def _place(self, customer: Customer, lines: Sequence[Mapping[str, object]],
               opportunity_id: UUID | None = None) -> SalesOrder:
        checked = check_order_lines(lines, self.places)
        for line in checked:
            self.stock_item(line["sku"], reference=True)
        return SalesOrder.place(customer.id, checked, currency=self.settings.currency,
                                tax_rate=str(self.settings.tax_rate),
                                payment_terms_days=customer.payment_terms_days,
                                opportunity_id=opportunity_id)

    def place_sales_order(self, ctx: Context, customer_id: object,
                          lines: Sequence[Mapping[str, object]]) -> Result:
        """Places an order for an existing customer."""
        def action() -> tuple[Result, list[Aggregate]]:
            customer = self._get(Customer, str(customer_id), "customer", reference=True)
            order = self._place(customer, lines)
            return Result(str(order.id), order.version), [order]
        return self._run(ctx, "place_sales_order",
                         {"customer_id": customer_id, "lines": list(lines)}, action)

    def _order(self, ctx: Context, order_id: object) -> SalesOrder:
        order = self._get(SalesOrder, str(order_id), "sales order")
        self._check_version(ctx, order)
        return order

    def confirm_order(self, ctx: Context, order_id: object) -> Result:
        """Reserves stock for every line, all or nothing, and confirms the order."""
        def action() -> tuple[Result, list[Aggregate]]:
            order = self._order(ctx, order_id)
            order.check_confirmable()
            self._hold_skus(line["sku"] for line in order.lines)
            items = [(self.stock_item(line["sku"]), line["quantity"]) for line in order.lines]
            for item, quantity in items:
                item.check_reservable(quantity)
            for item, quantity in items:
                item.reserve(order.id, quantity)
            order.confirm()
            return Result(str(order.id), order.version), [order, *(i for i, _ in items)]
        return self._run(ctx, "confirm_order", {"id": order_id}, action)

    def ship_order(self, ctx: Context, order_id: object,
                   lines: Sequence[Mapping[str, object]]) -> Result:
        """Ships reserved stock (in part or whole) and posts its FIFO cost to COGS."""
        def action() -> tuple[Result, list[Aggregate]]:
            order = self._order(ctx, order_id)
            planned = order.plan_shipment(lines)
            self._hold_skus(planned.skus)
            items, costs = [], {}
            for sku, quantity in planned.lines:
                item = self.stock_item(sku)
                costs[sku] = item.issue(order.id, quantity, places=self.places)
                items.append(item)
            when = ctx.business_date()
            order.ship(planned, costs, when)
            cost = sum(costs.values(), Decimal(0))
            entry = self._entry([{"account": chart.COGS, "debit": cost},
                                 {"account": chart.INVENTORY, "credit": cost}],
                                when=when, memo=f"Shipment {order.shipments} of {order.number}",
                                cause="SalesOrder.Shipped", source=order)
            return (Result(str(order.id), order.version,
                           extra={"shipment_no": order.shipments, "cost": str(cost)}),
                    [order, *items, *entry])
        return self._run(ctx, "ship_order", {"id": order_id, "lines": list(lines)}, action)

    def invoice_order(self, ctx: Context, order_id: object) -> Result:
        """Invoices what shipped and is not yet invoiced: Dr Receivable, Cr Revenue and Tax."""
        def action() -> tuple[Result, list[Aggregate]]:
            order = self._order(ctx, order_id)
            when = ctx.business_date()
            invoice = order.invoice(when)
            entry = self._entry(
                [{"account": chart.RECEIVABLE, "debit": invoice.total},
                 {"account": chart.REVENUE, "credit": invoice.net},
                 {"account": chart.TAX_PAYABLE, "credit": invoice.tax}],
                when=when, memo=f"Invoice {invoice.invoice_number}",
                cause="SalesOrder.Invoiced", source=order)
            return (Result(str(order.id), order.version,
                           extra={"invoice_number": invoice.invoice_number,
                                  "net": str(invoice.net), "tax": str(invoice.tax),
                                  "total": str(invoice.total)}),
                    [order, *entry])
        return self._run(ctx, "invoice_order", {"id": order_id}, action)

    def pay_order(self, ctx: Context, order_id: object, amount: object,
                  reference: object = None) -> Result:
        """Records a customer payment against the order's open invoices: Dr Cash, Cr Receivable."""
        def action() -> tuple[Result, list[Aggregate]]:
            order = self._order(ctx, order_id)
            when = ctx.business_date()
            allocations = order.pay(amount, reference, when)
            received = sum((a["amount"] for a in allocations), Decimal(0))
            entry = self._entry([{"account": chart.CASH, "debit": received},
                                 {"account": chart.RECEIVABLE, "credit": received}],
                                when=when, memo=f"Payment on {order.number}",
                                cause="SalesOrder.PaymentReceived", source=order)
            return (Result(str(order.id), order.version,
                           extra={"open_balance": str(order.open_balance)}),
                    [order, *entry])
        return self._run(ctx, "pay_order",
                         {"id": order_id, "amount": amount, "reference": reference}, action)

    def credit_invoice(self, ctx: Context, order_id: object, invoice_number: object,
                       reason: object) -> Result:
        """Issues a credit note for an unpaid invoice, reversing its postings."""
        def action() -> tuple[Result, list[Aggregate]]:
            order = self._order(ctx, order_id)
            when = ctx.business_date()
            invoice = order.credit(invoice_number, reason, when)
            number = invoice.credit_note_number
            entry = self._entry(
                [{"account": chart.REVENUE, "debit": invoice.net},
                 {"account": chart.TAX_PAYABLE, "debit": invoice.tax},
                 {"account": chart.RECEIVABLE, "credit": invoice.total}],
                when=when, memo=f"Credit note {number} for {invoice.invoice_number}",
                cause="SalesOrder.InvoiceCredited", source=order)
            return (Result(str(order.id), order.version,
                           extra={"credit_note_number": number,
                                  "total": str(invoice.total)}), [order, *entry])
        return self._run(ctx, "credit_invoice", {"id": order_id, "invoice": invoice_number,
                                                 "reason": reason}, action)

    def cancel_order(self, ctx: Context, order_id: object, reason: object) -> Result:
        """Cancels an unshipped order and releases its reservations."""
        def action() -> tuple[Result, list[Aggregate]]:
            order = self._order(ctx, order_id)
            order.cancel(reason)
            self._hold_skus(line["sku"] for line in order.lines)
            items = []
            for line in order.lines:
                item = self.stock_item(line["sku"])
                if item.reserved_for(order.id):
                    item.release(order.id)
                    items.append(item)
            return Result(str(order.id), order.version), [order, *items]
        return self._run(ctx, "cancel_order", {"id": order_id, "reason": reason}, action)

    # Queries -----------------------------------------------------------------------

    def lead(self, lead_id: object) -> Lead:
        """A lead by id."""
        return self._get(Lead, str(lead_id), "lead")

    def customer(self, customer_id: object) -> Customer:
        """A customer by id."""
        return self._get(Customer, str(customer_id), "customer")

    def opportunity(self, opportunity_id: object) -> Opportunity:
        """An opportunity by id."""
        return self._get(Opportunity, str(opportunity_id), "opportunity")

    def sales_order(self, order_id: object) -> SalesOrder:
        """A sales order by id."""
        return self._get(SalesOrder, str(order_id), "sales order")

    def ledger_account(self, code: object) -> LedgerAccount:
        """A ledger account by code."""
        try:
            checked = chart.check_code(code)
        except InvalidInputError:
            raise NotFoundError(f"no ledger account {code!r}") from None
        return self._get(LedgerAccount, LedgerAccount.create_id(checked),
                         f"ledger account {checked}")

    def journal_entry(self, entry_id: object) -> JournalEntry:
        """A journal entry by id."""
        return self._get(JournalEntry, str(entry_id), "journal entry")


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """eventsourcing's ``project_aggregate`` without its per-event protocol check
    (every o2c event is an ``Aggregate.Event``, which can mutate)."""
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def parse_date(value: object, what: str) -> date:
    """A date argument of a query or command, e.g. ``as_of``."""
    return a_date(text(value, what) if not isinstance(value, date) else value, what)
