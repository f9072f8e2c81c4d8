"""Helpers the web tests share."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from support.processes import free_port

HTML = {"Accept": "text/html"}
BOOTSTRAP = "web-test-bootstrap-token"


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found[1]


@contextlib.contextmanager
def serving(database_url: str) -> Iterator[str]:
    """A real server (uvicorn, in its own process) on the store at ``database_url``,
    answering ``/healthz``: its base URL, until the block ends."""
    port = free_port()
    env = {**os.environ, "O2C_DATABASE_URL": database_url, "O2C_CURRENCY": "USD"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "o2c.api:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise RuntimeError(server.stderr.read().decode() if server.stderr else "")
            time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
