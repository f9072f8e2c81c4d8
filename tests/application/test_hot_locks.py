"""Hot stock items: a lost write race makes the item's later commands take its lock.

The locks (advisory locks on PostgreSQL, byte-range file locks beside SQLite)
must exclude each other between applications in one process and between
processes, and a command must take them only for items that are hot.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from o2c.application import HOT_SECONDS, O2C, Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.stock_item import StockItem

CTX = Context(actor="test")
ITEM = StockItem.create_id("HOT-1")


def _waits_for(release: Any, second: O2C) -> None:
    """``second`` cannot take the lock while it is held, and takes it once ``release``
    is set (the holder then lets go). Nothing here depends on how fast the machine is:
    a lock that did not exclude would be taken during the wait and fail the test."""
    acquired = threading.Event()

    def take() -> None:
        with second.locks.hold([ITEM]):
            acquired.set()

    thread = threading.Thread(target=take)
    thread.start()
    assert not acquired.wait(0.3)  # still held by the other holder
    release.set()
    thread.join(30)
    assert acquired.is_set()


def test_a_held_lock_makes_another_application_wait(settings: Settings) -> None:
    first, second = build_app(settings), build_app(settings)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with first.locks.hold([ITEM]):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        # Another item is not held up by it.
        taken_cold = threading.Event()

        def take_cold() -> None:
            with second.locks.hold([StockItem.create_id("COLD")]):
                taken_cold.set()

        cold = threading.Thread(target=take_cold)
        cold.start()
        cold.join(30)
        assert taken_cold.is_set()
        _waits_for(release, second)
    finally:
        release.set()
        holder.join(30)
        first.close()
        second.close()


def _hold_in_child(settings: Settings, held: Any, release: Any) -> None:
    app = build_app(settings)
    with app.locks.hold([ITEM]):
        held.set()
        release.wait(60)
    app.close()


def test_a_held_lock_makes_another_process_wait(settings: Settings) -> None:
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    child = context.Process(target=_hold_in_child, args=(settings, held, release))
    child.start()
    app = build_app(settings)
    try:
        assert held.wait(60)
        _waits_for(release, app)
    finally:
        release.set()
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
    app.runner.hot._lost[ITEM] -= HOT_SECONDS  # cooled down
    app.receive_stock(CTX, "HOT-1", "5", "1.00")
    assert held == [[ITEM], [ITEM]]
