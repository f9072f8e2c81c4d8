"""Database URLs, eventsourcing's environment for them, the DDL lock, and how long
anything waits for PostgreSQL.

The waits are bounded so that a request answers (503, ``Retry-After``) within a
few seconds while the database is away instead of hanging (docs/operations.md):

- ``CONNECT_SECONDS``: eventsourcing's ``POSTGRES_CONNECT_TIMEOUT`` is the pool's
  checkout timeout (how long a caller waits for a connection; while the server
  is down no connection comes back, so this is what a request waits), and the
  libpq connect timeout of the lock connections;
- ``RETRY_SECONDS``: ``retry_briefly`` retries reads and writes that met a dead
  pooled connection (common just after the server restarted: every pooled
  connection is dead, and each is found so only when used), but starts no new
  attempt after this long;
- ``RECONNECT_SECONDS`` (``bound_pool``): how long the pool keeps retrying, with
  growing pauses, to replace a lost connection before giving up on it. psycopg's
  default (5 minutes, the pause doubling from 1 s) meant that after a minute's
  outage the pool's next try could be a minute away: the server was back and
  every request still waited and failed. Given up sooner, a lost connection is
  replaced on demand: a request waiting for one makes the pool try at once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.persistence import InterfaceError, OperationalError
from psycopg_pool import PoolTimeout

#: How long a caller waits for a pooled connection, or to open a lock connection.
CONNECT_SECONDS = 2
#: After this long, a retried read or write stops retrying (see ``retry_briefly``).
RETRY_SECONDS = 3.0
#: The pause between two attempts of ``retry_briefly``.
RETRY_PAUSE = 0.1
#: How long the pool tries to replace a lost connection in the background.
RECONNECT_SECONDS = 5.0
#: eventsourcing's PostgreSQL factory, with o2c's bounded retries on snapshots.
POSTGRES_FACTORY = "o2c.persistence.postgres:O2CPostgresFactory"


def env_for_url(url: str, *, pool_size: int = 8) -> dict[str, str]:
    """The eventsourcing environment for an ``O2C_DATABASE_URL``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError(f"O2C_DATABASE_URL: expected sqlite:///PATH, got {url!r}")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "o2c.persistence.sqlite:O2CSQLiteRecorder",
        }
    if parsed.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        query = parse_qs(parsed.query)
        return {
            "PERSISTENCE_MODULE": POSTGRES_FACTORY,
            "POSTGRES_DBNAME": (parsed.path or "/").lstrip("/") or "postgres",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pool_size),
            "POSTGRES_LOCK_TIMEOUT": "30",
            # The pool's checkout timeout (eventsourcing's default is 30 s: a request
            # waited that long, retried, for a server that was down).
            "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_SECONDS),
            "POSTGRES_CONN_MAX_AGE": "3600",
            # A liveness query on every checkout doubles the round trips of a command;
            # connections are recycled hourly, and a dead one fails its query at once,
            # which ``retry_briefly`` retries on another connection.
            "POSTGRES_PRE_PING": "n",
            "APPLICATION_RECORDER_TOPIC": "o2c.persistence.postgres:O2CPostgresRecorder",
        }
    raise ValueError(f"O2C_DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}")



def is_postgres(env: dict[str, str]) -> bool:
    """Whether an environment from ``env_for_url`` is PostgreSQL's."""
    return env.get("PERSISTENCE_MODULE") in (POSTGRES_FACTORY, "eventsourcing.postgres")


def connect(env: dict[str, str], **options: Any) -> Any:
    """A new psycopg connection (autocommit) to the PostgreSQL of ``env``."""
    import psycopg

    return psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                           user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"],
                           dbname=env["POSTGRES_DBNAME"], autocommit=True,
                           connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT",
                                                       CONNECT_SECONDS)), **options)


def bound_pool(datastore: Any) -> None:
    """Bounds the waits of an eventsourcing ``PostgresDatastore``'s pool that its
    environment cannot set: the libpq connect timeout of each new connection (an
    unreachable host otherwise holds a pool worker for the OS's TCP timeout) and
    ``RECONNECT_SECONDS``. Call it before the pool is first used."""
    pool = datastore.pool
    pool.kwargs["connect_timeout"] = CONNECT_SECONDS
    pool.reconnect_timeout = RECONNECT_SECONDS


P = ParamSpec("P")
R = TypeVar("R")


def retry_briefly(func: Callable[P, R]) -> Callable[P, R]:
    """Retries ``func`` on a dead connection or an unreachable server
    (``InterfaceError``, ``OperationalError``), for at most ``RETRY_SECONDS``.

    eventsourcing's own ``@retry(max_attempts=10, wait=0.2)`` counts attempts, not
    time: with each attempt waiting for a pooled connection that never comes
    back, a request hung for many seconds while the server was down. Here a
    checkout that timed out is not retried (the pool could not connect for
    ``CONNECT_SECONDS``), and no attempt starts after ``RETRY_SECONDS``: a call
    gives up within ``CONNECT_SECONDS`` while the server is away, and within
    ``RETRY_SECONDS`` plus one checkout if it goes away during the call.
    """
    @functools.wraps(func)
    def attempt(*args: P.args, **kwargs: P.kwargs) -> R:
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                return func(*args, **kwargs)
            except (InterfaceError, OperationalError) as error:
                # A checkout that timed out waited ``CONNECT_SECONDS`` for the pool to
                # connect: the server is away, and another wait would only double it.
                if (isinstance(error.__cause__, PoolTimeout)
                        or time.monotonic() + RETRY_PAUSE >= deadline):
                    raise
                time.sleep(RETRY_PAUSE)
    return attempt


SCHEMA_LOCK = 72_620_001  # pg advisory lock key: "o2c schema"


@contextmanager
def schema_lock(env: dict[str, str]) -> Iterator[None]:
    """Serialises table creation between processes starting at the same moment.

    Two servers starting together would otherwise race on PostgreSQL's
    ``CREATE TYPE``/``CREATE TABLE IF NOT EXISTS`` and one could fail with a
    duplicate-key error. SQLite serialises DDL itself.
    """
    if not is_postgres(env):
        yield
        return
    with connect(env) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

