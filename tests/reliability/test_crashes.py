"""Crashes: ``kill -9`` at random moments, on SQLite and PostgreSQL.

- Under load (client threads running whole order cycles over HTTP, each command
  under its own Idempotency-Key, retried with the same key on another server
  when a connection dies), two ``o2c serve`` processes and the ``o2c
  projections run`` worker are killed with SIGKILL at random moments and
  restarted. Afterwards: every command answered 2xx is in the log, every
  retried command got its first answer (no command is refused on a retry),
  no answer was 5xx, no journal entry is partial (every business event that
  moves money has its balanced entry, every entry's cause is in the log),
  every DESIGN.md invariant holds over the log, the worker's read models
  equal a rebuild from zero, and ``o2c audit verify`` passes.
- ``o2c projections rebuild`` killed mid-rebuild: the read models are still
  consistent (batches are atomic) and the next rebuild finishes with the
  same digests.
- ``o2c export beancount -o FILE`` killed mid-write: FILE still holds the good
  journal it held before, and the next export finishes.
- ``o2c demo`` killed midway: the next ``o2c demo`` finishes.

Bounded for CI (``O2C_CRASH_SECONDS``, 8 s of chaos per store); scripts/reliability
runs longer.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from o2c.application import O2C, Context
from o2c.bench.workload import grow
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.projections import Projector
from o2c.projections.projector import TRACKING_TABLE
from support import fresh_database_url, require_postgres
from support.books import Books, recorded_keys
from support.figures import record
from support.load import Answers, new_key, post_until_answered
from support.processes import Process, Server, o2c_env, run_cli

SECONDS = float(os.environ.get("O2C_CRASH_SECONDS", "8"))
CLIENTS = int(os.environ.get("O2C_CRASH_CLIENTS", "6"))
SEED = int(os.environ.get("O2C_CRASH_SEED", "9"))
TOKEN = "crash-" + uuid.uuid4().hex
SKUS = ("C-1", "C-2", "C-3")
KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(kind, URL) of a fresh store."""
    if request.param == "postgres":
        require_postgres()
    with fresh_database_url(request.param, "crash_") as url:
        yield request.param, url


def _stocked(url: str) -> tuple[O2C, str]:
    app = build_app(Settings(database_url=url, pool_size=2))
    ctx = Context(actor="crash-setup")
    for sku in SKUS:
        app.register_stock_item(ctx, sku, sku)
        app.receive_stock(ctx, sku, "1000000", "1.50")
    return app, app.register_customer(ctx, "Crashworthy", "ap@crash.example").id


def _cycle(http: httpx.Client, bases: list[str], customer: str, answers: Answers,
           rng: random.Random) -> int:
    """One whole order over HTTP, each step retried under its key until answered; returns
    the commands acknowledged (a refusal ends the cycle: the test then fails on it)."""
    sku = rng.choice(SKUS)
    done, start = 0, rng.randrange(len(bases))
    order, total = "", ""

    def step(n: int) -> tuple[str, dict[str, Any]]:
        if n == 0:
            return "/sales-orders", {"customer_id": customer, "lines": [
                {"sku": sku, "quantity": "2", "unit_price": "9.99"}]}
        later: list[tuple[str, dict[str, Any]]] = [
                (f"/sales-orders/{order}/confirm", {}),
                (f"/sales-orders/{order}/shipments", {"lines": [{"sku": sku, "quantity": "2"}]}),
                (f"/sales-orders/{order}/invoices", {}),
                (f"/sales-orders/{order}/payments", {"amount": total, "reference": "crash"})]
        return later[n - 1]

    for n in range(5):
        path, body = step(n)
        answer = post_until_answered(http, bases, path, body, TOKEN, answers, new_key(),
                                     start=start)
        if not 200 <= answer.status < 300:
            return done
        done += 1
        if n == 0:
            order = answer.body["id"]
        if n == 3:
            total = answer.body["total"]
    return done


def test_kill_9_servers_and_worker_under_load(store: tuple[str, str], tmp_path: Path) -> None:
    kind, url = store
    app, customer = _stocked(url)
    env = o2c_env(url, O2C_BOOTSTRAP_TOKEN=TOKEN, O2C_SERVER_PROJECTOR="false",
                  O2C_POOL_SIZE="4")
    servers = [Server(env, tmp_path / f"server-{n}.log") for n in range(2)]
    worker = Process(["projections", "run"], env, tmp_path / "worker.log")
    victims: list[Process] = [*servers, worker]
    rng = random.Random(SEED)
    faults: list[str] = []
    answers = Answers()
    stop = threading.Event()
    cycles = [0] * CLIENTS
    try:
        for server in servers:
            server.start()
        worker.start()
        bases = [s.base for s in servers]

        def client(n: int) -> None:
            local = random.Random(SEED * 1000 + n)
            with httpx.Client() as http:
                while not stop.is_set():
                    if _cycle(http, bases, customer, answers, local) == 5:
                        cycles[n] += 1

        def chaos() -> None:
            while not stop.wait(rng.uniform(0.3, 1.2)):
                victim = rng.choice(victims)
                victim.kill9()  # whatever it was doing, starting up included
                faults.append(f"{victim.args[0]}:{victim.pid}")
                time.sleep(rng.uniform(0.0, 0.3))
                if isinstance(victim, Server):
                    victim.start(wait=False)
                else:
                    victim.start()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        threads.append(threading.Thread(target=chaos))
        for thread in threads:
            thread.start()
        time.sleep(SECONDS)
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
        assert not any(t.is_alive() for t in threads), "a client hung"
        for server in servers:  # each came back (it may have been killed while starting)
            server.wait_ready()
        died = [v.output() for v in victims if not v.alive()]
        assert not died, f"a process died by itself after a restart:\n{died[0]}"

        # Every command in the end got an answer, and none was refused or failed: a
        # retried command whose first delivery committed answers as it did.
        final: dict[str, Any] = {}
        for answer in answers.items:
            final[answer.key or ""] = answer
        unanswered = [a for a in final.values() if not 200 <= a.status < 300]
        assert not unanswered, f"commands not acknowledged in the end: {unanswered[:5]}"
        five = answers.with_status(500, 600)
        assert not five, f"5xx answers: {five[:5]}"

        # The worker, restarted after its last kill, catches up by itself.
        head = app.db.head()
        projector = Projector(app.db, app.settings)
        deadline = time.monotonic() + 60
        while projector.position() < head and time.monotonic() < deadline:
            time.sleep(0.1)
        assert projector.position() >= head, f"the worker is stuck:\n{worker.output()}"
    finally:
        stop.set()
        for victim in victims:
            victim.stop()
    keys = recorded_keys(app)
    acknowledged = answers.acknowledged()
    missing = [k for k in acknowledged if k not in keys]
    assert not missing, f"acknowledged but not in the log: {missing[:5]}"
    books = Books(app)
    books.check()
    books.check_read_models()
    verdict = run_cli(["audit", "verify"], env)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    record("crashes", store=kind, seconds=SECONDS, clients=CLIENTS, seed=SEED,
           kills=len(faults), commands_acknowledged=len(acknowledged),
           requests=len(answers.items), no_answer=len(answers.with_status(0, 1)),
           cycles=sum(cycles), events=books.events, statuses=answers.summary())
    assert faults, "no fault was injected"
    app.close()


def _grown(url: str, units: int = 400) -> O2C:
    grow(url, units, 0, 0)
    app = build_app(Settings(database_url=url, pool_size=2))
    Projector(app.db, app.settings).catch_up()
    return app


def _lowest_position(app: O2C) -> int:
    with app.db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT MIN(position) FROM {app.db.table(TRACKING_TABLE)}"
                          ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def test_kill_9_during_a_rebuild(store: tuple[str, str], tmp_path: Path) -> None:
    kind, url = store
    app = _grown(url)
    head = app.db.head()
    projector = Projector(app.db, app.settings)
    before = {name: projector.digest(name) for name in projector.names()}
    env = o2c_env(url)
    rng = random.Random(SEED)
    interrupted = 0
    for attempt in range(6):
        rebuild = Process(["projections", "rebuild"], env, tmp_path / f"rebuild-{attempt}.log")
        rebuild.start()
        while rebuild.alive() and _lowest_position(app) >= head:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.15))
        rebuild.kill9()
        if _lowest_position(app) < head:
            interrupted += 1
            # Killed mid-rebuild: what was committed is consistent, and a projector
            # (the worker, a server) carries on from there to the same read models.
            projector = Projector(app.db, app.settings)
            projector.catch_up()
            assert {n: projector.digest(n) for n in projector.names()} == before
        if interrupted >= 2:
            break
    assert interrupted, "no kill landed inside a rebuild"
    again = run_cli(["projections", "rebuild"], env)
    assert again.returncode == 0, again.stdout + again.stderr
    projector = Projector(app.db, app.settings)
    assert {n: projector.digest(n) for n in projector.names()} == before
    record("rebuild-kill", store=kind, events=head, kills=interrupted)
    app.close()


def test_kill_9_during_an_export_leaves_the_good_file(tmp_path: Path) -> None:
    with fresh_database_url("sqlite", "export_") as url:
        app = _grown(url, 300)
        env = o2c_env(url)
        target = tmp_path / "ledger.beancount"
        first = run_cli(["export", "beancount", "-o", str(target)], env)
        assert first.returncode == 0, first.stderr
        good = target.read_text()
        assert good.count("^je-") > 300
        rng = random.Random(SEED)
        for attempt in range(4):
            seen = target.stat()
            export = Process(["export", "beancount", "-o", str(target)], env,
                             tmp_path / f"export-{attempt}.log")
            export.start()
            # Twice the moment FILE first changes (a writer in place has just truncated
            # it), twice at a random moment of the run.
            deadline = time.monotonic() + (rng.uniform(0.3, 2.5) if attempt >= 2 else 60)
            while export.alive() and time.monotonic() < deadline:
                now = target.stat()
                if (now.st_mtime_ns, now.st_size, now.st_ino) != (
                        seen.st_mtime_ns, seen.st_size, seen.st_ino):
                    break  # it has started to replace the file: kill it now
                time.sleep(0.001)
            export.kill9()
            assert target.read_text() == good, "a kill -9 left a half-written export"
        again = run_cli(["export", "beancount", "-o", str(target)], env)
        assert again.returncode == 0, again.stderr
        assert target.read_text() == good
        app.close()


def test_kill_9_during_the_demo_does_not_block_the_next(tmp_path: Path) -> None:
    from o2c.demo import SENSOR
    from o2c.domain.stock_item import StockItem

    with fresh_database_url("sqlite", "demo_") as url:
        env = o2c_env(url)
        app = build_app(Settings(database_url=url, pool_size=1))
        demo = Process(["demo"], env, tmp_path / "demo.log")
        demo.start()
        sensor = StockItem.create_id(SENSOR)
        while demo.alive() and sensor not in app.repository:
            time.sleep(0.002)
        assert demo.alive(), f"the demo ended before it could be killed:\n{demo.output()}"
        demo.kill9()
        app.close()
        again = run_cli(["demo"], env)
        assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
        assert "Trial balance" in again.stdout or "trial balance" in again.stdout.lower()
        app = build_app(Settings(database_url=url, pool_size=1))
        Books(app).check()
        app.close()
