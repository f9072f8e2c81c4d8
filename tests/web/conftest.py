"""The web app on a store seeded with the NovaTech demo, and a signed-in browser
client per role (server-side tests, FastAPI's TestClient)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import BOOTSTRAP, HTML, csrf_of

from o2c import demo
from o2c.api import create_app
from o2c.application import O2C
from o2c.auth import ROLES, create_token
from o2c.bootstrap import build_app
from o2c.config import Settings


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[O2C]:
    """One store per test module, holding the demo (tests add their own records)."""
    path: Path = tmp_path_factory.mktemp("web") / "o2c.sqlite"
    settings = Settings(database_url=f"sqlite:///{path}", currency="USD", pool_size=4,
                        bootstrap_token=BOOTSTRAP, server_projector=False)
    app = build_app(settings)
    demo.run(app, say=lambda _: None)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="module")
def tokens(seeded: O2C) -> dict[str, str]:
    """A token per role."""
    return {role: create_token(seeded.db, role, f"web-{role}") for role in ROLES}


@pytest.fixture(scope="module")
def server(seeded: O2C) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, app=seeded), base_url="http://o2c.test",
                    follow_redirects=False) as client:
        yield client


@pytest.fixture
def browser_as(seeded: O2C, tokens: dict[str, str]) -> Iterator[Callable[[str], TestClient]]:
    """A signed-in client (its own cookies) for a role."""
    opened: list[TestClient] = []

    def sign_in(role: str) -> TestClient:
        client = TestClient(create_app(seeded.settings, app=seeded),
                            base_url="http://o2c.test", follow_redirects=False)
        opened.append(client)
        form = client.get("/login", headers=HTML)
        assert form.status_code == 200
        answer = client.post("/login", data={"token": tokens[role], "next": "/",
                                             "csrf": csrf_of(form.text)})
        assert answer.status_code == 303, answer.text
        client.headers.update(HTML)
        return client

    yield sign_in
    for client in opened:
        client.close()
