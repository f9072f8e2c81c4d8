"""The figures: what a measurement is reported as, and the prose that explains it.

Nothing here measures: the harness (``o2c.bench.harness``) times things and
hands the numbers to the builders below, which name each figure, round its
value, set its target and say how it was measured. ``Figure.as_dict()`` is
the record of ``o2c bench --json``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

#: Where the harness reports its progress (a line at a time).
Say = Callable[[str], None]


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


# Small statistics and wording ----------------------------------------------------------

def pct(values: Sequence[float], percentile: float) -> float:
    """The nearest-rank percentile (nan when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * percentile / 100))
    return ordered[min(len(ordered), rank) - 1]


def grouped(number: int) -> str:
    """A count as prose writes it (``12,345``)."""
    return f"{number:,}"


def ratio_figure(name: str, value: float, unit: str, limit: float, minimum: float,
                 note: str = "", detail: dict[str, Any] | None = None) -> Figure:
    """A figure whose target is ``value / limit >= minimum``."""
    ratio = value / limit if limit else math.nan
    return Figure(name, round(value, 2), unit, round(limit, 2), round(ratio, 3),
                  f"ratio >= {minimum}", ratio >= minimum, note, detail or {})


# The figures, in the order of the harness's run -------------------------------------------

def stage_figures(stages: Sequence[Stage]) -> list[Figure]:
    """rebuild, rebuild_memory, report_current:*, report_as_of, command_growth and
    rebuild_growth: the largest log's stage against the smallest's."""
    first, last = stages[0], stages[-1]
    sizes = " / ".join(grouped(s.events) for s in stages)
    log = f"{grouped(last.events)}-event log"
    detail = {"stages": [asdict(s) for s in stages]}
    processes = (f"in {last.processes} processes (the trial balance beside the other "
                 "read models)" if last.processes > 1 else "in one process")
    figures = [ratio_figure(
        "rebuild", last.rebuild_rate, f"events/s, {log}", last.raw_read_rate, 0.5,
        f"Projector.rebuild() of every read model, {processes}, vs one process reading "
        f"the same rows (events joined with their recording time) in batches and "
        f"json.loads of each state; {last.rebuild_seconds:.1f} s", detail)]
    # Flat in log size: the largest process of the rebuild against the same at the
    # smallest log (a long rebuild may run in more processes; the value is all of them).
    ratio = last.process_peak_mb / first.process_peak_mb
    figures.append(Figure(
        "rebuild_memory", round(last.peak_mb, 1), f"MB peak RSS, {log}",
        round(first.process_peak_mb, 1), round(ratio, 3),
        "<= 300 MB in all, flat (largest process ratio <= 1.25)",
        last.peak_mb <= 300 and ratio <= 1.25,
        f"fresh process rebuilding, value = the peaks of all its processes added; ratio = "
        f"its largest process ({last.process_peak_mb:.0f} MB) against the same at "
        f"{grouped(first.events)} events; at {sizes} events: "
        + " / ".join(f"{s.peak_mb:.0f} MB in {s.processes}" for s in stages)))
    for name in last.reports_ms:
        value, small = last.reports_ms[name], first.reports_ms[name]
        figures.append(Figure(
            f"report_current:{name}", round(value, 3), f"ms median, {log}", round(small, 3),
            round(value / small, 3), "< 10 ms, flat (ratio <= 2)",
            value < 10 and value / small <= 2,
            f"limit column = the same at {grouped(first.events)} events; at {sizes}: "
            + " / ".join(f"{s.reports_ms[name]:.2f}" for s in stages) + " ms"))
    figures.append(Figure(
        "report_as_of", round(last.as_of_max_ms, 3),
        f"ms, slowest of 16 points, {grouped(last.postings)} postings",
        round(first.as_of_max_ms, 3), round(last.as_of_max_ms / first.as_of_max_ms, 3),
        "< 250 ms", last.as_of_max_ms < 250,
        f"trial_balance(as_of=, known_at=) at 15 points spread over the log and as known "
        f"now; median {last.as_of_ms:.1f} ms; limit column = the same over "
        f"{grouped(first.postings)} postings; slowest at {sizes} events: "
        + " / ".join(f"{s.as_of_max_ms:.1f}" for s in stages) + " ms"))
    ratio = last.relative_cycle_cost / first.relative_cycle_cost
    figures.append(Figure(
        "command_growth", round(last.relative_cycle_cost, 3),
        f"x raw cost of an order cycle, {log}", round(first.relative_cycle_cost, 3),
        round(ratio, 3), "ratio <= 1.2 (flat)", ratio <= 1.2,
        f"o2c's cost per order cycle over the raw replay of its rows, measured in "
        f"alternating rounds (so the machine's pace cancels); limit column = the same "
        f"at {grouped(first.events)} events; ms per cycle at {sizes}: "
        + " / ".join(f"{s.cycle_ms:.1f}" for s in stages) + " (raw "
        + " / ".join(f"{s.raw_cycle_ms:.1f}" for s in stages) + ")"))
    ratio = last.rebuild_rate / first.rebuild_rate
    figures.append(Figure(
        "rebuild_growth", round(last.rebuild_rate, 1), f"events/s, {log}",
        round(first.rebuild_rate, 1), round(ratio, 3), "ratio >= 0.8 (time linear)",
        ratio >= 0.8,
        f"limit column = the same at {grouped(first.events)} events; seconds at {sizes}: "
        + " / ".join(f"{s.rebuild_seconds:.1f}" for s in stages)))
    return figures


def order_cycle_1(done: int, seconds: float, raw_seconds: float, rounds: int,
                  transactions: int, events: int, reads: int) -> Figure:
    """One client's order cycles against the raw replay of their rows."""
    return ratio_figure(
        "order_cycle_1", done / seconds, "orders/s", done / raw_seconds, 0.5,
        f"{grouped(done)} orders in {rounds} rounds alternating with raw; "
        f"{grouped(transactions)} transactions, {grouped(events)} events, {grouped(reads)} "
        "point reads",
        {"orders": done, "transactions": transactions, "events": events,
         "point_reads": reads})


def order_cycle_8(done: int, seconds: float, raw_seconds: float, *, conflicts: int,
                  refused: int, o2c_busy: float, raw_busy: float, client_cpu_ms: float,
                  locked_rate: float | None) -> Figure:
    """Eight clients' order cycles against eight raw processes replaying their rows
    (and, on PostgreSQL, the same with o2c's table lock: ``locked_rate``)."""
    detail: dict[str, Any] = {
        "orders": done, "conflicts": conflicts, "refused": refused,
        # Both cores busy means the run is bound by CPU, not by the database's locks.
        "machine_cpu_busy_o2c": round(o2c_busy, 3), "machine_cpu_busy_raw": round(raw_busy, 3),
        "o2c_client_cpu_ms_per_order": round(client_cpu_ms, 2)}
    locked = ""
    if locked_rate is not None:
        detail["raw_with_table_lock"] = round(locked_rate, 2)
        locked = f"; raw with o2c's table lock: {locked_rate:.1f} orders/s"
    return ratio_figure(
        "order_cycle_8", done / seconds, "orders/s", done / raw_seconds, 0.5,
        f"8 processes, distinct orders on 3 shared SKUs and shared accounts, projection "
        f"worker following; {grouped(done)} orders, {conflicts} write conflicts retried, "
        f"{refused} orders refused after retries{locked}; machine CPU busy "
        f"{o2c_busy:.0%} (o2c) vs {raw_busy:.0%} (raw), o2c clients "
        f"{client_cpu_ms:.1f} CPU ms per order", detail)


def projection_lag(lags: Sequence[float | None]) -> Figure:
    """Commit to read models, per command (None: not seen within 60 s)."""
    seen = [lag for lag in lags if lag is not None]
    unseen = len(lags) - len(seen)
    p99 = pct([lag if lag is not None else math.inf for lag in lags], 99)
    return Figure(
        "projection_lag", round(p99, 1) if math.isfinite(p99) else 60_000.0, "ms p99",
        None, None, "p99 < 250 ms", p99 < 250,
        f"commit to read models, {grouped(len(lags))} commands under the order_cycle_8 load; "
        f"p50 {pct(seen, 50):.1f} ms; {unseen} not seen within 60 s; position polled "
        "every 5 ms", {"p50_ms": round(pct(seen, 50), 1), "commands": len(lags),
                       "unseen": unseen})


def http_command(o2c: dict[str, Any], bare: dict[str, Any], locked: dict[str, Any] | None,
                 conflicts: int, clients: int) -> Figure:
    """o2c's API against the bare route; each side is a ``load()`` result of
    ``o2c.bench.http`` (rate, latencies, failures, requests)."""
    ratio = o2c["rate"] / bare["rate"]
    lat, bare_lat = o2c["latencies"], bare["latencies"]
    detail = {"requests": o2c["requests"], "p50_ms": round(pct(lat, 50), 1),
              "p99_ms": round(pct(lat, 99), 1), "bare_p50_ms": round(pct(bare_lat, 50), 1),
              "bare_p99_ms": round(pct(bare_lat, 99), 1), "failures": len(o2c["failures"]),
              "bare_failures": len(bare["failures"]), "conflicts": conflicts}
    also = ""
    if locked is not None:
        detail["bare_with_table_lock"] = round(locked["rate"], 1)
        detail["bare_with_table_lock_p99_ms"] = round(pct(locked["latencies"], 99), 1)
        also = f"; bare route with o2c's table lock: {locked['rate']:.1f}/s"
    return Figure(
        "http_command", round(o2c["rate"], 1), "commands/s", round(bare["rate"], 1),
        round(ratio, 3), "ratio >= 0.5", ratio >= 0.5,
        f"POST /stock-items/{{sku}}/receipts with Idempotency-Key, {clients} clients, "
        f"{o2c['requests']} requests; p50 {detail['p50_ms']} ms, p99 {detail['p99_ms']} ms "
        f"(bare p50 {detail['bare_p50_ms']} ms, p99 {detail['bare_p99_ms']} ms); "
        f"failures {detail['failures']} (bare {detail['bare_failures']}){also}", detail)


def page_render(name: str, page: str, json_route: str, page_ms: float, json_ms: float,
                rounds: int) -> Figure:
    """A web page's median time against its API route's, both in-process."""
    ratio = page_ms / json_ms
    return Figure(
        f"page_render:{name}", round(page_ms, 3), "ms median", round(json_ms, 3),
        round(ratio, 3), "ratio <= 2 and < 50 ms", ratio <= 2 and page_ms < 50,
        f"GET {page} signed in, against GET {json_route} with a bearer token; in-process "
        f"ASGI (no network), interleaved, median of {rounds} each after 3 to warm up",
        {"page": page, "json_route": json_route})


def hot_account(hot_ms: float, cold_ms: float, postings: int, pairs: int) -> Figure:
    """The median command on account 1000 holding ``postings`` against one on a fresh
    account."""
    ratio = hot_ms / cold_ms
    return Figure(
        "hot_account", round(hot_ms, 3), "ms/command", round(cold_ms, 3), round(ratio, 3),
        "ratio <= 1.2", ratio <= 1.2,
        f"post_journal_entry on account 1000 holding {grouped(postings)}+ "
        f"postings vs on a fresh account holding 10, interleaved, median of "
        f"{pairs} each", {"postings": postings})
