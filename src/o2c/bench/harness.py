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

This module decides what is timed, in which order and on which store; each
figure's record and wording are ``o2c.bench.figures``', the machine's CPU
readings ``o2c.bench.machine``'s, and the HTTP servers ``o2c.bench.http``'s.
"""

from __future__ import annotations

import math
import multiprocessing
import os
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from o2c.bench import figures as fig
from o2c.bench import machine
from o2c.bench import raw as rawdb
from o2c.bench.figures import Figure, Say, Stage, grouped
from o2c.bench.raw import Names, Read, Txn

# What imports o2c's application (``workload``, ``o2c.projections``) or FastAPI and httpx
# (``http``) is imported where it is used: every module under ``o2c.bench`` imports this
# package first, and neither the bare HTTP server (the limit, no o2c code) nor the fork
# server (whose memory the rebuild's peak RSS inherits) should carry them.

RAW, LOCKED = "raw_", "rawlock_"  # the prefixes of the two sets of copies
ProbeTxn = tuple[int, int, list[Read], list[Read]]


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
    page_rounds: int = 20    # requests of each page, and of its JSON route, in page_render

    @staticmethod
    def named(name: str) -> Scale:
        """``tiny`` (tests, seconds), ``quick`` (under a minute), ``full`` (a million events)."""
        scales = {
            "tiny": Scale("tiny", 6, 2, 64, 200, 10, (700, 1_400), (1, 3), 3),
            "quick": Scale("quick", 60, 6, 240, 10_000, 100, (2_500, 8_000), (5, 3), 20),
            "full": Scale("full", 1_000, 125, 4_000, 100_000, 300,
                          (10_000, 100_000, 1_000_000), (10, 10), 50),
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


# Timing --------------------------------------------------------------------------------

def median_ms(call: Callable[[], object], runs: int = 15) -> float:
    """The median wall time of ``runs`` calls, in ms."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# The bench ------------------------------------------------------------------------------

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
        from o2c.bench.workload import prepare

        self.customer = prepare(self.app)
        # The stages first, so that the smallest is the size asked for; the other figures
        # then run on the largest log.
        for size in self.scale.stages:
            self.say(f"log at {grouped(size)} events: grow, rebuild, reports, command cost")
            self.stages.append(self.stage(size))
        self.figures.extend(fig.stage_figures(self.stages))
        self.say("order_cycle_1")
        self.order_cycle_1()
        self.say("order_cycle_8 and projection_lag")
        self.order_cycle_8()
        self.say("http_command")
        self.http_command()
        self.say("page_render: home, pipeline, order, trial balance")
        self.page_render()
        # Last, so that its bulk entries (200 postings each) skew no other figure's log.
        self.say(f"hot_account ({grouped(self.scale.hot_postings)} postings)")
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
        self.figures.append(fig.order_cycle_1(done, seconds, raw_seconds, rounds,
                                              transactions, events, reads))

    def order_cycle_8(self) -> None:
        from o2c.bench.workload import order_client
        from o2c.projections import Projector

        projector = Projector(self.app.db, self.app.settings)
        worker = subprocess.Popen(
            [sys.executable, "-m", "o2c.cli", "projections", "run"],
            env={**os.environ, "O2C_DATABASE_URL": self.url},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples: list[tuple[float, int]] = []
        stop = threading.Event()
        try:
            head = self.app.db.head()

            def caught_up() -> bool:
                if worker.poll() is not None:
                    raise RuntimeError(f"the projection worker exited ({worker.returncode})")
                return projector.position() >= head

            _wait(caught_up, 120)  # the worker has caught up
            sampler = threading.Thread(target=_sample, args=(projector, stop, samples))
            sampler.start()
            cpu_before = machine.cpu_times()
            results = self.pool.starmap(order_client, [
                (self.url, self.customer, self.scale.orders_8, seed, self._start_at(1.0))
                for seed in range(8)])
            o2c_busy = machine.busy(cpu_before, machine.cpu_times())
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
        cpu_before = machine.cpu_times()
        spans = self.pool.starmap(rawdb.replay, [(self.url, self.copies, txns, start)
                                                 for txns in per_client])
        raw_busy = machine.busy(cpu_before, machine.cpu_times())
        for r in results:
            self.replayed(r["txns"])
        raw_seconds = max(f for _, f in spans) - min(s for s, _ in spans)
        client_cpu_ms = sum(r["cpu_seconds"] for r in results) * 1000 / max(done, 1)
        locked_rate: float | None = None
        if self.locked is not None:
            self.sync(head, LOCKED)
            start = self._start_at(0.5)
            spans = self.pool.starmap(rawdb.replay, [(self.url, self.locked, txns, start, True)
                                                     for txns in per_client])
            for r in results:
                self.replayed(r["txns"], LOCKED)
            locked_rate = done / (max(f for _, f in spans) - min(s for s, _ in spans))
        self.figures.append(fig.order_cycle_8(
            done, seconds, raw_seconds, conflicts=conflicts, refused=refused,
            o2c_busy=o2c_busy, raw_busy=raw_busy, client_cpu_ms=client_cpu_ms,
            locked_rate=locked_rate))
        self.figures.append(fig.projection_lag(
            _lags([c for r in results for c in r["commits"]], samples)))

    def http_command(self) -> None:
        """Receipts with an Idempotency-Key through o2c's API (no in-server projector)
        vs the bare route writing the same transactions."""
        from o2c.bench import http

        requests = self.scale.http_requests
        server = http.serve_o2c(self.url)
        try:
            head = self.app.db.head()
            o2c = http.load_o2c(server, requests)
            found, conflicts = http.probed(server)
        finally:
            server.stop()
        window = [t for t in found if t[0] > head]
        txns = self.captured(window, head)
        for txn in txns:
            txn.key_lookup = txn.command is not None
        if self.locked is not None:
            self.sync(head, LOCKED)
        bare, locked = http.load_bare(self.url, self.copies, self.locked, txns, requests)
        self.replayed(window)
        if locked is not None:
            self.replayed(window, LOCKED)
        self.figures.append(fig.http_command(o2c, bare, locked, conflicts, http.CLIENTS))

    def page_render(self) -> None:
        """The web app's home, pipeline, order and trial-balance pages against the API's
        JSON for the same thing, in-process (no network), signed in as admin,
        interleaved request by request."""
        import re
        import warnings

        with warnings.catch_warnings():  # Starlette would rather have httpx2; httpx works
            warnings.simplefilter("ignore", DeprecationWarning)
            from starlette.testclient import TestClient

        from o2c import auth
        from o2c.api import create_app
        from o2c.projections import Projector, lists

        Projector(self.app.db, self.app.settings).catch_up()
        token = auth.create_token(self.app.db, "admin", "bench pages")
        client = TestClient(create_app(app=self.app), base_url="http://127.0.0.1")
        found = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert found, "the sign-in page has no CSRF value"
        signed_in = client.post("/login", data={"token": token, "csrf": found[1]},
                                follow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text[:200]
        order = lists.sales_orders(self.app.db, self.app.places, limit=1).items[0].id
        api = {"Authorization": f"Bearer {token}"}
        pairs = {"home": ("/", "/reports/pipeline"),
                 "pipeline": ("/pipeline", "/reports/pipeline"),
                 "order": (f"/orders/{order}", f"/sales-orders/{order}"),
                 "trial_balance": ("/books/trial-balance", "/reports/trial-balance")}
        rounds = self.scale.page_rounds
        for name, (page, json_route) in pairs.items():
            times: dict[str, list[float]] = {"page": [], "json": []}
            for number in range(rounds + 3):  # the first three warm up
                for which, path, headers in (("page", page, None), ("json", json_route, api)):
                    started = time.perf_counter()
                    answer = client.get(path, headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert answer.status_code == 200, (path, answer.status_code)
                    if number >= 3:
                        times[which].append(elapsed)
            self.figures.append(fig.page_render(
                name, page, json_route, statistics.median(times["page"]),
                statistics.median(times["json"]), rounds))

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
        self.figures.append(fig.hot_account(
            statistics.median(times["hot"]), statistics.median(times["cold"]),
            self.scale.hot_postings, self.scale.hot_pairs))

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
        current = {"trial_balance": median_ms(lambda: reports.trial_balance(app.db, app.places)),
                   "pipeline": median_ms(lambda: reports.pipeline(app.db, app.places)),
                   "inventory": median_ms(lambda: reports.inventory(app.db, app.places))}
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
            reports.trial_balance(app.db, app.places, as_of=as_of, known_at=known)
            times.append((time.perf_counter() - started) * 1000)
        return current, statistics.median(times), max(times), postings


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
