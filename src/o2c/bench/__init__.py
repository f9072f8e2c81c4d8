"""``o2c bench``: each figure measured beside its physical limit, in one run.

The limit is the same database doing the same row writes or reads with the
plain driver (sqlite3 or psycopg) and no o2c code. Every run uses a fresh
store (a temporary SQLite file, or a new PostgreSQL schema dropped at the
end), so it never touches real data. Timings are wall-clock on a shared
machine: compare the ratios, which are measured side by side.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from o2c.application import O2C, Context
from o2c.config import Settings
from o2c.domain.errors import ConcurrencyError
from o2c.projections import Projector, reports
from o2c.store import env_for_url

SKUS = ("B-SENSOR", "B-GATEWAY", "B-CABLE")


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

    def as_dict(self) -> dict[str, Any]:
        """The figure as JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True)
class Scale:
    """How big a run is."""

    orders: int          # order cycles for order_cycle_1 (and in all for order_cycle_8)
    hot_postings: int    # postings put on the hot account before timing it
    log_events: int      # events the rebuild and report figures run over (at least)
    http_requests: int   # requests per HTTP figure

    @staticmethod
    def named(name: str) -> Scale:
        """``tiny`` (tests), ``quick`` (under a minute), ``full`` (a million events)."""
        return {"tiny": Scale(12, 60, 300, 64),
                "quick": Scale(150, 2_000, 5_000, 400),
                "full": Scale(2_000, 100_000, 1_000_000, 4_000)}[name]


# Stores ------------------------------------------------------------------------------

@contextmanager
def fresh_store(base_url: str | None) -> Iterator[str]:
    """A new, empty store URL; removed afterwards."""
    if base_url and base_url.startswith("postgres"):
        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:12]
        plain = base_url.split("?")[0]
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{plain}?schema={schema}"
        finally:
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        return
    with tempfile.TemporaryDirectory(prefix="o2c-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"


class Raw:
    """The plain driver on the same database: the physical limit."""

    def __init__(self, url: str) -> None:
        self.env = env_for_url(url)
        self.postgres = self.env["PERSISTENCE_MODULE"].endswith("postgres")
        if self.postgres:
            import psycopg

            e = self.env
            self.conn: Any = psycopg.connect(
                host=e["POSTGRES_HOST"], port=e["POSTGRES_PORT"], user=e["POSTGRES_USER"],
                password=e["POSTGRES_PASSWORD"], dbname=e["POSTGRES_DBNAME"], autocommit=True)
            self.conn.execute(f'SET search_path TO "{e["POSTGRES_SCHEMA"]}"')
            self.mark = "%s"
        else:
            import sqlite3

            self.conn = sqlite3.connect(self.env["SQLITE_DBNAME"], isolation_level=None,
                                        timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.mark = "?"

    def sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def execute(self, text: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(self.sql(text), params)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.postgres:
            with self.conn.transaction():
                yield
        else:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.conn.close()


def _events_table(raw: Raw) -> str:
    return "o2c_events" if raw.postgres else "stored_events"


def _position(raw: Raw) -> str:
    return "notification_id" if raw.postgres else "rowid"


# The order cycle -----------------------------------------------------------------------

def _prepare(url: str) -> str:
    app = O2C(Settings(database_url=url, pool_size=2))
    ctx = Context(actor="bench")
    for sku in SKUS:
        app.register_stock_item(ctx, sku, sku)
        app.receive_stock(ctx, sku, "10000000", "1.25")
    customer = app.register_customer(ctx, "Bench Buyer", "buyer@bench.example").id
    app.close()
    return customer


def _cycles(url: str, customer: str, count: int, seed: int
            ) -> tuple[float, list[tuple[int, float]]]:
    """Runs ``count`` full order cycles; returns seconds taken and (position, commit time)."""
    app = O2C(Settings(database_url=url, pool_size=2))
    ctx = Context(actor=f"bench-{seed}")
    lines = [{"sku": SKUS[seed % 3], "quantity": "2", "unit_price": "9.99"},
             {"sku": SKUS[(seed + 1) % 3], "quantity": "1", "unit_price": "24.50"}]
    commits: list[tuple[int, float]] = []
    started = time.perf_counter()
    for _ in range(count):
        try:
            order = app.place_sales_order(ctx, customer, lines).id
            app.confirm_order(ctx, order)
            app.ship_order(ctx, order, [{"sku": line["sku"], "quantity": line["quantity"]}
                                        for line in lines])
            invoice = app.invoice_order(ctx, order)
            paid = app.pay_order(ctx, order, invoice.extra["total"])
        except ConcurrencyError:
            commits.append((-1, time.time()))  # refused after its retries: counted, not done
            continue
        commits.append((paid.position, time.time()))
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed, commits


def _captured(raw: Raw, after: int) -> list[list[tuple[Any, ...]]]:
    """The rows o2c wrote after ``after``, grouped by transaction (shared recorded_at)."""
    rows = raw.execute(
        f"SELECT e.{_position(raw)}, e.originator_id, e.originator_version, e.topic, e.state, "
        "m.actor, m.idempotency_key, m.recorded_at, m.hash "
        f"FROM {_events_table(raw)} e JOIN o2c_event_meta m "
        f"ON m.notification_id = e.{_position(raw)} WHERE e.{_position(raw)} > ? "
        f"ORDER BY e.{_position(raw)}", (after,)).fetchall()
    groups: list[list[tuple[Any, ...]]] = []
    for row in rows:
        if groups and groups[-1][0][7] == row[7] and groups[-1][0][5] == row[5]:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _raw_tables(raw: Raw) -> None:
    if raw.postgres:
        raw.execute("CREATE TABLE raw_events (originator_id uuid, originator_version bigint, "
                    "topic text, state bytea, notification_id bigserial, "
                    "PRIMARY KEY (originator_id, originator_version))")
        raw.execute("CREATE UNIQUE INDEX ON raw_events (notification_id)")
    else:
        raw.execute("CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER, "
                    "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))")
    raw.execute("CREATE TABLE raw_meta (notification_id BIGINT PRIMARY KEY, actor TEXT, "
                "idempotency_key TEXT, recorded_at TEXT, hash TEXT)")


def _replay(url: str, groups: list[list[tuple[Any, ...]]], salt: str) -> float:
    """Writes the captured groups raw, one transaction each, with the same point reads."""
    raw = Raw(url)
    position = "notification_id" if raw.postgres else "rowid"
    started = time.perf_counter()
    for group in groups:
        # o2c reads each aggregate it touches once (a cached one: the events since).
        for originator in {row[1] for row in group}:
            raw.execute("SELECT originator_id, originator_version, topic, state FROM raw_events "
                        "WHERE originator_id = ? AND originator_version > ? "
                        "ORDER BY originator_version", (_salted(raw, originator, salt), 0)
                        ).fetchall()
        with raw.transaction():
            ids = []
            for row in group:
                cursor = raw.execute(
                    "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                    f"VALUES (?, ?, ?, ?) RETURNING {position}",
                    (_salted(raw, row[1], salt), row[2], row[3], row[4]))
                ids.append(cursor.fetchone()[0])
            raw.execute("SELECT hash FROM raw_meta ORDER BY notification_id DESC LIMIT 1"
                        ).fetchall()
            for nid, row in zip(ids, group, strict=True):
                raw.execute("INSERT INTO raw_meta VALUES (?, ?, ?, ?, ?)",
                            (nid, row[5], row[6], row[7], row[8]))
    elapsed = time.perf_counter() - started
    raw.close()
    return elapsed


def _salted(raw: Raw, originator: Any, salt: str) -> Any:
    """The same aggregate id within a replay, distinct across concurrent replays."""
    base = originator if isinstance(originator, uuid.UUID) else uuid.UUID(str(originator))
    salted = uuid.uuid5(base, salt)
    return salted if raw.postgres else salted.hex


def _parallel(target: Callable[..., Any], jobs: list[tuple[Any, ...]]) -> tuple[float, list[Any]]:
    """Runs jobs in processes at once; returns the wall time until all are done, and results."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(len(jobs)) as pool:
        started = time.perf_counter()
        results = pool.starmap(target, jobs)
        return time.perf_counter() - started, results


def order_cycles(url: str, scale: Scale) -> list[Figure]:
    """order_cycle_1, order_cycle_8 and projection_lag."""
    customer = _prepare(url)
    raw = Raw(url)
    _raw_tables(raw)
    head = raw.execute("SELECT MAX(notification_id) FROM o2c_event_meta").fetchone()[0]
    one, _ = _cycles(url, customer, scale.orders, 0)
    groups = _captured(raw, head)
    raw_one = _replay(url, groups, "one")
    figures = [_ratio("order_cycle_1", scale.orders / one, "orders/s",
                      scale.orders / raw_one, 0.5,
                      f"{len(groups)} transactions, {sum(map(len, groups))} events")]
    # Eight clients, and the projection lag under that load.
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    head = raw.execute("SELECT MAX(notification_id) FROM o2c_event_meta").fetchone()[0]
    per_client = max(1, scale.orders // 8)
    stop = context.Event()
    follower = context.Process(target=_follow, args=(url, stop))
    sampler_out = context.Queue()
    sampler = context.Process(target=_sample_positions, args=(url, stop, sampler_out))
    follower.start()
    sampler.start()
    try:
        _, results = _parallel(_cycles, [(url, customer, per_client, seed)
                                         for seed in range(8)])
        eight = max(elapsed for elapsed, _ in results)  # from each client's first command
        time.sleep(1.0)
    finally:
        stop.set()
        samples = sampler_out.get(timeout=120)
        for child in (follower, sampler):
            child.join(timeout=30)
            if child.is_alive():
                child.terminate()
    commits = [commit for _, client in results for commit in client if commit[0] >= 0]
    refused = per_client * 8 - len(commits)
    groups8 = _captured(raw, head)
    slices = [groups8[i::8] for i in range(8)]
    _, raw_times = _parallel(_replay, [(url, part, f"eight-{i}")
                                       for i, part in enumerate(slices)])
    raw_eight = max(raw_times)
    raw.close()
    figures.append(_ratio("order_cycle_8", len(commits) / eight, "orders/s",
                          per_client * 8 / raw_eight, 0.5,
                          f"8 processes, shared SKUs/accounts; {refused} orders refused "
                          "after retries"))
    lags = _lags(commits, samples)
    figures.append(Figure("projection_lag", round(_pct(lags, 99), 1), "ms p99", None, None,
                          "p99 < 250 ms", _pct(lags, 99) < 250,
                          f"p50 {_pct(lags, 50):.1f} ms over {len(lags)} commands"))
    return figures


def _follow(url: str, stop: Any) -> None:
    app = O2C(Settings(database_url=url, pool_size=1))
    Projector(app).run_forever(stop, interval=0.01)
    app.close()


def _sample_positions(url: str, stop: Any, out: Any) -> None:
    app = O2C(Settings(database_url=url, pool_size=1))
    projector = Projector(app)
    samples = []
    while not stop.is_set():
        samples.append((time.time(), projector.position()))
        time.sleep(0.005)
    app.close()
    out.put(samples)


def _lags(commits: list[tuple[int, float]], samples: list[tuple[float, int]]) -> list[float]:
    lags = []
    for position, committed in commits:
        seen = next((t for t, p in samples if p >= position and t >= committed), None)
        if seen is not None:
            lags.append((seen - committed) * 1000)
    return lags or [float("nan")]


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def _ratio(name: str, value: float, unit: str, limit: float, target: float,
           note: str = "") -> Figure:
    ratio = value / limit if limit else None
    return Figure(name, round(value, 2), unit, round(limit, 2), ratio and round(ratio, 3),
                  f"ratio >= {target}", ratio is not None and ratio >= target, note)


# Growing the log, hot account, reports, rebuild ---------------------------------------

def grow(url: str, events: int, processes: int = 2) -> int:
    """Writes real o2c commands (journal entries and order cycles) until the log holds
    at least ``events`` events; returns the head."""
    app = O2C(Settings(database_url=url, pool_size=1))
    head = app.db.head()
    app.close()
    missing = events - head
    if missing > 0:
        per = max(1, missing // (processes * 4))
        _parallel(_write_entries, [(url, per, i) for i in range(processes)])
    app = O2C(Settings(database_url=url, pool_size=1))
    head = app.db.head()
    app.close()
    return head


def _write_entries(url: str, count: int, seed: int) -> float:
    """Journal entries (one event each) spread over a year of effective dates."""
    app = O2C(Settings(database_url=url, pool_size=1))
    ctx = Context(actor=f"grow-{seed}")
    started = time.perf_counter()
    for number in range(count * 4):
        day = f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}"
        app.post_journal_entry(ctx, "bench sale", [
            {"account": "1000", "debit": "10.80"}, {"account": "4000", "credit": "10.00"},
            {"account": "2100", "credit": "0.80"}], date=day)
    app.close()
    return time.perf_counter() - started


def hot_account(url: str, scale: Scale) -> Figure:
    """Cost of a posting on an account with many postings vs with few."""
    app = O2C(Settings(database_url=url, pool_size=1))
    ctx = Context(actor="hot")
    lines = [{"account": "1000", "debit": "1.00"}, {"account": "3000", "credit": "1.00"}]
    for _ in range(10):
        app.post_journal_entry(ctx, "warm", lines)

    def timed(n: int = 200) -> float:
        started = time.perf_counter()
        for _ in range(n):
            app.post_journal_entry(ctx, "timed", lines)
        return (time.perf_counter() - started) / n * 1000

    few = timed()
    for _ in range(scale.hot_postings):
        app.post_journal_entry(ctx, "load", lines)
    many = timed()
    few_again = timed()  # the machine may have changed pace: compare with both
    app.close()
    baseline = (few + few_again) / 2
    ratio = many / baseline
    return Figure("hot_account", round(many, 3), "ms/command", round(baseline, 3),
                  round(ratio, 3), "ratio <= 1.2", ratio <= 1.2,
                  f"{scale.hot_postings} postings on account 1000 vs 10")


def report_figures(url: str) -> list[Figure]:
    """Current reports and the as-of/known-at trial balance, median of repeated runs."""
    app = O2C(Settings(database_url=url, pool_size=1))
    Projector(app).catch_up()
    with app.db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT COUNT(*), MAX(recorded_at) FROM {app.db.table('rm_postings')}"
                          ).fetchone()
    postings, last = (int(row[0]), row[1]) if row else (0, None)
    figures = []
    for name, call in (("trial_balance", lambda: reports.trial_balance(app)),
                       ("pipeline", lambda: reports.pipeline(app)),
                       ("inventory", lambda: reports.inventory(app))):
        ms = _median_ms(call)
        figures.append(Figure(f"report_current:{name}", round(ms, 3), "ms", None, None,
                              "< 10 ms", ms < 10))
    known = (datetime.fromisoformat(last.replace("Z", "+00:00")) if last
             else datetime.now(UTC))
    as_of = datetime(2026, 6, 30).date()
    ms = _median_ms(lambda: reports.trial_balance(app, as_of=as_of, known_at=known))
    figures.append(Figure("report_as_of", round(ms, 3), "ms", None, None, "< 250 ms", ms < 250,
                          f"over {postings} postings"))
    app.close()
    return figures


def _median_ms(call: Callable[[], object], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def rebuild(url: str) -> list[Figure]:
    """Rebuild speed against reading and JSON-decoding the same rows raw; peak memory."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_rebuild_child, args=(url, out))
    child.start()
    events, seconds, peak_mb = out.get(timeout=3600)
    child.join()
    raw = Raw(url)
    started = time.perf_counter()
    cursor = raw.execute(f"SELECT {_position(raw)}, originator_id, topic, state "
                         f"FROM {_events_table(raw)} ORDER BY {_position(raw)}")
    count = 0
    while True:
        rows = cursor.fetchmany(5000)
        if not rows:
            break
        for row in rows:
            json.loads(bytes(row[3]))
            count += 1
    raw_seconds = time.perf_counter() - started
    raw.close()
    return [_ratio("rebuild", events / seconds, "events/s", count / raw_seconds, 0.5,
                   f"{events} events"),
            Figure("rebuild_memory", round(peak_mb, 1), "MB peak RSS", None, None,
                   "<= 300 MB, flat in log size", peak_mb <= 300,
                   f"rebuilding {events} events")]


def _rebuild_child(url: str, out: Any) -> None:
    app = O2C(Settings(database_url=url, pool_size=1))
    projector = Projector(app)
    started = time.perf_counter()
    projector.rebuild()
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put((app.db.head(), seconds, peak_kb / 1024))
    app.close()


# HTTP ---------------------------------------------------------------------------------

def http_command(url: str, scale: Scale) -> Figure:
    """POST receipts through the API vs a bare FastAPI route doing the same raw write."""
    from o2c.bench import http

    return http.measure(url, scale.http_requests)


# The run ------------------------------------------------------------------------------

def run(database_url: str | None, scale_name: str = "quick",
        say: Callable[[str], None] = lambda _: None) -> list[Figure]:
    """Every figure, on a fresh store."""
    scale = Scale.named(scale_name)
    figures: list[Figure] = []
    with fresh_store(database_url) as url:
        say("order cycles (1 and 8 clients) and projection lag")
        figures += order_cycles(url, scale)
        say("hot account")
        figures.append(hot_account(url, scale))
        say(f"growing the log to {scale.log_events} events")
        grow(url, scale.log_events)
        say("reports")
        figures += report_figures(url)
        say("rebuild")
        figures += rebuild(url)
    with fresh_store(database_url) as url:
        say("HTTP")
        figures.append(http_command(url, scale))
    return figures


def environment() -> dict[str, str]:
    """What the figures were measured on."""
    import platform
    import sqlite3

    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")
    from importlib.metadata import version

    return {"python": platform.python_version(), "eventsourcing": version("eventsourcing"),
            "sqlite": sqlite3.sqlite_version, "cpus": str(os.cpu_count()), "cpu": model,
            "when": datetime.now(UTC).isoformat(timespec="seconds")}


def as_json(figures: list[Figure]) -> str:
    """The ``--json`` output."""
    return json.dumps({"figures": [f.as_dict() for f in figures],
                       "environment": environment()}, indent=2, default=str)

