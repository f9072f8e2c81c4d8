"""Fixtures shared by every tier: each test's own database, on SQLite and PostgreSQL.

PostgreSQL tests run against ``O2C_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), each in a schema of its own
that is dropped afterwards. Without a reachable server they are skipped with
the reason printed, unless ``O2C_REQUIRE_POSTGRES=1`` (set by .ci/run), which
turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from o2c.application import O2C
from o2c.bootstrap import build_app
from o2c.config import Settings

PG_URL = os.environ.get("O2C_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_problem: str | None = None
try:
    psycopg.connect(PG_URL.split("?")[0], connect_timeout=3).close()
except psycopg.Error as error:
    _pg_problem = f"PostgreSQL not reachable at {PG_URL}: {str(error).strip()[:200]}"


def pytest_report_header() -> str:
    return "postgres: " + (_pg_problem or f"available at {PG_URL}")


def _require_postgres() -> None:
    if _pg_problem:
        if os.environ.get("O2C_REQUIRE_POSTGRES") == "1":
            pytest.fail(_pg_problem)
        pytest.skip(_pg_problem)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A database URL with a fresh PostgreSQL schema, dropped afterwards."""
    _require_postgres()
    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?schema={schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'o2c.sqlite3'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings pointing at the test's own database."""
    return Settings(database_url=database_url, currency="USD", pool_size=4)


@pytest.fixture
def app(settings: Settings) -> Iterator[O2C]:
    """The application on the test's own database."""
    application = build_app(settings)
    try:
        yield application
    finally:
        application.close()
