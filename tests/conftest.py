"""Fixtures shared by every tier: each test's own database, on SQLite and PostgreSQL.

PostgreSQL tests run against ``O2C_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), each in a schema of its own
that is dropped afterwards. Without a reachable server they are skipped with
the reason printed, unless ``O2C_REQUIRE_POSTGRES=1`` (set by .ci/run), which
turns the skip into a failure. The helpers behind these fixtures are in
``tests/support``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from o2c.application import O2C
from o2c.bootstrap import build_app
from o2c.config import Settings
from support import PG_PROBLEM, PG_URL, require_postgres, sqlite_url
from support import pg_schema_url as _pg_schema_url


def pytest_report_header() -> str:
    return "postgres: " + (PG_PROBLEM or f"available at {PG_URL}")


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A database URL with a fresh PostgreSQL schema, dropped afterwards."""
    require_postgres()
    with _pg_schema_url() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
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
