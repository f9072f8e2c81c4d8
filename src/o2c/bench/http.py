"""The machinery of ``http_command``: stock receipts through o2c's API against a bare
route writing the same rows, each under uvicorn on a loopback port, 16 client threads.

The harness runs the figure (``Bench.http_command``); this module starts the
servers, loads them and reads back what o2c's server probed.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Response

from o2c.bench.raw import Names, Txn

CLIENTS = 16
TOKEN = "bench-" + uuid.uuid4().hex  # a throwaway admin token for a throwaway server
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
START_SECONDS = 60


def probed_app() -> FastAPI:
    """o2c's API, unchanged, with a probe recording each command's reads and positions
    and a route handing them to the harness."""
    from o2c.api import create_app
    from o2c.bench.workload import Probe

    api = create_app()
    probe = Probe(api.state.o2c)

    @api.get("/__bench/probe", include_in_schema=False)
    def dump() -> Response:
        return Response(pickle.dumps((probe.txns, probe.conflicts)),
                        media_type="application/octet-stream")

    return api


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A uvicorn process on 127.0.0.1 serving an app factory."""

    def __init__(self, target: str, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
            [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            env={**os.environ, **env})
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{target} exited with {self.process.returncode}")
            try:
                httpx.get(self.base + "/openapi.json", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{target} did not start within {START_SECONDS} s")

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 30 s)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def load(base: str, path: str, headers: dict[str, str], requests: int, *,
         keyed: bool = False) -> dict[str, Any]:
    """``requests`` POSTs from ``CLIENTS`` threads (``{n}`` in ``path`` is the client's
    number); returns the rate, the latencies in ms and the failures."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    per_client = max(1, requests // CLIENTS)
    body = {"quantity": "1", "unit_cost": "2.00"}

    def client(number: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            for _ in range(per_client):
                extra = {"Idempotency-Key": uuid.uuid4().hex} if keyed else {}
                started = time.perf_counter()
                response = http.post(path.format(n=number), json=body, headers=extra)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    if response.status_code >= 300:
                        failures.append(response.status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"rate": per_client * CLIENTS / seconds, "latencies": latencies,
            "failures": failures, "requests": per_client * CLIENTS}


def _warm(base: str) -> None:
    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for _ in range(4):
                http.get("/warm").raise_for_status()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def serve_o2c(url: str) -> Server:
    """o2c's API on ``url`` (no in-server projector, the probe installed), a SKU per
    client registered and each warmed up with a receipt."""
    env = {"O2C_DATABASE_URL": url, "O2C_BOOTSTRAP_TOKEN": TOKEN,
           "O2C_SERVER_PROJECTOR": "false", "O2C_POOL_SIZE": str(CLIENTS)}
    server = Server("o2c.bench.http:probed_app", env)
    try:
        with httpx.Client(base_url=server.base, headers=HEADERS, timeout=60) as http:
            for number in range(CLIENTS):  # a SKU per client: contention is order_cycle_8's
                http.post("/stock-items", json={"sku": f"H-{number}", "name": "h"}
                          ).raise_for_status()
                http.post(f"/stock-items/H-{number}/receipts",  # warms the server up
                          json={"quantity": "1", "unit_cost": "2.00"}).raise_for_status()
    except BaseException:
        server.stop()
        raise
    return server


def load_o2c(server: Server, requests: int) -> dict[str, Any]:
    """Receipts with an Idempotency-Key through o2c's API: ``load()``'s result."""
    return load(server.base, "/stock-items/H-{n}/receipts", HEADERS, requests, keyed=True)


def probed(server: Server) -> tuple[list[Any], int]:
    """What the probe in o2c's server saw: its transactions (first and last position,
    reads before and after) and the concurrency conflicts it counted."""
    with httpx.Client(base_url=server.base, timeout=60) as http:
        found, conflicts = pickle.loads(http.get("/__bench/probe").content)  # noqa: S301
    return found, conflicts


def load_bare(url: str, copies: Names, locked: Names | None, txns: list[Txn],
              requests: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The bare route writing ``txns`` into ``copies`` under the same load; and, when
    ``locked`` copies are given, the same with o2c's table lock taken."""
    with tempfile.TemporaryDirectory(prefix="o2c-bench-") as folder:
        path = Path(folder) / "txns.pickle"
        path.write_bytes(pickle.dumps((copies, locked, txns)))
        bare = Server("o2c.bench.bare:create_app",
                      {"O2C_BENCH_URL": url, "O2C_BENCH_TXNS": str(path)})
        try:
            _warm(bare.base)
            raw = load(bare.base, "/write", {}, requests)
            with_lock = (load(bare.base, "/write-locked", {}, requests)
                         if locked is not None else None)
        finally:
            bare.stop()
    return raw, with_lock
