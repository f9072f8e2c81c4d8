"""An API client on each test's own database, and a token per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from o2c.api import create_app
from o2c.application import O2C
from o2c.auth import ROLES, create_token
from o2c.bootstrap import build_app
from o2c.config import Settings

BOOTSTRAP = "test-bootstrap-token"


@pytest.fixture
def api_app(settings: Settings) -> Iterator[O2C]:
    app = build_app(settings.model_copy(update={"bootstrap_token": BOOTSTRAP,
                                          "server_projector": False}))
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def client(api_app: O2C) -> Iterator[TestClient]:
    with TestClient(create_app(api_app.settings, app=api_app)) as test_client:
        yield test_client


@pytest.fixture
def tokens(api_app: O2C, client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers per role (``admin`` is the bootstrap token)."""
    headers = {role: {"Authorization": f"Bearer {create_token(api_app.db, role, role + '-user')}"}
               for role in ROLES}
    headers["bootstrap"] = {"Authorization": f"Bearer {BOOTSTRAP}"}
    return headers
