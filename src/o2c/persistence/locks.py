"""Locks on hot aggregates, across threads and processes: PostgreSQL advisory locks,
or byte-range locks on a file beside the SQLite database."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import OperationalError

from o2c.persistence.connection import connect, is_postgres

log = logging.getLogger("o2c.locks")


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
    """Session-level advisory locks, one connection per thread, all taken in one trip.

    A lock connection outlives requests, so it may be found dead (the server
    restarted, the network dropped it): taking locks on a dead connection
    replaces it with a new one and tries once more, and driver errors come out
    as eventsourcing's ``OperationalError`` (the API's 503), never as a raw
    psycopg error. Releasing runs after the command's write committed, so it
    never fails the command: if the unlock cannot be sent, the connection is
    closed, and its session's locks go with it.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.scope = f"{env['POSTGRES_DBNAME']}.{env.get('POSTGRES_SCHEMA', 'public')}"
        self.local = threading.local()
        self.connections: list[Any] = []
        self.guard = threading.Lock()

    def _connection(self) -> tuple[Any, bool]:
        """This thread's lock connection, and whether it was just opened."""
        conn = getattr(self.local, "conn", None)
        if conn is not None and not conn.closed:
            return conn, False
        try:
            conn = connect(self.env)
            timeout = int(float(self.env.get("POSTGRES_LOCK_TIMEOUT", "30")))
            # The server's keepalives end a session whose client vanished without a
            # word (a network cut) within about 25 s, and its locks with it; by
            # default the kernel's two hours would keep those hot items locked.
            conn.execute(f"SET lock_timeout = '{timeout}s'; SET tcp_keepalives_idle = 10; "
                         "SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3")
        except psycopg.Error as error:
            raise OperationalError(f"cannot open a lock connection: {error}") from error
        self.local.conn = conn
        with self.guard:
            self.connections = [c for c in self.connections if not c.closed]
            self.connections.append(conn)
        return conn, True

    def _discard(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            conn.close()
        if getattr(self.local, "conn", None) is conn:
            self.local.conn = None

    def _lock(self, keys: list[int]) -> Any:
        """Takes ``keys`` on this thread's connection (a new one if it was dead)."""
        while True:
            conn, fresh = self._connection()
            try:
                # unnest yields the keys in the array's order: they are taken in that order.
                conn.execute("SELECT pg_advisory_lock(k) FROM unnest(%s::bigint[]) AS k",
                             (keys,))
            except psycopg.Error as error:
                dead = conn.closed or conn.broken
                # Closing the session drops whatever keys it took before failing (a
                # lock_timeout on a live one); the locks only spare lost races, the
                # versions in the log keep writes correct, so nothing else relies on it.
                self._discard(conn)
                if fresh or not dead:  # the server is away, or refused the locks
                    raise OperationalError(f"cannot take hot locks: {error}") from error
                continue  # an old connection had died meanwhile: once more on a new one
            return conn

    @contextmanager
    def hold(self, ids: Sequence[UUID]) -> Iterator[None]:
        keys = sorted({lock_key(self.scope, i) for i in ids})
        if not keys:
            yield
            return
        conn = self._lock(keys)
        try:
            yield
        finally:
            try:
                conn.execute("SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k",
                             (keys,))
            except psycopg.Error as error:
                # The write may have committed: this must not fail the command. Closing
                # the session releases every lock it held.
                log.warning("hot locks not released (%s); closing their connection", error)
                self._discard(conn)

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
                    _lock_byte(shared.fd, key)
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


#: How long a byte lock the kernel calls a deadlock is asked for again before giving up.
DEADLOCK_PATIENCE = 10.0


def _lock_byte(fd: int, key: int) -> None:
    """Takes the byte ``key`` of the lock file, waiting for it.

    POSIX record locks belong to processes, not threads, so the kernel's deadlock
    check sees a cycle where there is none: a thread of process A holds byte 1 and
    waits for byte 2, which a thread of process B holds while another thread of B
    waits for byte 1 -- B's holder is not waiting for anything and will let go. The
    kernel answers such a wait with ``EDEADLK`` at once instead of waiting; this asks
    again, after a short random pause, until the byte is free (a real deadlock, which
    one lock order per attempt rules out, would give up after ``DEADLOCK_PATIENCE``)."""
    deadline = time.monotonic() + DEADLOCK_PATIENCE
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX, 1, key)
            return
        except OSError as error:
            if error.errno != errno.EDEADLK or time.monotonic() > deadline:
                raise
        time.sleep(random.uniform(0.002, 0.02))  # noqa: S311 - a pause, not a secret


def aggregate_locks(env: dict[str, str]) -> AggregateLocks:
    """The locks for a store: advisory locks on PostgreSQL, file locks beside a SQLite file."""
    if is_postgres(env):
        return PostgresLocks(env)
    path = env.get("SQLITE_DBNAME", "")
    if not path or path.startswith("file:") or ":memory:" in path:
        return AggregateLocks()
    return FileLocks(path)
