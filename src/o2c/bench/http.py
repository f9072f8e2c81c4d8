"""HTTP commands per second with 16 clients, o2c's API against a bare route."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from o2c.bench import Figure, _pct
from o2c.bench.bare import create_tables

CLIENTS = 16
TOKEN = "bench-token"  # noqa: S105 - a throwaway token for a throwaway server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(target: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/openapi.json", timeout=1)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{target} did not start")


def _load(base: str, path: str, headers: dict[str, str], body: dict[str, Any],
          requests: int) -> tuple[float, list[float], int]:
    """``path`` may hold ``{n}``: each client then uses its own (its own SKU, say)."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    per_client = max(1, requests // CLIENTS)

    def client(number: int) -> None:
        nonlocal failures
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for _ in range(per_client):
                started = time.perf_counter()
                response = http.post(path.format(n=number), json=body)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    failures += response.status_code >= 300
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_client * CLIENTS / (time.perf_counter() - started), latencies, failures


def measure(url: str, requests: int) -> Figure:
    """Receipts through o2c's API vs the same writes through a bare route."""
    env = {"O2C_DATABASE_URL": url, "O2C_BOOTSTRAP_TOKEN": TOKEN,
           "O2C_SERVER_PROJECTOR": "false", "O2C_POOL_SIZE": "16"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    server, base = _serve("o2c.api:create_app", env)
    try:
        for number in range(CLIENTS):  # a SKU per client: contention is order_cycle_8's
            httpx.post(base + "/stock-items", headers=headers,
                       json={"sku": f"H-{number}", "name": "h"}, timeout=30).raise_for_status()
        rate, latencies, failures = _load(base, "/stock-items/H-{n}/receipts", headers,
                                          {"quantity": "1", "unit_cost": "2.00"}, requests)
    finally:
        server.terminate()
        server.wait(timeout=30)
    create_tables(url)
    bare, bare_base = _serve("o2c.bench.bare:create_app", {"O2C_BENCH_URL": url})
    try:
        bare_rate, _, bare_failures = _load(bare_base, "/receipts", {},
                                            {"quantity": "1", "unit_cost": "2.00"}, requests)
    finally:
        bare.terminate()
        bare.wait(timeout=30)
    ratio = rate / bare_rate
    return Figure("http_command", round(rate, 1), "commands/s", round(bare_rate, 1),
                  round(ratio, 3), "ratio >= 0.5", ratio >= 0.5,
                  f"16 clients; p50 {_pct(latencies, 50):.1f} ms, p99 {_pct(latencies, 99):.1f} "
                  f"ms; failures {failures} (bare {bare_failures})")
