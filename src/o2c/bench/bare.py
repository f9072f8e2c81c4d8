"""The HTTP limit: a bare FastAPI route writing, per request, the rows one o2c
request wrote (its transaction, with the same point reads), through ``raw``.

It is served by uvicorn exactly as o2c's API is. The transactions come from a
pickle file written by the harness after the o2c run (``O2C_BENCH_TXNS``).
"""

from __future__ import annotations

import os
import pickle
import threading
import uuid
from typing import Any

from fastapi import FastAPI

from o2c.bench.raw import Names, Raw, Txn, write


def create_app() -> FastAPI:
    """One ``def`` route (run in the thread pool, as o2c's command routes are)."""
    url = os.environ["O2C_BENCH_URL"]
    with open(os.environ["O2C_BENCH_TXNS"], "rb") as source:
        names: Names
        locked: Names | None
        txns: list[Txn]
        names, locked, txns = pickle.load(source)  # noqa: S301 - our file, written just before
    lock = threading.Lock()
    local = threading.local()
    state = {"plain": 0, "locked": 0}
    app = FastAPI()

    def take(which: str) -> Txn:
        with lock:
            number = state[which]
            state[which] += 1
        txn = txns[number % len(txns)]
        if number < len(txns):
            return txn
        # More requests than o2c made (it had failures): the same rows under new ids.
        fresh = {e[0]: uuid.uuid4() for e in txn.events}
        return Txn(events=[(fresh[e[0]], *e[1:]) for e in txn.events], meta=txn.meta,
                   command=None, reads=txn.reads)

    def connection() -> Raw:
        if not hasattr(local, "raw"):
            local.raw = Raw(url)
        raw: Raw = local.raw
        return raw

    @app.get("/warm")
    def warm() -> dict[str, bool]:
        connection()  # as o2c's pool is warm, so is this thread's connection
        return {"ok": True}

    @app.post("/write", status_code=201)
    def write_route(body: dict[str, Any]) -> dict[str, Any]:
        ids = write(connection(), names, take("plain"))
        return {"position": ids[-1], "fields": len(body)}

    @app.post("/write-locked", status_code=201)
    def write_locked(body: dict[str, Any]) -> dict[str, Any]:
        """The same, into a second set of copies, taking o2c's table lock (PostgreSQL)."""
        assert locked is not None
        ids = write(connection(), locked, take("locked"), lock=True)
        return {"position": ids[-1], "fields": len(body)}

    return app
