"""The run: every figure measured beside its limit, on a fresh store, in one go.

Order of work (one store, the log growing as it goes):

1. Stages: the log is grown with real commands to each size of the scale; at
   each, a rebuild in a fresh process (time, peak RSS) beside a raw read of
   the log, reports, and the cost of an order cycle beside its raw replay.
2. ``order_cycle_1``: one client process runs full order cycles; the rows its
   transactions wrote are captured and replayed raw by one process.
3. ``order_cycle_8`` and ``projection_lag``: eight client processes on
   distinct orders sharing three SKUs and the ledger accounts, with an
   ``o2c projections run`` worker following; a thread polls
   ``Projector.position()``. Then eight raw processes replay each client's
   transactions.
4. ``http_command``: o2c's API under uvicorn against a bare route.
5. ``hot_account``: bulk entries give account 1000 its postings, then the same
   command on it and on a fresh account is timed, interleaved.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from o2c.bench import raw as rawdb
from o2c.bench.raw import Names, Read, Txn

Say = Callable[[str], None]
RAW, LOCKED = "raw_", "rawlock_"  # the prefixes of the two sets of copies
ProbeTxn = tuple[int, int, list[Read], list[Read]]


@dataclass
class Figure:
    """One measured figure beside its limit."""

    name: str
    value: float
    unit: str
    limit: float | None
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The figure as JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True)
class Scale:
    """How big a run is."""

    name: str
    orders_1: int            # order cycles of order_cycle_1
    orders_8: int            # order cycles per client of order_cycle_8
    http_requests: int       # requests of http_command (each side)
    hot_postings: int        # postings account 1000 gets before hot_account is timed
    hot_pairs: int           # timed commands on each of the hot and the fresh account
    stages: tuple[int, ...]  # log sizes (events) rebuild, reports and command cost run at
    stage_cycles: tuple[int, int]  # rounds, and order cycles per round, timed at each stage

    @staticmethod
    def named(name: str) -> Scale:
        """``tiny`` (tests, seconds), ``quick`` (under a minute), ``full`` (a million events)."""
        scales = {
            "tiny": Scale("tiny", 6, 2, 64, 200, 10, (700, 1_400), (1, 3)),
            "quick": Scale("quick", 60, 6, 240, 10_000, 100, (2_500, 8_000), (5, 3)),
            "full": Scale("full", 1_000, 125, 4_000, 100_000, 300,
                          (10_000, 100_000, 1_000_000), (10, 10)),
        }
        if name not in scales:
            raise ValueError(f"scale must be one of {', '.join(scales)}, not {name!r}")
        return scales[name]


# Stores ------------------------------------------------------------------------------

class StoreNotEmptyError(RuntimeError):
    """The bench was about to run on a store that already holds events."""


@contextmanager
def fresh_store(base_url: str | None) -> Iterator[str]:
    """A new, empty store beside ``base_url``, removed afterwards.

    PostgreSQL: a new schema ``bench_<random>`` in that database. SQLite: a
    temporary file in the directory of the given file (the same disk), or in
    the system's temporary directory. The user's own tables are never touched.
    """
    if base_url and base_url.startswith("postgres"):
        import psycopg

        plain = base_url.split("?")[0]
        schema = "bench_" + uuid.uuid4().hex[:12]
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{plain}?schema={schema}"
        finally:
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        return
    folder = None
    if base_url and base_url.startswith("sqlite:///"):
        parent = Path(rawdb.parse_url(base_url)["path"]).expanduser().resolve().parent
        folder = str(parent) if parent.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="o2c-bench-", dir=folder) as directory:
        yield f"sqlite:///{Path(directory) / 'bench.sqlite3'}"


def _check_empty(url: str) -> None:
    if rawdb.holds_events(url):
        raise StoreNotEmptyError("the bench store already holds events; refusing to run on it")


# Small statistics ----------------------------------------------------------------------

def pct(values: Sequence[float], percentile: float) -> float:
    """The nearest-rank percentile (nan when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * percentile / 100))
    return ordered[min(len(ordered), rank) - 1]


def median_ms(call: Callable[[], object], runs: int = 15) -> float:
    """The median wall time of ``runs`` calls, in ms."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def ratio_figure(name: str, value: float, unit: str, limit: float, minimum: float,
                 note: str = "", detail: dict[str, Any] | None = None) -> Figure:
    """A figure whose target is ``value / limit >= minimum``."""
    ratio = value / limit if limit else math.nan
    return Figure(name, round(value, 2), unit, round(limit, 2), round(ratio, 3),
                  f"ratio >= {minimum}", ratio >= minimum, note, detail or {})


def _n(count: int) -> str:
    return f"{count:,}"


# The bench ------------------------------------------------------------------------------

@dataclass
class Stage:
    """What was measured at one log size."""

    events: int
    postings: int
    rebuild_seconds: float
    rebuild_rate: float
    raw_read_rate: float
    peak_mb: float          # every process of the rebuild together
    process_peak_mb: float  # the largest one
    processes: int
    cycle_ms: float
    raw_cycle_ms: float
    relative_cycle_cost: float
    reports_ms: dict[str, float]
    as_of_ms: float
    as_of_max_ms: float
    grow_seconds: float


class Bench:
    """One run on one fresh store: the application, the raw copies, the workers."""

    def __init__(self, url: str, scale: Scale, say: Say) -> None:
        from o2c.bench.workload import Probe, open_app, warm

        _check_empty(url)
        self.url = url
        self.scale = scale
        self.say = say
        # Fresh processes (none inherits this one's connections or threads) started by a
        # fork server that has imported o2c once, so eight of them start in a moment.
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["o2c.bench.workload", "o2c.projections"])
        self.pool = self.context.Pool(8)
        self.pool.map(warm, range(8), chunksize=1)
        self.app = open_app(url, pool_size=2)
        self.probe = Probe(self.app)
        self.postgres = self.app.db.postgres
        assert self.app.snapshots is not None
        recorders: list[Any] = [self.app.recorder, self.app.snapshots.recorder]
        self.names = Names(*(r.events_table_name for r in recorders))
        self.copies = rawdb.copy_tables(url, self.names)
        # On PostgreSQL a second set of copies is written with o2c's table lock taken in
        # each transaction, to tell the lock's cost from the rest of o2c's.
        self.locked = (rawdb.copy_tables(url, self.names, LOCKED) if self.postgres
                       else None)
        self.mirrored = {RAW: 0, LOCKED: 0}  # each set of copies holds o2c's log up to here
        self.grown_units = 0
        self.figures: list[Figure] = []
        self.stages: list[Stage] = []

    def close(self) -> None:
        """Stops the workers and closes the application."""
        self.pool.terminate()
        self.pool.join()
        self.app.close()

    # Raw copies -------------------------------------------------------------------------

    def sync(self, upto: int, which: str = "raw_") -> None:
        """Copies what o2c wrote up to ``upto`` and the copies lack (untimed)."""
        copies = self.copies if which == RAW else self.locked
        assert copies is not None
        if upto > self.mirrored[which]:
            rawdb.mirror(self.url, self.names, copies, self.mirrored[which] + 1, upto)
            self.mirrored[which] = upto

    def replayed(self, txns: Sequence[ProbeTxn], which: str = "raw_") -> None:
        """The copies now hold these transactions (written raw)."""
        self.mirrored[which] = max([self.mirrored[which], *(t[1] for t in txns)])

    def captured(self, txns: Sequence[ProbeTxn], before: int) -> list[Txn]:
        """The rows of probed transactions, with their reads, after syncing the copies
        up to ``before`` (the head when the probed commands started)."""
        self.sync(before)
        rows = rawdb.capture(self.url, self.names, [(first, last) for first, last, _, _ in txns])
        out = []
        for _, last, reads, after in txns:
            txn = rows[last]
            txn.reads, txn.after = reads, after
            out.append(txn)
        return out

    # Figures ----------------------------------------------------------------------------

    def run(self) -> list[Figure]:
        """Every figure, in the order of the module's docstring."""
        from o2c.bench import http
        from o2c.bench.workload import prepare

        self.customer = prepare(self.app)
        # The stages first, so that the smallest is the size asked for; the other figures
        # then run on the largest log.
        for size in self.scale.stages:
            self.say(f"log at {_n(size)} events: grow, rebuild, reports, command cost")
            self.stages.append(self.stage(size))
        self.stage_figures()
        self.say("order_cycle_1")
        self.order_cycle_1()
        self.say("order_cycle_8 and projection_lag")
        self.order_cycle_8()
        self.say("http_command")
        self.figures.append(http.measure(self, self.scale.http_requests))
        # Last, so that its bulk entries (200 postings each) skew no other figure's log.
        self.say(f"hot_account ({_n(self.scale.hot_postings)} postings)")
        self.hot_account()
        return self.figures

    def _start_at(self, delay: float = 0.5) -> float:
        return time.time() + delay

    def order_cycle_1(self) -> None:
        """One client, in rounds alternating o2c and raw (so that a change of pace of a
        shared machine falls on both)."""
        from o2c.bench.workload import order_client

        rounds = 4 if self.scale.orders_1 >= 20 else 1
        done = events = transactions = reads = 0
        seconds = raw_seconds = 0.0
        for number in range(rounds):
            head = self.app.db.head()
            result = self.pool.apply(order_client, (
                self.url, self.customer, self.scale.orders_1 // rounds, number,
                self._start_at()))
            txns = self.captured(result["txns"], head)
            started, finished = self.pool.apply(rawdb.replay, (self.url, self.copies, txns,
                                                               self._start_at(0.2)))
            self.replayed(result["txns"])
            done += result["done"]
            seconds += result["finished"] - result["started"]
            raw_seconds += finished - started
            transactions += len(txns)
            events += sum(len(t.events) for t in txns)
            reads += sum(len(t.reads) + len(t.after) for t in txns)
        self.figures.append(ratio_figure(
            "order_cycle_1", done / seconds, "orders/s", done / raw_seconds, 0.5,
            f"{_n(done)} orders in {rounds} rounds alternating with raw; {_n(transactions)} "
            f"transactions, {_n(events)} events, {_n(reads)} point reads",
            {"orders": done, "transactions": transactions, "events": events,
             "point_reads": reads}))

    def order_cycle_8(self) -> None:
        from o2c.bench.workload import order_client
        from o2c.projections import Projector

        projector = Projector(self.app)
        worker = subprocess.Popen(
            [sys.executable, "-m", "o2c.cli", "projections", "run"],
            env={**_environ(), "O2C_DATABASE_URL": self.url},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples: list[tuple[float, int]] = []
        stop = threading.Event()
        try:
            head = self.app.db.head()
            _wait(lambda: projector.position() >= head, 120)  # the worker has caught up
            sampler = threading.Thread(target=_sample, args=(projector, stop, samples))
            sampler.start()
            cpu_before = machine_cpu()
            results = self.pool.starmap(order_client, [
                (self.url, self.customer, self.scale.orders_8, seed, self._start_at(1.0))
                for seed in range(8)])
            o2c_busy = _busy(cpu_before, machine_cpu())
            last = max((p for r in results for p, _ in r["commits"]), default=0)
            _wait(lambda: bool(samples) and samples[-1][1] >= last, 60)
        finally:
            stop.set()
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        sampler.join()
        done = sum(r["done"] for r in results)
        refused = sum(r["refused"] for r in results)
        conflicts = sum(r["conflicts"] for r in results)
        seconds = max(r["finished"] for r in results) - min(r["started"] for r in results)
        # Raw: each o2c client's transactions replayed by a process of its own, together.
        per_client = [self.captured(r["txns"], head) for r in results]
        start = self._start_at(0.5)
        cpu_before = machine_cpu()
        spans = self.pool.starmap(rawdb.replay, [(self.url, self.copies, txns, start)
                                                 for txns in per_client])
        raw_busy = _busy(cpu_before, machine_cpu())
        for r in results:
            self.replayed(r["txns"])
        raw_seconds = max(f for _, f in spans) - min(s for s, _ in spans)
        locked = ""
        client_cpu_ms = sum(r["cpu_seconds"] for r in results) * 1000 / max(done, 1)
        detail: dict[str, Any] = {
            "orders": done, "conflicts": conflicts, "refused": refused,
            # Both cores busy means the run is bound by CPU, not by the database's locks.
            "machine_cpu_busy_o2c": round(o2c_busy, 3), "machine_cpu_busy_raw": round(raw_busy, 3),
            "o2c_client_cpu_ms_per_order": round(client_cpu_ms, 2)}
        if self.locked is not None:
            self.sync(head, LOCKED)
            start = self._start_at(0.5)
            spans = self.pool.starmap(rawdb.replay, [(self.url, self.locked, txns, start, True)
                                                     for txns in per_client])
            for r in results:
                self.replayed(r["txns"], LOCKED)
            rate = done / (max(f for _, f in spans) - min(s for s, _ in spans))
            detail["raw_with_table_lock"] = round(rate, 2)
            locked = f"; raw with o2c's table lock: {rate:.1f} orders/s"
        self.figures.append(ratio_figure(
            "order_cycle_8", done / seconds, "orders/s", done / raw_seconds, 0.5,
            f"8 processes, distinct orders on 3 shared SKUs and shared accounts, projection "
            f"worker following; {_n(done)} orders, {conflicts} write conflicts retried, "
            f"{refused} orders refused after retries{locked}; machine CPU busy "
            f"{o2c_busy:.0%} (o2c) vs {raw_busy:.0%} (raw), o2c clients "
            f"{client_cpu_ms:.1f} CPU ms per order", detail))
        lags = _lags([c for r in results for c in r["commits"]], samples)
        seen = [lag for lag in lags if lag is not None]
        unseen = len(lags) - len(seen)
        p99 = pct([lag if lag is not None else math.inf for lag in lags], 99)
        self.figures.append(Figure(
            "projection_lag", round(p99, 1) if math.isfinite(p99) else 60_000.0, "ms p99",
            None, None, "p99 < 250 ms", p99 < 250,
            f"commit to read models, {_n(len(lags))} commands under the order_cycle_8 load; "
            f"p50 {pct(seen, 50):.1f} ms; {unseen} not seen within 60 s; position polled "
            "every 5 ms", {"p50_ms": round(pct(seen, 50), 1), "commands": len(lags),
                           "unseen": unseen}))

    def hot_account(self) -> None:
        from o2c.application import Context

        app, ctx = self.app, Context(actor="hot")
        for code, name in (("1010", "Petty Cash"), ("1020", "Bank Clearing")):
            app.open_ledger_account(ctx, code, name, "asset")
        cold = [{"account": "1010", "debit": "1.00"}, {"account": "1020", "credit": "1.00"}]
        hot = [{"account": "1000", "debit": "1.00"}, {"account": "3000", "credit": "1.00"}]
        for _ in range(10):
            app.post_journal_entry(ctx, "cold", cold)
        bulk = hot * 100  # 100 postings on account 1000 per entry (200 lines, the most)
        for _ in range(self.scale.hot_postings // 100):
            app.post_journal_entry(ctx, "bulk", bulk)
        times: dict[str, list[float]] = {"hot": [], "cold": []}
        for number in range(self.scale.hot_pairs):
            order = (("hot", hot), ("cold", cold))
            for which, lines in order if number % 2 else order[::-1]:
                started = time.perf_counter()
                app.post_journal_entry(ctx, which, lines)
                times[which].append((time.perf_counter() - started) * 1000)
        many, few = statistics.median(times["hot"]), statistics.median(times["cold"])
        ratio = many / few
        self.figures.append(Figure(
            "hot_account", round(many, 3), "ms/command", round(few, 3), round(ratio, 3),
            "ratio <= 1.2", ratio <= 1.2,
            f"post_journal_entry on account 1000 holding {_n(self.scale.hot_postings)}+ "
            f"postings vs on a fresh account holding 10, interleaved, median of "
            f"{self.scale.hot_pairs} each", {"postings": self.scale.hot_postings}))

    # Stages -----------------------------------------------------------------------------

    def grow(self, size: int) -> float:
        from o2c.bench.workload import UNIT_EVENTS, grow

        started = time.perf_counter()
        while (missing := size - self.app.db.head()) > 0:
            units = math.ceil(missing / UNIT_EVENTS)
            halves = [units - units // 2, units // 2]
            jobs = []
            for seed, count in enumerate(halves):
                if count:
                    jobs.append((self.url, count, seed, self.grown_units))
                    self.grown_units += count
            self.pool.starmap(grow, jobs)
        return time.perf_counter() - started

    def cycle_cost(self) -> tuple[float, float, float]:
        """ms per order cycle (one client, this process) and per raw replay of the same
        rows (this process, plain driver), in alternating rounds; and the median of the
        rounds' o2c/raw ratios."""
        from o2c.application import Context
        from o2c.bench.workload import SKUS, cycle, order_lines

        ctx, lines = Context(actor="stage"), order_lines(SKUS, 0)
        rounds, per_round = self.scale.stage_cycles
        o2c_seconds, raw_seconds, ratios = 0.0, 0.0, []
        for _ in range(rounds):
            head, first = self.app.db.head(), len(self.probe.txns)
            started = time.perf_counter()
            for _ in range(per_round):
                cycle(self.app, ctx, self.customer, lines)
            spent = time.perf_counter() - started
            window = self.probe.txns[first:]
            began, ended = rawdb.replay(self.url, self.copies, self.captured(window, head))
            self.replayed(window)
            o2c_seconds += spent
            raw_seconds += ended - began
            ratios.append(spent / (ended - began))
        count = rounds * per_round
        return (o2c_seconds * 1000 / count, raw_seconds * 1000 / count,
                statistics.median(ratios))

    def stage(self, size: int) -> Stage:
        from o2c.bench.workload import rebuild_child

        grow_seconds = self.grow(size)
        cycle_ms, raw_cycle_ms, relative = self.cycle_cost()
        # Rebuild in a fresh process (its peak RSS is the rebuild's), then the raw read.
        out = self.context.Queue()
        child = self.context.Process(target=rebuild_child, args=(self.url, out))
        child.start()
        events, seconds, peak_mb, process_peak_mb, processes = out.get(timeout=6 * 3600)
        child.join()
        rows, raw_seconds = self.pool.apply(rawdb.read_log, (self.url, self.names))
        reports_ms, as_of_ms, as_of_max, postings = self.reports()
        return Stage(events=events, postings=postings, rebuild_seconds=seconds,
                     rebuild_rate=events / seconds, raw_read_rate=rows / raw_seconds,
                     peak_mb=peak_mb, process_peak_mb=process_peak_mb, processes=processes,
                     cycle_ms=cycle_ms, raw_cycle_ms=raw_cycle_ms,
                     relative_cycle_cost=relative,
                     reports_ms=reports_ms, as_of_ms=as_of_ms, as_of_max_ms=as_of_max,
                     grow_seconds=grow_seconds)

    def reports(self) -> tuple[dict[str, float], float, float, int]:
        from o2c.projections import reports

        app = self.app
        current = {"trial_balance": median_ms(lambda: reports.trial_balance(app)),
                   "pipeline": median_ms(lambda: reports.pipeline(app)),
                   "inventory": median_ms(lambda: reports.inventory(app))}
        table = app.db.table("rm_postings")
        with app.db.transaction(write=False) as cur:
            row = cur.execute(f"SELECT COUNT(*), MIN(position), MAX(position) FROM {table}"
                              ).fetchone()
        assert row is not None
        postings, low, high = int(row[0]), int(row[1] or 0), int(row[2] or 0)
        with app.db.transaction(write=False) as cur:
            days = cur.execute("SELECT MIN(effective_date), MAX(effective_date) FROM "
                               f"{app.db.table('rm_balance_by_date')}").fetchone()
        assert days is not None
        first = datetime.fromisoformat(str(days[0])).date()
        span = (datetime.fromisoformat(str(days[1])).date() - first).days
        chance = random.Random(5)  # the same points on every run  # noqa: S311
        times = []
        # 15 points spread over the log, and the commonest question: as known now.
        for point in [*(chance.randint(low, high) for _ in range(15)), None]:
            with app.db.transaction(write=False) as cur:
                found = None if point is None else cur.execute(
                    f"SELECT recorded_at FROM {table} WHERE position >= ? "
                    "ORDER BY position LIMIT 1", (point,)).fetchone()
            known = datetime.fromisoformat(str(found[0]).replace("Z", "+00:00")) if found \
                else datetime.now(UTC)
            as_of = first + timedelta(days=chance.randint(0, span + 1))
            started = time.perf_counter()
            reports.trial_balance(app, as_of=as_of, known_at=known)
            times.append((time.perf_counter() - started) * 1000)
        return current, statistics.median(times), max(times), postings

    def stage_figures(self) -> None:
        first, last = self.stages[0], self.stages[-1]
        sizes = " / ".join(_n(s.events) for s in self.stages)
        log = f"{_n(last.events)}-event log"
        detail = {"stages": [asdict(s) for s in self.stages]}
        processes = (f"in {last.processes} processes (the trial balance beside the other "
                     "read models)" if last.processes > 1 else "in one process")
        self.figures.append(ratio_figure(
            "rebuild", last.rebuild_rate, f"events/s, {log}", last.raw_read_rate, 0.5,
            f"Projector.rebuild() of every read model, {processes}, vs one process reading "
            f"the same rows (events joined with their recording time) in batches and "
            f"json.loads of each state; {last.rebuild_seconds:.1f} s", detail))
        # Flat in log size: the largest process of the rebuild against the same at the
        # smallest log (a long rebuild may run in more processes; the value is all of them).
        ratio = last.process_peak_mb / first.process_peak_mb
        self.figures.append(Figure(
            "rebuild_memory", round(last.peak_mb, 1), f"MB peak RSS, {log}",
            round(first.process_peak_mb, 1), round(ratio, 3),
            "<= 300 MB in all, flat (largest process ratio <= 1.25)",
            last.peak_mb <= 300 and ratio <= 1.25,
            f"fresh process rebuilding, value = the peaks of all its processes added; ratio = "
            f"its largest process ({last.process_peak_mb:.0f} MB) against the same at "
            f"{_n(first.events)} events; at {sizes} events: "
            + " / ".join(f"{s.peak_mb:.0f} MB in {s.processes}" for s in self.stages)))
        for name in last.reports_ms:
            value, small = last.reports_ms[name], first.reports_ms[name]
            self.figures.append(Figure(
                f"report_current:{name}", round(value, 3), f"ms median, {log}", round(small, 3),
                round(value / small, 3), "< 10 ms, flat (ratio <= 2)",
                value < 10 and value / small <= 2,
                f"limit column = the same at {_n(first.events)} events; at {sizes}: "
                + " / ".join(f"{s.reports_ms[name]:.2f}" for s in self.stages) + " ms"))
        self.figures.append(Figure(
            "report_as_of", round(last.as_of_max_ms, 3),
            f"ms, slowest of 16 points, {_n(last.postings)} postings",
            round(first.as_of_max_ms, 3), round(last.as_of_max_ms / first.as_of_max_ms, 3),
            "< 250 ms", last.as_of_max_ms < 250,
            f"trial_balance(as_of=, known_at=) at 15 points spread over the log and as known "
            f"now; median {last.as_of_ms:.1f} ms; limit column = the same over "
            f"{_n(first.postings)} postings; slowest at {sizes} events: "
            + " / ".join(f"{s.as_of_max_ms:.1f}" for s in self.stages) + " ms"))
        ratio = last.relative_cycle_cost / first.relative_cycle_cost
        self.figures.append(Figure(
            "command_growth", round(last.relative_cycle_cost, 3),
            f"x raw cost of an order cycle, {log}", round(first.relative_cycle_cost, 3),
            round(ratio, 3), "ratio <= 1.2 (flat)", ratio <= 1.2,
            f"o2c's cost per order cycle over the raw replay of its rows, measured in "
            f"alternating rounds (so the machine's pace cancels); limit column = the same "
            f"at {_n(first.events)} events; ms per cycle at {sizes}: "
            + " / ".join(f"{s.cycle_ms:.1f}" for s in self.stages) + " (raw "
            + " / ".join(f"{s.raw_cycle_ms:.1f}" for s in self.stages) + ")"))
        ratio = last.rebuild_rate / first.rebuild_rate
        self.figures.append(Figure(
            "rebuild_growth", round(last.rebuild_rate, 1), f"events/s, {log}",
            round(first.rebuild_rate, 1), round(ratio, 3), "ratio >= 0.8 (time linear)",
            ratio >= 0.8,
            f"limit column = the same at {_n(first.events)} events; seconds at {sizes}: "
            + " / ".join(f"{s.rebuild_seconds:.1f}" for s in self.stages)))


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat (zeros elsewhere)."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0.0, 0.0
    fields = [float(v) for v in stat.read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle and iowait
    return sum(fields) - idle, sum(fields)


def _busy(before: tuple[float, float], after: tuple[float, float]) -> float:
    """The fraction of the machine's CPU that was busy between two ``machine_cpu()``."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else math.nan


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _sample(projector: Any, stop: threading.Event, samples: list[tuple[float, int]]) -> None:
    while not stop.is_set():
        position = projector.position()
        samples.append((time.time(), position))
        stop.wait(0.005)


def _lags(commits: Sequence[tuple[int, float]],
          samples: Sequence[tuple[float, int]]) -> list[float | None]:
    """For each (position, returned at): ms until a sample taken after it saw the read
    models at that position (None if none did)."""
    import bisect

    times = [t for t, _ in samples]
    positions = [p for _, p in samples]  # never decreasing
    lags: list[float | None] = []
    for position, returned in commits:
        index = max(bisect.bisect_left(positions, position), bisect.bisect_left(times, returned))
        lags.append((times[index] - returned) * 1000 if index < len(times) else None)
    return lags


def run(database_url: str | None, scale: str = "quick", say: Say = lambda _: None
        ) -> list[Figure]:
    """Every figure, on a fresh store beside ``database_url`` (a temporary SQLite file
    when None), removed afterwards."""
    chosen = Scale.named(scale)
    with fresh_store(database_url) as url:
        bench = Bench(url, chosen, say)
        try:
            return bench.run()
        finally:
            bench.close()


def environment(database_url: str | None) -> dict[str, str]:
    """What the figures were measured on."""
    import os
    import platform
    import sqlite3
    from importlib.metadata import version

    info = {"python": platform.python_version(), "eventsourcing": version("eventsourcing"),
            "psycopg": version("psycopg"), "sqlite": sqlite3.sqlite_version,
            "cpus": str(os.cpu_count()), "platform": platform.platform(),
            "when": datetime.now(UTC).isoformat(timespec="seconds")}
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.exists():
        info["cpu"] = next((line.split(":", 1)[1].strip() for line in
                            cpuinfo.read_text().splitlines() if line.startswith("model name")), "")
    if meminfo.exists():
        info["memory"] = meminfo.read_text().splitlines()[0].split(":", 1)[1].strip()
    if database_url and database_url.startswith("postgres"):
        import psycopg

        with psycopg.connect(database_url.split("?")[0]) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            info["postgresql"] = str(row[0]) if row else ""
    info["store"] = "postgresql" if database_url and database_url.startswith("postgres") \
        else "sqlite"
    return info
