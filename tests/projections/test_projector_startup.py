"""Starting a projector (what ``o2c serve`` does at start-up) beside a running
``o2c projections run`` worker under load: no deadlock, no error.

Creating the read-model tables used to run its DDL and the tracking rows' inserts
in one transaction: ``CREATE INDEX IF NOT EXISTS`` takes a share lock on its table
even when the index exists, and the insert then waited for the worker's batch,
which waited for that table: ``DeadlockDetected ... o2c_tracking`` in 3 of 13
server starts.
"""

from __future__ import annotations

import threading
import time

import pytest

from o2c.application import Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.projections import Projector

CTX = Context(actor="test")
#: How long projectors keep starting beside the worker.
SECONDS = 3.0


@pytest.mark.postgres
def test_projectors_start_beside_a_running_worker_without_deadlock(pg_schema_url: str) -> None:
    app = build_app(Settings(database_url=pg_schema_url, currency="USD", pool_size=6))
    try:
        worker = Projector(app.db, app.settings)
        app.register_stock_item(CTX, "P-1", "Part one")
        stop = threading.Event()
        failures: list[BaseException] = []
        written = [0]

        def follow() -> None:
            try:
                worker.run_forever(stop, interval=0.001)
            except BaseException as error:
                failures.append(error)

        def write() -> None:
            try:
                while not stop.is_set():  # each: a stock event and its journal entry
                    app.receive_stock(CTX, "P-1", "1", "1.00")
                    written[0] += 1
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=follow), threading.Thread(target=write)]
        for thread in threads:
            thread.start()
        starts = 0
        try:
            deadline = time.monotonic() + SECONDS
            while time.monotonic() < deadline and not failures:
                Projector(app.db, app.settings)  # a server starting
                starts += 1
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert not failures, failures
        assert starts >= 10, starts
        assert written[0] >= 10, written
        assert worker.catch_up() == app.db.head()
        assert worker.health().ok
    finally:
        app.close()
