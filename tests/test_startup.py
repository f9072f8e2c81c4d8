"""Several processes opening one fresh store at the same moment all start."""

from __future__ import annotations

import multiprocessing

from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.projections import Projector


def _start(url: str) -> None:
    app = build_app(Settings(database_url=url, pool_size=1))
    Projector(app.db, app.settings)
    app.close()


def test_concurrent_start_on_a_fresh_store(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_start, args=(database_url,)) for _ in range(5)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * 5
    app = build_app(Settings(database_url=database_url))
    try:
        assert app.db.head() == 10  # the chart of 9 accounts and the periods record, once
    finally:
        app.close()
