"""What every tier of the tests shares: where PostgreSQL is, and fresh stores on it.

PostgreSQL tests run against ``O2C_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), each in a schema of its own
that is dropped afterwards. ``tests/conftest.py`` turns these into fixtures;
code that needs a fresh store per hypothesis example (function fixtures are
shared across examples) uses ``fresh_database_url`` directly.

Imported as ``from support import ...``: pytest's default (prepend) import
mode puts ``tests/`` on ``sys.path`` for ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

#: The PostgreSQL database the tests make their schemas in.
PG_URL = os.environ.get("O2C_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
#: The two kinds of store every store-backed test runs on.
KINDS = ("sqlite", "postgres")


def _probe() -> str | None:
    try:
        psycopg.connect(PG_URL.split("?")[0], connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL not reachable at {PG_URL}: {str(error).strip()[:200]}"
    return None


#: Why PostgreSQL tests cannot run (None when the server answered at start-up).
PG_PROBLEM = _probe()


def require_postgres() -> None:
    """Skips the test when PostgreSQL is unreachable, or fails it under
    ``O2C_REQUIRE_POSTGRES=1`` (set by .ci/run)."""
    if PG_PROBLEM:
        if os.environ.get("O2C_REQUIRE_POSTGRES") == "1":
            pytest.fail(PG_PROBLEM)
        pytest.skip(PG_PROBLEM)


@contextmanager
def pg_schema_url(prefix: str = "t_") -> Iterator[str]:
    """A database URL with a fresh PostgreSQL schema ``<prefix><random>``, dropped
    (with everything in it) afterwards."""
    schema = prefix + uuid.uuid4().hex[:16]
    base = PG_URL.split("?")[0]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def sqlite_url(folder: Path | str, name: str = "o2c.sqlite3") -> str:
    """The URL of a SQLite file in ``folder``."""
    return f"sqlite:///{Path(folder) / name}"


@contextmanager
def fresh_database_url(kind: str, prefix: str = "t_") -> Iterator[str]:
    """A new, empty store of ``kind`` ("sqlite" or "postgres"), removed afterwards: a
    file in a temporary directory, or a PostgreSQL schema."""
    if kind == "postgres":
        with pg_schema_url(prefix) as url:
            yield url
        return
    if kind != "sqlite":
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    with tempfile.TemporaryDirectory(prefix=f"o2c-{prefix.rstrip('_')}-") as folder:
        yield sqlite_url(folder)
