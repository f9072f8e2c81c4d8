"""The composition root: settings in, the wired parts of one process out.

Everything that turns configuration into objects happens here and nowhere
else: the eventsourcing environment for the database URL, the locks on hot
aggregates, the application (``O2C``), plain transactions on the same database
(``Database``), and an API server's projector and token store. Callers (the
CLI, the API factory, the bench, tests) ask for what they need; nothing below
this module builds its own ``Settings()`` or opens its own store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from o2c.application import O2C
from o2c.application.ledger import BalancesThrough
from o2c.application.orders import OpenOrdersOf
from o2c.auth import TokenStore
from o2c.config import Settings
from o2c.persistence import log
from o2c.persistence.connection import env_for_url, is_postgres, schema_lock
from o2c.persistence.locks import AggregateLocks, aggregate_locks
from o2c.persistence.sql import Database
from o2c.projections import Projector, reports
from o2c.projections.rebuild import drop


def store_env(settings: Settings) -> dict[str, str]:
    """eventsourcing's environment for the configured store and cache."""
    env = env_for_url(settings.database_url, pool_size=settings.pool_size)
    env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache_size)
    env["AGGREGATE_CACHE_FASTFORWARD"] = "y"
    return env


class StoreMissing(LookupError):
    """No o2c store where the settings point: no SQLite file (or one without o2c's
    log in it: ``other_file``), or no o2c log in the PostgreSQL schema."""

    def __init__(self, message: str, *, other_file: bool = False) -> None:
        super().__init__(message)
        self.other_file = other_file


class StoreReadOnly(PermissionError):
    """The SQLite store cannot be written (its file or folder is read-only) and the
    command would write."""


def check_store_url(settings: Settings) -> None:
    """Raises ``ValueError`` with a one-line reason if ``O2C_DATABASE_URL`` cannot be
    used (a malformed path, port or scheme)."""
    store_env(settings)


def where(settings: Settings) -> str:
    """The store named for a message: a SQLite file, or a PostgreSQL schema (without
    the password)."""
    env = env_for_url(settings.database_url)
    if not is_postgres(env):
        return f"SQLite file {Path(env['SQLITE_DBNAME']).absolute()}"
    return (f"PostgreSQL schema {env['POSTGRES_SCHEMA']} of {env['POSTGRES_USER']}@"
            f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}")


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite store's file (None on PostgreSQL)."""
    env = env_for_url(settings.database_url)
    return None if is_postgres(env) else Path(env["SQLITE_DBNAME"])


def _writable(path: Path) -> bool:
    # Write permission for this process, and for someone at all: root may write through
    # a chmod 444, but an operator who made the file or its folder read-only meant it.
    try:
        return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)
    except OSError:
        return False


def read_only(settings: Settings) -> bool:
    """Whether the configured store exists and cannot be written: a SQLite file that
    is read-only or sits in a read-only folder (PostgreSQL: never, as far as o2c
    can tell before writing)."""
    path = sqlite_file(settings)
    return (path is not None and path.is_file()
            and not (_writable(path) and _writable(path.absolute().parent)))


def build_app(settings: Settings | None = None, env: dict[str, str] | None = None, *,
              record_opening: bool = True) -> O2C:
    """The application on the configured store (keep one per process), creating the
    store if it does not exist; ``env`` adds to or overrides eventsourcing's
    environment (tests use it). A read-only SQLite store is ``StoreReadOnly``.
    ``record_opening``: record the book currency and the default chart if they are
    not in the log yet (commands that only read record nothing)."""
    settings = settings or Settings()
    if env is None and read_only(settings):
        raise StoreReadOnly(f"the {where(settings)} is read-only (the file or its folder): "
                            "this command writes")
    full = {**store_env(settings), **(env or {})}
    with schema_lock(full):
        app = O2C(settings, env=full, locks=aggregate_locks(full),
                  record_opening=record_opening)
    app.balances_through = balances_port(app)
    app.open_orders_of = open_orders_port(app)
    return app


def open_orders_port(app: O2C) -> OpenOrdersOf:
    """Credit control's orders of a customer: those the order-status read model lists as
    carrying exposure, and every order with an event the model has not applied yet
    (``reports.orders_that_may_carry_exposure``: reads only)."""
    def open_orders_of(customer_id: UUID) -> list[str]:
        return sorted(reports.orders_that_may_carry_exposure(app.db, str(customer_id)))
    return open_orders_of


def balances_port(app: O2C) -> BalancesThrough:
    """The year-end close's balances: the trial-balance read model caught up to the
    log's head (by a projector of its own), summed as of the day."""
    def balances_through(day: date) -> dict[str, tuple[Decimal, Decimal]]:
        Projector(app.db, app.settings, names=["trial_balance"]).catch_up()
        report = reports.trial_balance(app.db, app.places, as_of=day)
        return {row["code"]: (row["debit"], row["credit"]) for row in report["accounts"]}
    return balances_through


def _reading_env(settings: Settings, *, writable: bool) -> dict[str, str]:
    """eventsourcing's environment for opening an existing store without DDL.

    Not ``writable``, a SQLite file is opened through a ``mode=ro`` URI, so nothing
    can write it (root included), and ``immutable`` when no write-ahead log is
    pending: SQLite then needs no ``-shm``/``-wal`` files beside it (a read-only
    folder) and eventsourcing's switch to WAL mode is a no-op instead of a write.
    """
    env = {**store_env(settings), "CREATE_TABLE": "n"}
    path = sqlite_file(settings)
    if path is not None and not writable:
        wal = Path(f"{path}-wal")
        pending = wal.is_file() and wal.stat().st_size > 0
        env["SQLITE_DBNAME"] = (f"file:{quote(str(path.absolute()))}?mode=ro"
                                + ("" if pending else "&immutable=1"))
    return env


def _check_exists(settings: Settings) -> None:
    """``StoreMissing`` unless the configured store holds o2c's log (looked at without
    creating or changing anything)."""
    path = sqlite_file(settings)
    if path is not None and not path.is_file():
        raise StoreMissing(f"no o2c store: the {where(settings)} does not exist "
                           "(check O2C_DATABASE_URL, or run `o2c demo` to create one)")
    env = _reading_env(settings, writable=False)
    factory: Any = InfrastructureFactory.construct(Environment("O2C", env))
    db = Database(factory.application_recorder())
    try:
        found = log.exists(db)
    finally:
        db.datastore.close()
    if not found:
        other = path is not None and path.stat().st_size > 0
        raise StoreMissing(f"no o2c store: the {where(settings)} "
                           + ("holds no o2c log" if other or path is None else "is empty")
                           + " (check O2C_DATABASE_URL, or run `o2c demo` to create one)",
                           other_file=other)


def open_existing(settings: Settings, *, write: bool | None = None) -> tuple[O2C, bool]:
    """The application on a store that already exists, and whether it may write.

    Never creates a store: ``StoreMissing`` when there is none. ``write=None``
    (commands that only read) opens a read-only SQLite store read-only and any
    other writable; ``write=False`` opens read-only whatever the file allows;
    ``write=True`` is ``StoreReadOnly`` on a read-only store. Opened read-only, no
    table is created and nothing is written (the chart is already there).
    """
    writable = not read_only(settings) if write is None else write
    if writable and read_only(settings):
        raise StoreReadOnly(f"the {where(settings)} is read-only (the file or its folder): "
                            "this command writes")
    _check_exists(settings)
    if writable:
        return build_app(settings, record_opening=write is True), True
    env = _reading_env(settings, writable=False)
    return O2C(settings, env=env, locks=AggregateLocks(), record_opening=False), False


@dataclass
class Server:
    """What one API server process holds: the application, the projector that keeps
    its read models current, and the token store that knows its callers."""

    settings: Settings
    app: O2C
    projector: Projector
    tokens: TokenStore
    owns_app: bool

    def close(self) -> None:
        """Closes the application if this server built it."""
        if self.owns_app:
            self.app.close()


def build_server(settings: Settings | None = None, app: O2C | None = None) -> Server:
    """A server's parts, on ``app`` or on a new application from ``settings``."""
    settings = settings or (app.settings if app is not None else Settings())
    o2c = app or build_app(settings)
    return Server(settings, o2c, Projector(o2c.db, o2c.settings),
                  TokenStore(o2c.db, settings.bootstrap_token), owns_app=app is None)


def open_database(settings: Settings) -> Database:
    """Plain transactions on the configured store, without an application (for
    processes that only read the log or write read models, e.g. rebuild workers).
    The log's tables must exist (an application created them)."""
    env = store_env(settings)
    with schema_lock(env):  # eventsourcing's CREATE ... IF NOT EXISTS races on PostgreSQL
        factory: Any = InfrastructureFactory.construct(Environment("O2C", env))
        return Database(factory.application_recorder())


def erase_store(settings: Settings) -> None:
    """Deletes the configured store: the SQLite file, or every o2c table of the
    PostgreSQL schema (read models and their positions, the log, its audit rows,
    commands and tokens). A read-only SQLite store is ``StoreReadOnly``. What is in
    the store is the caller's to check first (``o2c demo --reset`` does)."""
    env = env_for_url(settings.database_url)  # refuses a malformed URL before deleting
    if read_only(settings):
        raise StoreReadOnly(f"the {where(settings)} is read-only (the file or its folder): "
                            "it cannot be erased")
    if not is_postgres(env):
        for suffix in ("", "-wal", "-shm"):
            Path(env["SQLITE_DBNAME"] + suffix).unlink(missing_ok=True)
        return
    db = open_database(settings)
    try:
        drop(db)
        log.erase(db)
    finally:
        db.datastore.close()
