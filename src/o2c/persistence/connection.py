"""Database URLs, eventsourcing's environment for them, and the DDL lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse


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
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": (parsed.path or "/").lstrip("/") or "postgres",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pool_size),
            "POSTGRES_LOCK_TIMEOUT": "30",
            "POSTGRES_CONN_MAX_AGE": "3600",
            # A liveness query on every checkout doubles the round trips of a command;
            # connections are recycled hourly and a dead one fails the command, which
            # the caller retries.
            "POSTGRES_PRE_PING": "n",
            "APPLICATION_RECORDER_TOPIC": "o2c.persistence.postgres:O2CPostgresRecorder",
        }
    raise ValueError(f"O2C_DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}")



def is_postgres(env: dict[str, str]) -> bool:
    """Whether an environment from ``env_for_url`` is PostgreSQL's."""
    return env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"


def connect(env: dict[str, str], **options: Any) -> Any:
    """A new psycopg connection (autocommit) to the PostgreSQL of ``env``."""
    import psycopg

    return psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                           user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"],
                           dbname=env["POSTGRES_DBNAME"], autocommit=True,
                           connect_timeout=10, **options)


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

