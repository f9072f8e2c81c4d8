"""Readings of the machine the bench runs on: CPU time from ``/proc/stat``, the CPU
model and memory from ``/proc``, and the versions of what o2c runs on.

Where there is no ``/proc`` (not Linux) the readings are zeros or left out.
"""

from __future__ import annotations

import math
import os
import platform
import sqlite3
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

#: (busy, total) CPU time of the whole machine, in clock ticks.
CpuTimes = tuple[float, float]


def cpu_times() -> CpuTimes:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat (zeros elsewhere)."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0.0, 0.0
    fields = [float(v) for v in stat.read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle and iowait
    return sum(fields) - idle, sum(fields)


def busy(before: CpuTimes, after: CpuTimes) -> float:
    """The fraction of the machine's CPU that was busy between two ``cpu_times()``."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else math.nan


def environment(database_url: str | None) -> dict[str, str]:
    """What the figures were measured on."""
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
