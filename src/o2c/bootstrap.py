"""The composition root: settings in, the wired parts of one process out.

Everything that turns configuration into objects happens here and nowhere
else: the eventsourcing environment for the database URL, the locks on hot
aggregates, the application (``O2C``), plain transactions on the same database
(``Database``), and an API server's projector and token store. Callers (the
CLI, the API factory, the bench, tests) ask for what they need; nothing below
this module builds its own ``Settings()`` or opens its own store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from o2c.application import O2C
from o2c.auth import TokenStore
from o2c.config import Settings
from o2c.persistence import log
from o2c.persistence.connection import env_for_url, is_postgres, schema_lock
from o2c.persistence.locks import aggregate_locks
from o2c.persistence.sql import Database
from o2c.projections import Projector
from o2c.projections.rebuild import drop


def store_env(settings: Settings) -> dict[str, str]:
    """eventsourcing's environment for the configured store and cache."""
    env = env_for_url(settings.database_url, pool_size=settings.pool_size)
    env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache_size)
    env["AGGREGATE_CACHE_FASTFORWARD"] = "y"
    return env


def build_app(settings: Settings | None = None, env: dict[str, str] | None = None) -> O2C:
    """The application on the configured store (keep one per process); ``env`` adds to
    or overrides eventsourcing's environment (tests use it)."""
    settings = settings or Settings()
    full = {**store_env(settings), **(env or {})}
    with schema_lock(full):
        return O2C(settings, env=full, locks=aggregate_locks(full))


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
    commands and tokens)."""
    env = env_for_url(settings.database_url)  # refuses a malformed URL before deleting
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
