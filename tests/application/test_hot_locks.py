"""Hot stock items: a lost write race makes the item's later commands take its lock.

The locks (advisory locks on PostgreSQL, byte-range file locks beside SQLite)
must exclude each other between applications in one process and between
processes, and a command must take them only for items that are hot.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from o2c.application import HOT_SECONDS, O2C, Context
from o2c.config import Settings
from o2c.domain.stock_item import StockItem

CTX = Context(actor="test")
ITEM = StockItem.create_id("HOT-1")


def _second_holder_waits(first: O2C, second: O2C) -> float:
    """How long ``second`` waited for the lock ``first`` held for 0.3 s."""
    held, waited = threading.Event(), []

    def hold() -> None:
        with first.locks.hold([ITEM]):
            held.set()
            time.sleep(0.3)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    started = time.monotonic()
    with second.locks.hold([ITEM]):
        waited.append(time.monotonic() - started)
    thread.join()
    return waited[0]


def test_a_held_lock_makes_another_application_wait(settings: Settings) -> None:
    first, second = O2C(settings), O2C(settings)
    try:
        assert _second_holder_waits(first, second) >= 0.2
        # Other items are not held up.
        started = time.monotonic()
        with first.locks.hold([ITEM]), second.locks.hold([StockItem.create_id("COLD")]):
            pass
        assert time.monotonic() - started < 0.2
    finally:
        first.close()
        second.close()


def _hold_in_child(settings: Settings, ready: Any, seconds: float) -> None:
    app = O2C(settings)
    with app.locks.hold([ITEM]):
        ready.set()
        time.sleep(seconds)
    app.close()


def test_a_held_lock_makes_another_process_wait(settings: Settings) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    child = context.Process(target=_hold_in_child, args=(settings, ready, 0.5))
    child.start()
    app = O2C(settings)
    try:
        assert ready.wait(60)
        started = time.monotonic()
        with app.locks.hold([ITEM]):
            waited = time.monotonic() - started
        assert waited >= 0.2
    finally:
        child.join(30)
        app.close()
    assert child.exitcode == 0


def test_only_hot_items_are_locked_and_a_lost_race_makes_an_item_hot(
        app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
    app.register_stock_item(CTX, "HOT-1", "Hot")
    held: list[list[UUID]] = []
    real_hold = app.locks.hold

    def recording_hold(ids: list[UUID]) -> Any:
        held.append(list(ids))
        return real_hold(ids)

    monkeypatch.setattr(app.locks, "hold", recording_hold)
    app.receive_stock(CTX, "HOT-1", "5", "1.00")
    assert held == []  # never lost a race: no lock taken

    real_save, failures = app.save, [1]

    def losing_once(*objs: Any, **kwargs: Any) -> Any:
        if failures:
            failures.pop()
            raise IntegrityError("another writer took this version")
        return real_save(*objs, **kwargs)

    monkeypatch.setattr(app, "save", losing_once)
    app.receive_stock(CTX, "HOT-1", "5", "1.00")
    assert held == [[ITEM]]  # the retry held the item's lock
    assert app.stock_item("HOT-1").on_hand == 10

    app.receive_stock(CTX, "HOT-1", "5", "1.00")  # still hot: locked from the start
    assert held == [[ITEM], [ITEM]]
    app._hot[ITEM] -= HOT_SECONDS  # cooled down
    app.receive_stock(CTX, "HOT-1", "5", "1.00")
    assert held == [[ITEM], [ITEM]]
