"""Locks on hot aggregates, across threads and processes: PostgreSQL advisory locks,
or byte-range locks on a file beside the SQLite database."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from o2c.persistence.connection import connect, is_postgres


def lock_key(scope: str, aggregate_id: UUID) -> int:
    """A signed 64-bit lock key for an aggregate, distinct per store (schema or file)."""
    digest = hashlib.blake2b(f"{scope}|{aggregate_id.hex}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AggregateLocks:
    """Serialises commands on the same hot aggregates across threads and processes.

    Optimistic concurrency alone lets writers on a hot stock item read, decide
    and lose the race again and again under load (each loss a wasted command,
    and a command that loses ``MAX_ATTEMPTS`` times is refused). A command that
    holds these locks for the aggregates it will write, from before it reads
    them until its write commits, never loses to another holder. The base class
    holds nothing (a single process with no contention needs none).
    """

    @contextmanager
    def hold(self, ids: Sequence[UUID]) -> Iterator[None]:
        """Holds the locks of ``ids`` (taken in a fixed order: no deadlock)."""
        yield

    def close(self) -> None:
        """Releases what this object holds open."""


class PostgresLocks(AggregateLocks):
    """Session-level advisory locks, one connection per thread, all taken in one trip."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.scope = f"{env['POSTGRES_DBNAME']}.{env.get('POSTGRES_SCHEMA', 'public')}"
        self.local = threading.local()
        self.connections: list[Any] = []
        self.guard = threading.Lock()

    def _connection(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed:
            conn = connect(self.env)
            timeout = int(float(self.env.get("POSTGRES_LOCK_TIMEOUT", "30")))
            conn.execute(f"SET lock_timeout = '{timeout}s'")
            self.local.conn = conn
            with self.guard:
                self.connections.append(conn)
        return conn

    @contextmanager
    def hold(self, ids: Sequence[UUID]) -> Iterator[None]:
        keys = sorted({lock_key(self.scope, i) for i in ids})
        if not keys:
            yield
            return
        conn = self._connection()
        # unnest yields the keys in the array's order, so they are taken in that order.
        conn.execute("SELECT pg_advisory_lock(k) FROM unnest(%s::bigint[]) AS k", (keys,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k",
                         (keys,))

    def close(self) -> None:
        with self.guard:
            for conn in self.connections:
                with contextlib.suppress(Exception):
                    conn.close()
            self.connections.clear()


class _SharedFile:
    """One process's hold on a lock file: POSIX record locks belong to the process and
    are all dropped when any descriptor of the file is closed, so every ``FileLocks``
    of a process on one path shares one descriptor and one lock per key."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.threads: dict[int, threading.Lock] = {}
        self.users = 0


_SHARED_FILES: dict[str, _SharedFile] = {}
_SHARED_GUARD = threading.Lock()


class FileLocks(AggregateLocks):
    """Byte-range locks on a file beside the SQLite database: between processes, POSIX
    locks; between this process's threads, a lock per key."""

    def __init__(self, path: str) -> None:
        self.path = f"{path}-o2c-locks"
        self.shared: _SharedFile | None = None

    def _file(self) -> _SharedFile:
        with _SHARED_GUARD:
            if self.shared is None:
                shared = _SHARED_FILES.get(self.path)
                if shared is None:
                    shared = _SHARED_FILES[self.path] = _SharedFile(self.path)
                shared.users += 1
                self.shared = shared
            return self.shared

    @contextmanager
    def hold(self, ids: Sequence[UUID]) -> Iterator[None]:
        keys = sorted({lock_key(self.path, i) % 2**31 for i in ids})
        if not keys:
            yield
            return
        shared = self._file()
        with _SHARED_GUARD:
            locks = [shared.threads.setdefault(k, threading.Lock()) for k in keys]
        taken: list[int] = []
        try:
            for key, lock in zip(keys, locks, strict=True):
                lock.acquire()
                try:
                    fcntl.lockf(shared.fd, fcntl.LOCK_EX, 1, key)
                except BaseException:
                    lock.release()
                    raise
                taken.append(key)
            yield
        finally:
            for key in reversed(taken):
                fcntl.lockf(shared.fd, fcntl.LOCK_UN, 1, key)
                shared.threads[key].release()

    def close(self) -> None:
        with _SHARED_GUARD:
            shared, self.shared = self.shared, None
            if shared is not None:
                shared.users -= 1
                if shared.users == 0:
                    os.close(shared.fd)
                    del _SHARED_FILES[self.path]


def aggregate_locks(env: dict[str, str]) -> AggregateLocks:
    """The locks for a store: advisory locks on PostgreSQL, file locks beside a SQLite file."""
    if is_postgres(env):
        return PostgresLocks(env)
    path = env.get("SQLITE_DBNAME", "")
    if not path or path.startswith("file:") or ":memory:" in path:
        return AggregateLocks()
    return FileLocks(path)
