"""What o2c does in the benchmark: order cycles, bulk growth of the log, rebuilds.

The functions here run in worker processes (spawned) and use the public
application (``O2C`` use cases, ``Projector``). ``Probe`` records, without
changing what o2c does, which point reads each command made and which log
positions its transaction got, so the raw counterpart can repeat the same
reads and writes.
"""

from __future__ import annotations

import contextlib
import resource
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from o2c.application import O2C, Context
from o2c.bench.raw import Read
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.errors import AlreadyExistsError, ConcurrencyError

SKUS = ("B-SENSOR", "B-GATEWAY", "B-CABLE")
#: A cash-sales entry: four tills into Cash (the hot account), revenue in three lines, tax.
SALES_ENTRY = ([{"account": "1000", "debit": "27.00"}] * 4
               + [{"account": "4000", "credit": "33.33"}, {"account": "4000", "credit": "33.33"},
                  {"account": "4000", "credit": "33.34"}, {"account": "2100", "credit": "8.00"}])
#: Events written by one growth unit: an order cycle (12) and a sales entry (1).
UNIT_EVENTS = 13
#: Growth units per business day: the log covers more days as it grows, as a business's does.
UNITS_PER_DAY = 100
FIRST_DAY = date(2025, 1, 1)


class Probe:
    """Records each command's point reads and the log positions its save wrote.

    It wraps the recorders' ``select_events`` and the application's ``save``
    on this instance only; the calls go through unchanged. Reads before a
    save that lost a concurrency race are dropped (the raw replay has no
    races to lose) and the race is counted.
    """

    def __init__(self, app: O2C) -> None:
        self.local = threading.local()
        self.txns: list[tuple[int, int, list[Read], list[Read]]] = []
        self.conflicts = 0
        self._lock = threading.Lock()
        recorders: list[tuple[str, Any]] = [("events", app.recorder)]
        if app.snapshots is not None:
            recorders.append(("snapshots", app.snapshots.recorder))
        for kind, recorder in recorders:
            recorder.select_events = self._reading(kind, recorder.select_events)
        app.save = self._saving(app.save)  # type: ignore[method-assign]

    def _pending(self) -> list[Read]:
        if not hasattr(self.local, "reads"):
            self.local.reads = []
        reads: list[Read] = self.local.reads
        return reads

    def _take(self) -> list[Read]:
        reads = self._pending()
        self.local.reads = []
        return reads

    def _reading(self, kind: str, select: Callable[..., Any]) -> Callable[..., Any]:
        def select_events(originator_id: Any, *, gt: int | None = None, lte: int | None = None,
                          desc: bool = False, limit: int | None = None) -> Any:
            self._pending().append((kind, originator_id, gt, lte, desc, limit))
            return select(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        return select_events

    def _saving(self, save: Callable[..., Any]) -> Callable[..., Any]:
        def saving(*objs: Any, **kwargs: Any) -> Any:
            before = self._take()
            try:
                recordings = save(*objs, **kwargs)
            except Exception:
                self._take()
                with self._lock:
                    self.conflicts += 1
                raise
            after = self._take()
            if recordings:
                with self._lock:
                    self.txns.append((recordings[0].notification.id,
                                      recordings[-1].notification.id, before, after))
            return recordings
        return saving


def open_app(url: str, pool_size: int = 2) -> O2C:
    """The application on the bench store (one per process)."""
    return build_app(Settings(database_url=url, pool_size=pool_size))


def prepare(app: O2C, skus: tuple[str, ...] = SKUS, stock: str = "100000000") -> str:
    """Registers (once) and stocks the SKUs; returns a new customer's id."""
    ctx = Context(actor="bench")
    for sku in skus:
        with contextlib.suppress(AlreadyExistsError):
            app.register_stock_item(ctx, sku, sku)
        app.receive_stock(ctx, sku, stock, "1.25")
    return app.register_customer(ctx, "Bench Buyer", "buyer@bench.example").id


def order_lines(skus: tuple[str, ...], seed: int) -> list[dict[str, str]]:
    """Two lines on two of the SKUs, chosen by ``seed``."""
    return [{"sku": skus[seed % len(skus)], "quantity": "2", "unit_price": "9.99"},
            {"sku": skus[(seed + 1) % len(skus)], "quantity": "1", "unit_price": "24.50"}]


def cycle(app: O2C, ctx: Context, customer: str, lines: list[dict[str, str]],
          commits: list[tuple[int, float]] | None = None) -> None:
    """One full order: place, confirm, ship everything, invoice, pay in full; each
    command's log position and the moment it returned go to ``commits``."""
    def noted(result: Any) -> Any:
        if commits is not None:
            commits.append((result.position, time.time()))
        return result

    shipment = [{"sku": line["sku"], "quantity": line["quantity"]} for line in lines]
    order = noted(app.place_sales_order(ctx, customer, lines)).id
    noted(app.confirm_order(ctx, order))
    noted(app.ship_order(ctx, order, shipment))
    invoice = noted(app.invoice_order(ctx, order))
    noted(app.pay_order(ctx, order, invoice.extra["total"]))


def order_client(url: str, customer: str, count: int, seed: int, start_at: float
                 ) -> dict[str, Any]:
    """One client running ``count`` order cycles from ``start_at`` (a ``time.time()``)."""
    app = open_app(url)
    probe = Probe(app)
    ctx = Context(actor=f"bench-{seed}")
    lines = order_lines(SKUS, seed)
    commits: list[tuple[int, float]] = []
    done = refused = 0
    _sleep_until(start_at)
    started = time.time()
    cpu_before = _cpu_seconds()
    for _ in range(count):
        try:
            cycle(app, ctx, customer, lines, commits)
            done += 1
        except ConcurrencyError:
            refused += 1  # refused after its retries: counted, not done
    finished = time.time()
    cpu = _cpu_seconds() - cpu_before
    app.close()
    return {"started": started, "finished": finished, "done": done, "cpu_seconds": cpu,
            "refused": refused, "conflicts": probe.conflicts, "txns": probe.txns,
            "commits": commits}


def _cpu_seconds() -> float:
    """CPU time (user and system) this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sleep_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        time.sleep(delay)


def grow(url: str, units: int, seed: int, first_unit: int) -> int:
    """Writes ``units`` growth units (an order cycle on this worker's own SKUs and a
    cash-sales entry), ``UNITS_PER_DAY`` to a business day, numbered from
    ``first_unit`` (so dates advance along the log); returns events written."""
    app = open_app(url, pool_size=1)
    skus = (f"G{seed}-A", f"G{seed}-B")
    customer = prepare(app, skus, stock=str(10 * units + 10))
    lines = order_lines(skus, 0)
    for number in range(units):
        day = FIRST_DAY + timedelta(days=(first_unit + number) // UNITS_PER_DAY)
        ctx = Context(actor=f"grow-{seed}", today=day)
        cycle(app, ctx, customer, lines)
        app.post_journal_entry(ctx, "Cash sales", SALES_ENTRY, date=day)
    app.close()
    return units * UNIT_EVENTS


def rebuild_child(url: str, out: Any) -> None:
    """Rebuilds every read model from zero in this (fresh) process, as ``o2c projections
    rebuild`` does; reports (events, seconds, peak RSS in MB: this process's plus each
    rebuild worker's, if it started any; the largest single process's; processes)."""
    from o2c.bootstrap import open_database
    from o2c.projections import Projector
    from o2c.projections.rebuild import rebuild

    app = open_app(url, pool_size=1)
    projector = Projector(app.db, app.settings)
    head = app.db.head()
    started = time.perf_counter()
    rebuilt = rebuild(projector, open_db=open_database)
    seconds = time.perf_counter() - started
    peaks_kb = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, *rebuilt.worker_peaks_kb]
    app.close()
    out.put((head, seconds, sum(peaks_kb) / 1024, max(peaks_kb) / 1024, len(peaks_kb)))


def warm(_: int) -> int:
    """Imports everything a worker needs before anything is timed."""
    import o2c.bench.raw
    import o2c.projections  # noqa: F401

    time.sleep(0.2)
    return 0
