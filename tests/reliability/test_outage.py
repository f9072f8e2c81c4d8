"""A database outage under load: a throwaway PostgreSQL cluster (its own data
directory and port, ``support.pgcluster``) is stopped while client threads send
commands to an ``o2c serve`` process, and started again.

While it is down every request is answered within ``ANSWER_SECONDS`` (never a
hang): commands with 503 and a ``Retry-After`` header, never 500; ``/readyz``
says not ready, ``/healthz`` that the process is alive. When it is back the
same server (not restarted) answers 2xx again within ``RECOVER_SECONDS``.
Nothing acknowledged is lost: every key answered 2xx is in the log, and every
command that got 503 (or no answer), retried with its key, is recorded exactly
once. The books then pass every DESIGN.md invariant and the read models equal
a rebuild.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from o2c.application import Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from support.books import Books, recorded_keys
from support.figures import record
from support.load import Answer, Answers, new_key, post, post_until_answered
from support.pgcluster import Cluster, available
from support.processes import Server, o2c_env

pytestmark = pytest.mark.postgres

#: The longest any request may wait for its answer while the store is down.
ANSWER_SECONDS = 10.0
#: How soon after the store is back the server answers commands again.
RECOVER_SECONDS = 30.0
DOWN_SECONDS = float(os.environ.get("O2C_OUTAGE_DOWN_SECONDS", "6"))
OUTAGES = int(os.environ.get("O2C_OUTAGES", "1"))
CLIENTS = 4
TOKEN = "outage-" + uuid.uuid4().hex
SKU = "OUT-1"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    problem = available()
    if problem:
        if os.environ.get("O2C_REQUIRE_POSTGRES") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    made = Cluster()
    try:
        made.start()
        yield made
    finally:
        made.remove()


def test_the_database_goes_away_and_comes_back(cluster: Cluster, tmp_path: Path) -> None:
    app = build_app(Settings(database_url=cluster.url, pool_size=2))
    ctx = Context(actor="outage-setup")
    app.register_stock_item(ctx, SKU, "Outage")
    app.close()  # its connections would die with the server; a new one checks at the end
    server = Server(o2c_env(cluster.url, O2C_BOOTSTRAP_TOKEN=TOKEN, O2C_POOL_SIZE="4",
                            O2C_SERVER_PROJECTOR="true"), tmp_path / "server.log")
    answers = Answers()
    timed: list[tuple[float, Answer]] = []
    probes: list[tuple[float, str, int, float]] = []
    stop = threading.Event()
    lock = threading.Lock()
    body = {"quantity": "1", "unit_cost": "2.00"}
    path = f"/stock-items/{SKU}/receipts"
    try:
        server.start()

        def client() -> None:
            with httpx.Client() as http:
                while not stop.is_set():
                    began = time.monotonic()
                    answer = post(http, server.base, path, body, TOKEN, answers, new_key("out"),
                                  timeout=ANSWER_SECONDS + 20)
                    with lock:
                        timed.append((began, answer))
                    time.sleep(0.05)

        def probe() -> None:
            with httpx.Client() as http:
                while not stop.wait(0.25):
                    for route in ("/healthz", "/readyz"):
                        began = time.monotonic()
                        try:
                            status = http.get(server.base + route, timeout=ANSWER_SECONDS + 20
                                              ).status_code
                        except httpx.HTTPError:
                            status = 0
                        probes.append((began, route, status, time.monotonic() - began))

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        threads.append(threading.Thread(target=probe))
        for thread in threads:
            thread.start()
        windows: list[tuple[float, float, float]] = []
        for _ in range(OUTAGES):
            time.sleep(2)
            cluster.stop("fast")
            down = time.monotonic()
            time.sleep(DOWN_SECONDS)
            up_at = time.monotonic()
            cluster.start()
            up = time.monotonic()
            windows.append((down, up_at, up))
            deadline = up + RECOVER_SECONDS
            while time.monotonic() < deadline:
                with lock:
                    recovered = any(began > up and 200 <= a.status < 300 for began, a in timed)
                if recovered:
                    break
                time.sleep(0.1)
            assert recovered, f"not recovered {RECOVER_SECONDS} s after the store came back"
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        stop.set()
        server.stop()

    # Never a 500, never a hang; 503 with Retry-After while down.
    assert not [a for _, a in timed if a.status >= 500 and a.status != 503], answers.summary()
    slow = [a for _, a in timed if a.seconds > ANSWER_SECONDS or a.status == 0]
    assert not slow, f"requests hung or got no answer: {slow[:3]}"
    def down_then(began: float, seconds: float) -> bool:
        """Sent and answered while the store was down."""
        return any(down < began and began + seconds < up_at for down, up_at, _ in windows)

    while_down = [a for began, a in timed if down_then(began, a.seconds)]
    assert while_down, "no request was sent and answered while the store was down"
    assert all(a.status == 503 and a.retry_after is not None and a.retry_after.isdigit()
               for a in while_down), while_down[:3]
    ready_down = [s for began, route, s, took in probes
                  if route == "/readyz" and down_then(began, took)]
    assert ready_down, "/readyz was not asked while the store was down"
    assert all(s == 503 for s in ready_down), ready_down
    alive = [s for _, route, s, _ in probes if route == "/healthz"]
    assert alive, "/healthz was never asked"
    assert all(s == 200 for s in alive), alive
    assert [s for _, route, s, _ in probes if route == "/readyz"][-1] == 200

    # Nothing acknowledged lost; what was not acknowledged, retried, is recorded once.
    check = build_app(Settings(database_url=cluster.url, pool_size=2))
    acknowledged = answers.acknowledged()
    keys = recorded_keys(check)
    assert not [k for k in acknowledged if k not in keys]
    server.start()
    retried = Answers()
    with httpx.Client() as http:
        for answer in [a for _, a in timed if not 200 <= a.status < 300]:
            assert answer.key is not None
            again = post_until_answered(http, [server.base], path, body, TOKEN, retried,
                                        answer.key, seconds=30)
            assert again.status == 201, again
    server.stop()
    keys = recorded_keys(check)
    assert all(keys.get(a.key or "") == 2 for _, a in timed), "a command recorded twice or not"
    books = Books(check)
    books.check()
    books.check_read_models()
    record("outage", outages=OUTAGES, down_seconds=DOWN_SECONDS, requests=len(timed),
           answered_503=sum(a.status == 503 for _, a in timed), retried=len(retried.items),
           events=books.events, statuses=answers.summary())
    check.close()
